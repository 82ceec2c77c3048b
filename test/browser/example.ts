import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Browser, type LaunchOptions } from "playwright-core";
import { describeSkipped } from "../setup/databases";

// Debian's Chromium only: these tests never download a browser.
export const CHROMIUM = "/usr/bin/chromium";
export const ROOT = resolve(__dirname, "../..");
const example = (framework: ExampleFramework) => join(ROOT, `examples/${framework}/server.mjs`);
export type ExampleFramework = "express" | "koa" | "hono";

/** The runtimes an example can start under: examples/hono runs on all three. */
export type ExampleRuntime = "node" | "bun" | "deno";

/** The command line that starts `script` under `runtime`: the dev dependencies' bun and deno, with the permissions the example needs. */
export function runtimeCommand(runtime: ExampleRuntime, script: string): [string, string[]] {
  if (runtime === "bun") return [join(ROOT, "node_modules/.bin/bun"), [script]];
  if (runtime === "deno") {
    const permissions = ["--allow-net", "--allow-env", "--allow-read", "--allow-write", "--allow-ffi"];
    return [join(ROOT, "node_modules/.bin/deno"), ["run", ...permissions, script]];
  }
  return [process.execPath, [script]];
}

/** How the tests start Chromium: Debian's build, headless, no sandbox (root in CI), no traffic of its own. */
export const LAUNCH_OPTIONS: LaunchOptions = Object.freeze({
  executablePath: CHROMIUM,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});

export function launchChromium(): Promise<Browser> {
  return chromium.launch(LAUNCH_OPTIONS);
}

export function describeWithChromium(title: string, suite: () => void): void {
  if (existsSync(CHROMIUM)) describe(title, suite);
  else describeSkipped(title, `${CHROMIUM} not found (install Debian's chromium package; .ci/run does)`);
}

/** A port free a moment ago: the example builds its mail links from PORT, so it cannot take port 0. */
async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, "127.0.0.1");
  await once(probe, "listening");
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolveClose) => probe.close(resolveClose));
  return port;
}

/** A running example: its base URL as it printed it, and `stop()`, which also removes its database. */
export interface RunningExample {
  baseUrl: string;
  /** The working directory it runs in, where its sessions.db is. */
  cwd: string;
  stop(): Promise<void>;
}

/**
 * Starts an example (Express unless told) with `env` (besides PORT, which it picks) in a fresh
 * working directory, so with a fresh sessions.db, and resolves once it listens. Retries when
 * another process took the port meanwhile.
 */
export async function startExample(
  env: Record<string, string> = {},
  framework: ExampleFramework = "express",
  runtime: ExampleRuntime = "node",
): Promise<RunningExample> {
  if (!existsSync(join(ROOT, "dist/esm/adapters/express/index.js"))) {
    throw new Error("the example imports the built package: run `npm run build` first");
  }
  const cwd = mkdtempSync(join(tmpdir(), "session-manager-browser-"));
  // Settings of the developer's shell must not reach the example: it listens on 127.0.0.1 and
  // builds its links from the URL it listens on.
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ["APP_URL", "HOST", "SMTP_URL", "FRESH_SECONDS", "TRUST_PROXY", "TOTP_SECRET_KEY"]) delete base[name];
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const [command, args] = runtimeCommand(runtime, example(framework));
    const server = spawn(command, args, {
      cwd,
      env: { ...base, ...env, PORT: String(port) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const baseUrl = await new Promise<string>((resolveUrl, reject) => {
        let output = "";
        server.stdout.on("data", (chunk: Buffer) => {
          output += chunk.toString();
          const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
          if (match) resolveUrl(match[1]!);
        });
        server.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
        server.on("exit", (code) => reject(new Error(`example exited with ${code}: ${output}`)));
      });
      return {
        baseUrl,
        cwd,
        async stop() {
          if (server.exitCode === null && server.signalCode === null) {
            const exited = once(server, "exit");
            server.kill();
            await exited;
          }
          rmSync(cwd, { recursive: true, force: true });
        },
      };
    } catch (error) {
      if (attempt < 3 && String(error).includes("EADDRINUSE")) continue;
      rmSync(cwd, { recursive: true, force: true });
      throw error;
    }
  }
}

/**
 * Creates a user through the example's JSON API (a client without Origin: not a browser,
 * allowed), then signs that client out, so that only the browsers' sessions are listed.
 */
export async function registerUser(baseUrl: string, username: string, password: string, { email }: { email?: string } = {}): Promise<void> {
  const made = await fetch(`${baseUrl}/api/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password, email }),
  });
  if (made.status !== 201) throw new Error(`register ${username}: ${made.status} ${await made.text()}`);
  const cookie = made.headers.getSetCookie()[0]?.split(";")[0];
  if (cookie === undefined) throw new Error(`register ${username}: no session cookie`);
  const signedOut = await fetch(`${baseUrl}/api/logout`, { method: "POST", headers: { cookie } });
  if (signedOut.status !== 204) throw new Error(`sign out ${username}: ${signedOut.status}`);
}

/** `text` with the characters a regular expression treats specially escaped. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
