import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { once } from "node:events";
import { parseArgs } from "node:util";
import { parse } from "yaml";
import { CliExit } from "./cli-exit.js";

export const REGISTER_USAGE = `usage: pat-warden register [--org <org>] [--webhook-url <url>] [--port <port>]

Registers the GitHub App from app.yml through GitHub's App manifest flow: opens a local page whose button sends
the manifest to GitHub; after you confirm there, GitHub redirects back here and the App's ID, private key and
webhook secret are written to .env (the key to pat-warden.private-key.pem, mode 0600). With --org the App is
registered on that organization. GHE_HOST/GHE_PROTOCOL point it at GitHub Enterprise Server.`;

interface Conversion {
  id: number;
  slug: string;
  html_url: string;
  pem: string;
  webhook_secret: string | null;
}

/** Probot's manifest flow, for pat-warden's app.yml: the least-privilege App in a few clicks. */
export async function registerCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { org: { type: "string" }, "webhook-url": { type: "string" }, port: { type: "string" } },
  });
  if (existsSync(".env") && /^APP_ID=\S/m.test(readFileSync(".env", "utf8"))) {
    throw new CliExit(2, ".env already names an App (APP_ID): remove it first to register another");
  }
  const host = process.env.GHE_HOST;
  const protocol = process.env.GHE_PROTOCOL ?? "https";
  const web = host ? `${protocol}://${host}` : "https://github.com";
  const api = host ? `${protocol}://${host}/api/v3` : "https://api.github.com";
  const state = randomBytes(16).toString("hex");

  const server = createServer();
  server.listen(Number(values.port ?? 3000), "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  const local = `http://localhost:${port}`;
  const manifest = buildManifest(values["webhook-url"], `${local}/callback`);
  const target = values.org
    ? `${web}/organizations/${encodeURIComponent(values.org)}/settings/apps/new?state=${state}`
    : `${web}/settings/apps/new?state=${state}`;

  console.log(`Open ${local} in your browser to register pat-warden on GitHub.`);
  const done = new Promise<number>((resolve) => {
    server.on("request", (request: IncomingMessage, response: ServerResponse) => {
      const url = new URL(request.url ?? "/", local);
      if (url.pathname === "/") return page(response, form(target, manifest));
      if (url.pathname !== "/callback") return page(response, "Not found", 404);
      if (url.searchParams.get("state") !== state || !url.searchParams.get("code")) {
        return page(response, "This link does not come from the registration started here.", 400);
      }
      convert(api, url.searchParams.get("code")!).then(
        (app) => {
          saveCredentials(app);
          page(response, installPage(app));
          console.log(`Registered ${app.slug} (App ID ${app.id}); credentials written to .env.`);
          console.log(`Now install it on your organization: ${app.html_url}/installations/new`);
          resolve(0);
        },
        (error: unknown) => {
          page(response, `GitHub refused the registration: ${escapeHtml((error as Error).message)}`, 502);
          console.error(`registration failed: ${(error as Error).message}`);
          resolve(1);
        },
      );
    });
  });
  const code = await done;
  server.close();
  server.closeAllConnections();
  return code;
}

/** app.yml as GitHub's manifest: the webhook URL given (or the file's), and a redirect back to this command. */
function buildManifest(webhookUrl: string | undefined, redirectUrl: string): Record<string, unknown> {
  const file = new URL("../../../app.yml", import.meta.url);
  if (!existsSync(file))
    throw new CliExit(2, "app.yml is not next to this installation: run register from a checkout");
  const manifest = parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  const hook = {
    ...(manifest.hook_attributes as Record<string, unknown>),
    ...(webhookUrl ? { url: webhookUrl } : {}),
  };
  return { ...manifest, hook_attributes: hook, redirect_url: redirectUrl };
}

/** `POST /app-manifests/{code}/conversions`: the code is the only credential; GitHub answers with the App's. */
async function convert(api: string, code: string): Promise<Conversion> {
  const response = await fetch(`${api}/app-manifests/${encodeURIComponent(code)}/conversions`, {
    method: "POST",
    headers: { accept: "application/vnd.github+json" },
  });
  const body = (await response.json().catch(() => ({}))) as Partial<Conversion> & { message?: string };
  if (response.status !== 201 || typeof body.id !== "number" || typeof body.pem !== "string") {
    throw new Error(`${response.status} ${body.message ?? ""}`.trim());
  }
  return body as Conversion;
}

/** The key in its own file, the rest in .env, both mode 0600 (also when they existed before); nothing printed. */
function saveCredentials(app: Conversion): void {
  const keyFile = "pat-warden.private-key.pem";
  writePrivate(keyFile, app.pem);
  const lines = [
    `APP_ID=${app.id}`,
    `PRIVATE_KEY_PATH=${keyFile}`,
    `WEBHOOK_SECRET=${app.webhook_secret ?? ""}`,
  ];
  const before = existsSync(".env") ? readFileSync(".env", "utf8").replace(/\n?$/, "\n") : "";
  writePrivate(".env", `${before}${lines.join("\n")}\n`);
}

/**
 * `mode` applies only to a file being created: an existing one keeps its mode, often world-readable. It is
 * narrowed before the secret goes in, so the secret is never readable by others, not even for a moment.
 */
function writePrivate(path: string, text: string): void {
  if (existsSync(path)) chmodSync(path, 0o600);
  writeFileSync(path, text, { mode: 0o600 });
}

function form(target: string, manifest: Record<string, unknown>): string {
  return `<h1>Register pat-warden</h1>
<p>GitHub will show the App's name, webhook and permissions (from app.yml) before you confirm.</p>
<form action="${escapeHtml(target)}" method="post">
<input type="hidden" name="manifest" value="${escapeHtml(JSON.stringify(manifest))}">
<button type="submit">Register on GitHub</button>
</form>`;
}

function installPage(app: Conversion): string {
  const install = `${app.html_url}/installations/new`;
  return `<h1>Registered ${escapeHtml(app.slug)}</h1>
<p>The App ID, private key and webhook secret are in .env. Now <a href="${escapeHtml(install)}">install it on your organization</a>
(only on the repository that holds the policy, usually <code>.github</code>).</p>`;
}

function page(response: ServerResponse, body: string, status = 200): void {
  response.writeHead(status, { "content-type": "text/html; charset=utf-8" });
  response.end(`<!doctype html><meta charset="utf-8"><title>pat-warden</title>${body}`);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
