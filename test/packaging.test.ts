import { existsSync, readFileSync } from "node:fs";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { documentedDefault, loadConfig, SETTINGS, type Setting, type SettingName } from "../src/config.js";
import { TEST_PRIVATE_KEY } from "./support/keys.js";

// What cannot be run here (docker build) or is read by people (README, .env.example, app.yml) must agree with
// the code: these checks fail when one changes without the other.

const read = (path: string) => readFileSync(path, "utf8");

/** The reference's entries: "- `NAME` (default …): …" (two names may share one: "`A` / `B`"). */
function documentedDefaults(): Map<string, string> {
  const entries = new Map<string, string>();
  for (const [, names, fallback] of read("docs/configuration.md").matchAll(
    /^- ((?:`[A-Z_]+`(?: \/ )?)+) \(default (.+?)\): /gm,
  ))
    for (const [, name] of names!.matchAll(/`([A-Z_]+)`/g)) entries.set(name!, fallback!);
  return entries;
}

describe("configuration reference, held to the settings table in src/config.ts", () => {
  const documented = documentedDefaults();
  const names = Object.keys(SETTINGS) as SettingName[];

  it("documents no variable the table does not have", () => {
    expect([...documented.keys()].filter((name) => !(name in SETTINGS))).toEqual([]);
  });

  it.each(names)("docs/configuration.md gives %s with the table's default", (name) => {
    expect(documented.get(name)).toBe(documentedDefault(SETTINGS[name]));
  });

  it.each(names)(".env.example shows %s, with the table's default when it has one", (name) => {
    const line = read(".env.example").match(new RegExp(`^(?:# ?)?${name}=(.*)$`, "m"));
    expect(line, name).not.toBeNull();
    const setting: Setting = SETTINGS[name];
    if (setting.kind !== "required" && setting.default !== null)
      expect(line![1]).toBe(String(setting.default));
  });

  it("each number, flag and choice of the table refuses a value it cannot read, naming the variable", () => {
    const base = { APP_ID: "1", PRIVATE_KEY: TEST_PRIVATE_KEY, WEBHOOK_SECRET: "s" };
    for (const name of names) {
      const setting: Setting = SETTINGS[name];
      if (setting.kind === "required" || setting.kind === "text") continue;
      const result = loadConfig({ ...base, [name]: "not-a-value" });
      expect(result.ok, name).toBe(false);
      if (!result.ok) expect(result.problems, name).toEqual([expect.stringContaining(`${name} must be`)]);
    }
  });
});

describe("Dockerfile", () => {
  const dockerfile = read("Dockerfile");

  it("copies only files that exist, and builds with a config that exists", () => {
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) =>
      m[1]!.split(/\s+/),
    );
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(existsSync(source), source).toBe(true);
    expect(dockerfile).toContain("RUN npx tsc -p tsconfig.prod.json");
  });

  it("runs as a non-root user, production dependencies only, with a health check on /healthz", () => {
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toContain("npm ci --omit=dev");
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*\/healthz/m);
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/src\/main\.js"\]$/m);
  });
});

describe("app.yml", () => {
  const manifest = parse(read("app.yml")) as {
    default_events: string[];
    default_permissions: Record<string, string>;
  };

  it("subscribes to the events the app handles", () => {
    expect(manifest.default_events.sort()).toEqual([
      "issue_comment",
      "personal_access_token_request",
      "pull_request",
      "push",
      "repository",
    ]);
  });

  it("asks for what the code calls, no more (write only where it writes)", () => {
    expect(manifest.default_permissions).toEqual({
      organization_personal_access_token_requests: "write",
      organization_personal_access_tokens: "read",
      contents: "read",
      pull_requests: "read",
      checks: "write",
      members: "read",
      administration: "read",
      issues: "write",
    });
  });
});
