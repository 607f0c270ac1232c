import { existsSync, readFileSync } from "node:fs";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";

// What cannot be run here (docker build) or is read by people (README, .env.example, app.yml) must agree with
// the code: these checks fail when one changes without the other.

const read = (path: string) => readFileSync(path, "utf8");

/** Every environment variable the configuration reads, from src/config.ts itself. */
function variablesRead(): string[] {
  const source = read("src/config.ts");
  // Whitespace allowed: Prettier wraps long calls, putting the name on the next line.
  const names = [...source.matchAll(/(?:value\(|env, )\s*"([A-Z_]+)"/g)].map((m) => m[1]!);
  return [...new Set(names)].sort();
}

describe("configuration documentation", () => {
  const variables = variablesRead();

  it("finds the variables (the extraction itself works)", () => {
    expect(variables).toEqual(
      expect.arrayContaining(["APP_ID", "WEBHOOK_SECRET", "GHE_HOST", "POLICY_SOURCE", "DRY_RUN"]),
    );
  });

  it.each(variables)(".env.example and docs/configuration.md document %s", (name) => {
    expect(read(".env.example")).toMatch(new RegExp(`^#? ?${name}=`, "m"));
    // A table row or a list item of the reference names it.
    expect(read("docs/configuration.md")).toMatch(new RegExp(`(?:^\\| [^|]*|^- [^(:]*)\`${name}\``, "m"));
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
