import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { describeSkipped } from "../setup/databases";
import { SmtpInbox } from "./smtp-inbox";

// Debian's Chromium only: this test never downloads a browser.
const CHROMIUM = "/usr/bin/chromium";
const ROOT = resolve(__dirname, "../..");
const EXAMPLE = join(ROOT, "examples/express/server.mjs");

function describeWithChromium(title: string, suite: () => void): void {
  if (existsSync(CHROMIUM)) describe(title, suite);
  else describeSkipped(title, `${CHROMIUM} not found (install Debian's chromium package; .ci/run does)`);
}

/** A port free a moment ago: the example builds its mail links from PORT, so it cannot take port 0. */
async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0);
  await once(probe, "listening");
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolveClose) => probe.close(resolveClose));
  return port;
}

/** Starts the example and resolves to its base URL once it listens; retries when another process took the port meanwhile. */
async function startExample(cwd: string, env: NodeJS.ProcessEnv): Promise<{ server: ChildProcess; baseUrl: string }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const server = spawn(process.execPath, [EXAMPLE], { cwd, env: { ...env, PORT: String(port) }, stdio: ["ignore", "pipe", "pipe"] });
    try {
      const baseUrl = await new Promise<string>((resolveUrl, reject) => {
        let output = "";
        server.stdout.on("data", (chunk: Buffer) => {
          output += chunk.toString();
          const match = /http:\/\/localhost:\d+/.exec(output);
          if (match) resolveUrl(match[0]);
        });
        server.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
        server.on("exit", (code) => reject(new Error(`example exited with ${code}: ${output}`)));
      });
      return { server, baseUrl };
    } catch (error) {
      if (attempt < 3 && String(error).includes("EADDRINUSE")) continue;
      throw error;
    }
  }
}

describeWithChromium("Express example in Chromium", () => {
  let server: ChildProcess;
  let baseUrl: string;
  let browser: Browser;
  let cwd: string;
  const inbox = new SmtpInbox();

  beforeAll(async () => {
    if (!existsSync(join(ROOT, "dist/esm/adapters/express/index.js"))) {
      throw new Error("the example imports the built package: run `npm run build` first");
    }
    // The example keeps sessions.db in its working directory: a fresh one per run. Its mail goes
    // through nodemailer to a real SMTP server on this machine.
    cwd = mkdtempSync(join(tmpdir(), "session-manager-browser-"));
    const smtpUrl = await inbox.start();
    const env: NodeJS.ProcessEnv = { ...process.env, SMTP_URL: smtpUrl };
    delete env.APP_URL;
    ({ server, baseUrl } = await startExample(cwd, env));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
  });

  afterAll(async () => {
    await browser?.close();
    server?.kill();
    await inbox.stop();
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

  it("verifies the address and resets a forgotten password through mail, which signs out the other browser", async () => {
    const username = `reset_${Date.now()}`;
    const email = `${username}@example.test`;
    const fromInbox = async (subject: string): Promise<string> => {
      const mail = await inbox.take((received) => received.to.includes(email) && received.subject === subject);
      // The link is built from the app's own base URL, never from what a request said its Host was.
      const link = new RegExp(`${baseUrl}/[\\w-]+\\?token=[\\w-]+`).exec(mail.text);
      if (link === null) throw new Error(`no link in the mail: ${mail.text}`);
      return link[0];
    };
    const submit = (page: Page, url: string | RegExp, button = "button[type=submit]"): Promise<unknown> =>
      Promise.all([page.waitForURL(url), page.click(button)]);

    // The first browser registers with an address, verifies it from the mail, and signs in.
    const first = await browser.newContext();
    // A step that goes wrong fails in seconds, with the page it stopped on, not at the test's timeout.
    first.setDefaultTimeout(10_000);
    const firstPage = await first.newPage();
    await firstPage.goto(`${baseUrl}/register`);
    await firstPage.fill("input[name=username]", username);
    await firstPage.fill("input[name=password]", "first password 1");
    await firstPage.fill("input[name=email]", email);
    await submit(firstPage, `${baseUrl}/`);
    expect(await firstPage.textContent("#verify-banner")).toContain(email);
    await submit(firstPage, `${baseUrl}/?notice=verification_sent`, "button:text-is('Send verification link')");
    await firstPage.goto(await fromInbox("Verify your email address"));
    expect(new URL(firstPage.url()).pathname).toBe("/email-verified");
    await firstPage.click("text=Continue to your account");
    await firstPage.waitForURL(`${baseUrl}/`);
    expect(await firstPage.textContent("#email")).toContain("(verified)");
    expect(await firstPage.$("#verify-banner")).toBeNull();
    await submit(firstPage, `${baseUrl}/login`, "button:text-is('Sign out')");
    await firstPage.fill("input[name=username]", username);
    await firstPage.fill("input[name=password]", "first password 1");
    await submit(firstPage, `${baseUrl}/`);

    // A second browser asks for a reset link by address.
    const second = await browser.newContext();
    second.setDefaultTimeout(10_000);
    const page = await second.newPage();
    await page.goto(`${baseUrl}/login`);
    await page.click("text=Forgot password?");
    await page.fill("input[name=identifier]", email);
    await submit(page, `${baseUrl}/forgot-password/sent`);
    expect(await page.textContent("#check-inbox")).toContain("If an account");
    const link = await fromInbox("Reset your password");
    expect(link.startsWith(`${baseUrl}/reset-password?token=`)).toBe(true);

    // Opening the page, and opening it again, spends nothing: only the form's POST does.
    const opened = await page.goto(link);
    // The token is in the URL: no Referer may carry more than the origin. (Not `no-referrer`,
    // under which the browser sends `Origin: null` with the form and the CSRF check refuses it.)
    expect(opened?.headers()["referrer-policy"]).toBe("strict-origin");
    await page.reload();
    expect(page.url()).toBe(link);
    // A refused password keeps the token: the page comes back with the error and the form.
    await page.evaluate('document.querySelector("input[name=password]").removeAttribute("minlength")');
    await page.fill("input[name=password]", "short");
    await submit(page, /\/reset-password\?error=invalid_password&token=/);
    expect(await page.textContent(".error")).toContain("8 to 1024 characters");
    await page.fill("input[name=password]", "second password 2");
    await submit(page, `${baseUrl}/login?notice=password_reset`);
    expect(await page.textContent(".notice")).toContain("Your password has been changed");

    // The old password is refused, the new one signs in.
    await page.fill("input[name=username]", username);
    await page.fill("input[name=password]", "first password 1");
    await submit(page, /\/login\?error=invalid_credentials$/);
    await page.fill("input[name=username]", username);
    await page.fill("input[name=password]", "second password 2");
    await submit(page, `${baseUrl}/`);
    expect(await page.textContent("#welcome")).toContain(username);

    // The used link is spent.
    await page.goto(link);
    await page.fill("input[name=password]", "third password 3");
    await submit(page, `${baseUrl}/reset-password?error=invalid_token`);
    expect(await page.textContent(".error")).toContain("already used");

    // The reset revoked every session: the first browser's next page load is signed out.
    await firstPage.goto(`${baseUrl}/`);
    expect(new URL(firstPage.url()).pathname).toBe("/login");
    await first.close();
    await second.close();
  });
});
