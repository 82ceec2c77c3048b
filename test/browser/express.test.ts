import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { describeSkipped } from "../setup/databases";

// Debian's Chromium only: this test never downloads a browser.
const CHROMIUM = "/usr/bin/chromium";
const ROOT = resolve(__dirname, "../..");
const EXAMPLE = join(ROOT, "examples/express/server.mjs");

function describeWithChromium(title: string, suite: () => void): void {
  if (existsSync(CHROMIUM)) describe(title, suite);
  else describeSkipped(title, `${CHROMIUM} not found (install Debian's chromium package; .ci/run does)`);
}

describeWithChromium("Express example in Chromium", () => {
  let server: ChildProcess;
  let baseUrl: string;
  let browser: Browser;
  let cwd: string;

  beforeAll(async () => {
    if (!existsSync(join(ROOT, "dist/esm/adapters/express/index.js"))) {
      throw new Error("the example imports the built package: run `npm run build` first");
    }
    // The example keeps sessions.db in its working directory: a fresh one per run.
    cwd = mkdtempSync(join(tmpdir(), "session-manager-browser-"));
    server = spawn(process.execPath, [EXAMPLE], { cwd, env: { ...process.env, PORT: "0" }, stdio: ["ignore", "pipe", "pipe"] });
    baseUrl = await new Promise<string>((resolveUrl, reject) => {
      let output = "";
      server.stdout!.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        const match = /http:\/\/localhost:\d+/.exec(output);
        if (match) resolveUrl(match[0]);
      });
      server.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
      server.on("exit", (code) => reject(new Error(`example exited with ${code}: ${output}`)));
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
  });

  afterAll(async () => {
    await browser?.close();
    server?.kill();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it("registers, signs in, shows the protected page, hides the cookie from scripts and signs out", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const username = `browser_${Date.now()}`;

    await page.goto(`${baseUrl}/`);
    expect(new URL(page.url()).pathname).toBe("/login");

    await page.click("text=Register");
    await page.fill("input[name=username]", username);
    await page.fill("input[name=password]", "correct horse battery");
    await Promise.all([page.waitForURL(`${baseUrl}/`), page.click("button[type=submit]")]);
    expect(await page.textContent("#welcome")).toContain(username);

    // Sign out, then sign in again through the login form.
    await Promise.all([page.waitForURL(`${baseUrl}/login`), page.click("button:text-is('Sign out')")]);
    await page.fill("input[name=username]", username);
    await page.fill("input[name=password]", "wrong password");
    await Promise.all([page.waitForURL(/\/login\?error=invalid_credentials$/), page.click("button[type=submit]")]);
    expect(await page.textContent(".error")).toContain("Wrong username or password");
    await page.fill("input[name=username]", username);
    await page.fill("input[name=password]", "correct horse battery");
    await Promise.all([page.waitForURL(`${baseUrl}/`), page.click("button[type=submit]")]);
    expect(await page.textContent("#welcome")).toContain(username);
    expect(await page.textContent("table")).toContain("this device");

    const cookies = await context.cookies();
    const session = cookies.find((cookie) => cookie.name === "session");
    expect(session).toMatchObject({ httpOnly: true, sameSite: "Lax", path: "/" });
    // HttpOnly: the page's scripts see the cookies they may read, never the session cookie.
    await page.evaluate('document.cookie = "probe=1; path=/"');
    const visible = await page.evaluate<string>("document.cookie");
    expect(visible).toContain("probe=1");
    expect(visible).not.toContain("session=");
    expect(visible).not.toContain(session!.value);

    await Promise.all([page.waitForURL(`${baseUrl}/`), page.click("text=Sign out other devices")]);
    await Promise.all([page.waitForURL(`${baseUrl}/login`), page.click("button:text-is('Sign out')")]);
    expect((await context.cookies()).find((cookie) => cookie.name === "session")).toBeUndefined();
    await page.goto(`${baseUrl}/`);
    expect(new URL(page.url()).pathname).toBe("/login");
    await context.close();
  });

  it("refuses a login form posted from another origin: the signed-out browser is not signed in (login CSRF)", async () => {
    // The attacker's account, made by a client that sends no Origin (allowed: not a browser).
    const attacker = `attacker_${Date.now()}`;
    const made = await fetch(`${baseUrl}/api/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: attacker, password: "correct horse battery" }),
    });
    expect(made.status).toBe(201);
    // The attacker's page: same host, another port. That is the same site, so SameSite=Lax
    // would not stop the cookie; only the origin check can.
    const evil: Server = createServer((_req, res) => {
      res.setHeader("content-type", "text/html");
      res.end(
        `<form method="post" action="${baseUrl}/login"><input name="username" value="${attacker}"><input name="password" value="correct horse battery"></form>` +
          "<script>document.forms[0].submit()</script>",
      );
    });
    evil.listen(0, "localhost");
    await once(evil, "listening");
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const answer = page.waitForResponse((res) => res.url() === `${baseUrl}/login` && res.request().method() === "POST");
      await page.goto(`http://localhost:${(evil.address() as AddressInfo).port}/`);
      const res = await answer;
      expect(res.status()).toBe(403);
      expect(res.request().headers()["origin"]).toMatch(/^http:\/\/localhost:\d+$/);
      expect((await context.cookies()).find((cookie) => cookie.name === "session")).toBeUndefined();
      await page.goto(`${baseUrl}/`);
      expect(new URL(page.url()).pathname).toBe("/login");
    } finally {
      await context.close();
      evil.close();
    }
  });
});
