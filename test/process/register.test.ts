import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import { startGitHubStandIn, type GitHubStandIn } from "../support/github-stand-in.js";
import { childEnv, CLI } from "../support/server-process.js";
import { TEST_PRIVATE_KEY } from "../support/keys.js";

// `pat-warden register`: GitHub's App manifest flow, with the stand-in answering the code conversion.

let github: GitHubStandIn | undefined;
let child: ChildProcess | undefined;

afterEach(async () => {
  child?.kill();
  await github?.close();
  child = undefined;
  github = undefined;
});

async function register(cwd: string, ...args: string[]) {
  github = await startGitHubStandIn();
  const conversions: string[] = [];
  github.addRoute("POST", "/app-manifests/(?<code>[^/]+)/conversions", "none", (ctx) => {
    conversions.push(ctx.groups.code!);
    return {
      status: 201,
      body: {
        id: 4242,
        slug: "pat-warden-acme",
        html_url: "https://github.com/apps/pat-warden-acme",
        pem: TEST_PRIVATE_KEY,
        webhook_secret: "s3cret-from-github",
      },
    };
  });
  child = spawn(process.execPath, [CLI, "register", "--port", "0", ...args], {
    cwd,
    env: childEnv({ GHE_HOST: github.host, GHE_PROTOCOL: "http" }),
  });
  const lines = createInterface({ input: child.stdout! });
  const output: string[] = [];
  const url = await new Promise<string>((resolve) =>
    lines.on("line", (line) => {
      output.push(line);
      const match = /^Open (http:\/\/localhost:\d+) /.exec(line);
      if (match) resolve(match[1]!);
    }),
  );
  const exited = new Promise<number | null>((resolve) => child!.on("exit", resolve));
  return { url, output, conversions, exited };
}

describe("pat-warden register", () => {
  it("offers app.yml as the manifest, converts GitHub's code, and writes the credentials to .env", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "pat-warden-register-"));
    const { url, output, conversions, exited } = await register(
      cwd,
      "--org",
      "acme",
      "--webhook-url",
      "https://pw.acme.test/api/github/webhooks",
    );

    const page = await (await fetch(url)).text();
    const action = /action="([^"]+)"/.exec(page)![1]!;
    expect(action).toMatch(
      new RegExp(
        `^http://${github!.host.replace(".", "\\.")}/organizations/acme/settings/apps/new\\?state=[0-9a-f]{32}$`,
      ),
    );
    const manifest = JSON.parse(
      /name="manifest" value="([^"]+)"/
        .exec(page)![1]!
        .replace(/&#(\d+);/g, (_, c) => String.fromCharCode(Number(c))),
    );
    expect(manifest).toMatchObject({
      name: "pat-warden",
      hook_attributes: { url: "https://pw.acme.test/api/github/webhooks" },
      redirect_url: `${url}/callback`,
      default_events: expect.arrayContaining(["personal_access_token_request"]),
      default_permissions: expect.objectContaining({ organization_personal_access_token_requests: "write" }),
    });

    // A callback that did not start here is refused.
    expect((await fetch(`${url}/callback?code=x&state=forged`)).status).toBe(400);
    const state = new URL(action).searchParams.get("state")!;
    const done = await fetch(`${url}/callback?code=the-code&state=${state}`);
    expect(done.status).toBe(200);
    expect(await done.text()).toContain("https://github.com/apps/pat-warden-acme/installations/new");
    expect(await exited).toBe(0);
    expect(conversions).toEqual(["the-code"]);

    expect(readFileSync(join(cwd, ".env"), "utf8")).toBe(
      "APP_ID=4242\nPRIVATE_KEY_PATH=pat-warden.private-key.pem\nWEBHOOK_SECRET=s3cret-from-github\n",
    );
    expect(readFileSync(join(cwd, "pat-warden.private-key.pem"), "utf8")).toBe(TEST_PRIVATE_KEY);
    expect(statSync(join(cwd, "pat-warden.private-key.pem")).mode & 0o777).toBe(0o600);
    // Nothing secret on the terminal.
    expect(output.join("\n")).not.toContain("s3cret-from-github");
    expect(output.join("\n")).toContain("installations/new");
  });

  it("leaves an .env that existed before readable by its owner only, keeping what it held", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "pat-warden-register-"));
    writeFileSync(join(cwd, ".env"), "LOG_LEVEL=debug\n", { mode: 0o644 });
    chmodSync(join(cwd, ".env"), 0o644);
    writeFileSync(join(cwd, "pat-warden.private-key.pem"), "old key\n", { mode: 0o644 });
    chmodSync(join(cwd, "pat-warden.private-key.pem"), 0o644);
    const { url, exited } = await register(cwd);
    const state = new URL(/action="([^"]+)"/.exec(await (await fetch(url)).text())![1]!).searchParams.get(
      "state",
    );
    expect((await fetch(`${url}/callback?code=the-code&state=${state}`)).status).toBe(200);
    expect(await exited).toBe(0);

    expect(readFileSync(join(cwd, ".env"), "utf8")).toBe(
      "LOG_LEVEL=debug\nAPP_ID=4242\nPRIVATE_KEY_PATH=pat-warden.private-key.pem\nWEBHOOK_SECRET=s3cret-from-github\n",
    );
    expect(statSync(join(cwd, ".env")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(cwd, "pat-warden.private-key.pem"), "utf8")).toBe(TEST_PRIVATE_KEY);
    expect(statSync(join(cwd, "pat-warden.private-key.pem")).mode & 0o777).toBe(0o600);
  });

  it("refuses to run over an .env that already names an App", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "pat-warden-register-"));
    writeFileSync(join(cwd, ".env"), "APP_ID=1\n");
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const proc = spawn(process.execPath, [CLI, "register", "--port", "0"], { cwd, env: childEnv({}) });
      let stderr = "";
      proc.stderr.on("data", (chunk) => (stderr += chunk));
      proc.on("exit", (code) => resolve({ code, stderr }));
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(".env already names an App");
  });
});
