import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { appCode } from "../setup/totp";
import { describeWithChromium, launchChromium, registerUser, startExample, type ExampleFramework, type RunningExample } from "./example";

const PASSWORD = "correct horse battery";
const RECOVERY_CODE = /^[0-9a-z]{5}-[0-9a-z]{5}$/;

/** Clicks and waits for the page the click leads to. */
async function follow(page: Page, url: string | RegExp, target: Locator): Promise<void> {
  await Promise.all([page.waitForURL(url), target.click()]);
}

/** The password step of the login form; resolves on whatever page it leads to. */
async function typePassword(page: Page, baseUrl: string, username: string, next: string): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", PASSWORD);
  await follow(page, next, page.getByRole("button", { name: "Sign in" }));
}

async function typeCode(page: Page, code: string, next: string): Promise<void> {
  await page.getByLabel(/Code/).fill(code);
  await follow(page, next, page.getByRole("button", { name: /^(Sign in|Turn on)$/ }));
}

async function signOut(page: Page, baseUrl: string): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await follow(page, `${baseUrl}/login?notice=signed_out`, page.getByRole("button", { name: "Sign out", exact: true }));
}

/** The recovery codes on the page that shows them once. */
async function recoveryCodes(page: Page): Promise<string[]> {
  return (await page.locator("#recovery-codes li").allTextContents()).map((code) => code.trim());
}

/** A 6-digit code that is none of the three the server accepts around `at`. */
function wrongCode(secret: string, at: Date): string {
  const accepted = new Set([-1, 0, 1].map((offset) => appCode(secret, at, offset)));
  for (let n = 0; ; n++) {
    const code = String(n).padStart(6, "0");
    if (!accepted.has(code)) return code;
  }
}

describeWithChromium("Express example in Chromium: two-factor authentication", () => {
  let example: RunningExample;
  let baseUrl: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    example = await startExample();
    baseUrl = example.baseUrl;
    browser = await launchChromium();
  });

  beforeEach(async () => {
    context = await browser.newContext();
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
  });

  afterEach(async () => {
    await context?.close();
  });

  afterAll(async () => {
    await browser?.close();
    await example?.stop();
  });

  it("sets up an authenticator app, then signs in with its code and with a recovery code, each recovery code once", async () => {
    const username = `totp_${Date.now()}`;
    await registerUser(baseUrl, username, PASSWORD);
    // No code asked for yet: the password leads straight to the account.
    await typePassword(page, baseUrl, username, `${baseUrl}/`);

    // Setting it up, in the security settings, which open at once just after signing in.
    await follow(page, `${baseUrl}/account/security`, page.locator("#security-link"));
    await expect(page.locator("#two-factor-status").textContent()).resolves.toContain("Off");
    await follow(page, `${baseUrl}/account/two-factor/setup`, page.getByRole("button", { name: "Set up two-factor authentication" }));
    const qr = page.locator("img#totp-qr");
    expect(await qr.getAttribute("src")).toMatch(/^data:image\/png;base64,/);
    expect(await qr.evaluate((img: { complete: boolean; naturalWidth: number }) => img.complete && img.naturalWidth > 0)).toBe(true);
    // The key as a person would type it: groups of four, spaces to be dropped.
    const secret = (await page.locator("#totp-secret").textContent())!.replace(/\s+/g, "");
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const input = page.getByLabel("Code from the app");
    expect(await input.getAttribute("autocomplete")).toBe("one-time-code");

    // A wrong code shows the same key again, with the error.
    await typeCode(page, wrongCode(secret, new Date()), `${baseUrl}/account/two-factor/confirm`);
    await expect(page.getByRole("alert").textContent()).resolves.toContain("That code did not work");
    expect((await page.locator("#totp-secret").textContent())!.replace(/\s+/g, "")).toBe(secret);

    await typeCode(page, appCode(secret, new Date()), `${baseUrl}/account/two-factor/confirm`);
    await expect(page.locator("h1").textContent()).resolves.toBe("Save your recovery codes");
    const codes = await recoveryCodes(page);
    expect(codes).toHaveLength(10);
    for (const code of codes) expect(code).toMatch(RECOVERY_CODE);
    expect(new Set(codes).size).toBe(10);
    await follow(page, `${baseUrl}/account/security`, page.getByRole("link", { name: "Done" }));
    await expect(page.locator("#two-factor-status").textContent()).resolves.toContain("On");
    await signOut(page, baseUrl);

    // The password alone now leads to the code page, and no further.
    await typePassword(page, baseUrl, username, `${baseUrl}/login/code`);
    const codeInput = page.getByLabel("Code");
    expect(await codeInput.getAttribute("autocomplete")).toBe("one-time-code");
    expect(await codeInput.getAttribute("inputmode")).toBe("text");
    await page.goto(`${baseUrl}/`);
    expect(page.url()).toBe(`${baseUrl}/login`);

    // The app's code. Each 30-second step is taken once per user, and setup took this one:
    // the next step's code is accepted now (one step of drift), and whenever setup ran.
    await typePassword(page, baseUrl, username, `${baseUrl}/login/code`);
    await typeCode(page, appCode(secret, new Date(), 1), `${baseUrl}/`);
    await expect(page.locator("#welcome").textContent()).resolves.toContain(username);
    await signOut(page, baseUrl);

    // A recovery code, typed as the user might: upper case. It works once.
    await typePassword(page, baseUrl, username, `${baseUrl}/login/code`);
    await typeCode(page, codes[0]!.toUpperCase(), `${baseUrl}/`);
    await expect(page.locator("#welcome").textContent()).resolves.toContain(username);
    await signOut(page, baseUrl);

    await typePassword(page, baseUrl, username, `${baseUrl}/login/code`);
    await typeCode(page, codes[0]!, `${baseUrl}/login/code?error=invalid_code`);
    await expect(page.getByRole("alert").textContent()).resolves.toContain("That code did not work");
    // The pending sign-in survives one wrong code: another recovery code still gets in.
    await typeCode(page, codes[1]!, `${baseUrl}/`);
    await expect(page.locator("#welcome").textContent()).resolves.toContain(username);
  });

  it("new recovery codes replace the old ones, and turning it off signs in with the password alone", async () => {
    const username = `totp_off_${Date.now()}`;
    await registerUser(baseUrl, username, PASSWORD);
    await typePassword(page, baseUrl, username, `${baseUrl}/`);
    await page.goto(`${baseUrl}/account/security`);
    await follow(page, `${baseUrl}/account/two-factor/setup`, page.getByRole("button", { name: "Set up two-factor authentication" }));
    const secret = (await page.locator("#totp-secret").textContent())!.replace(/\s+/g, "");
    await typeCode(page, appCode(secret, new Date()), `${baseUrl}/account/two-factor/confirm`);
    const first = await recoveryCodes(page);

    await page.goto(`${baseUrl}/account/security`);
    await follow(page, `${baseUrl}/account/two-factor/recovery-codes`, page.getByRole("button", { name: "New recovery codes" }));
    const second = await recoveryCodes(page);
    expect(second).toHaveLength(10);
    expect(second.filter((code) => first.includes(code))).toEqual([]);
    // The page that made them is still signed in (its session was kept).
    await page.goto(`${baseUrl}/account/security`);
    expect(page.url()).toBe(`${baseUrl}/account/security`);
    await signOut(page, baseUrl);

    await typePassword(page, baseUrl, username, `${baseUrl}/login/code`);
    await typeCode(page, first[0]!, `${baseUrl}/login/code?error=invalid_code`);
    await typeCode(page, second[0]!, `${baseUrl}/`);

    await page.goto(`${baseUrl}/account/security`);
    await follow(
      page,
      `${baseUrl}/account/security?notice=two_factor_disabled`,
      page.getByRole("button", { name: "Turn off two-factor authentication" }),
    );
    await expect(page.locator("#two-factor-status").textContent()).resolves.toContain("Off");
    await signOut(page, baseUrl);
    await typePassword(page, baseUrl, username, `${baseUrl}/`);
  });
});

// The Koa and Hono examples wire the same steps, each reading the forms its own way: the whole
// round over plain HTTP, as a browser's forms send it (Origin set, so the CSRF check passes).
describe.each<ExampleFramework>(["koa", "hono"])("%s example: two-factor over HTTP", (framework) => {
  let running: RunningExample;

  beforeAll(async () => {
    running = await startExample({}, framework);
  });

  afterAll(async () => {
    await running?.stop();
  });

  function post(path: string, body: Record<string, string>, cookie = ""): Promise<Response> {
    return fetch(`${running.baseUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: running.baseUrl, cookie },
      body: new URLSearchParams(body).toString(),
      redirect: "manual",
    });
  }

  const cookieOf = (res: Response): string => res.headers.getSetCookie()[0]!.split(";")[0]!;

  it("serves the code page; its form without a pending sign-in answers invalid_code; setup needs a sign-in", async () => {
    const page = await fetch(`${running.baseUrl}/login/code`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('autocomplete="one-time-code"');
    const posted = await post("/login/code", { code: "123456" });
    expect(posted.status).toBe(303);
    expect(posted.headers.get("location")).toBe("/login/code?error=invalid_code");
    const setup = await post("/account/two-factor/setup", {});
    expect(setup.status).toBe(303);
    expect(setup.headers.get("location")).toBe("/login");
  });

  it("sets up, signs in with the password and the app's code, renews the recovery codes and turns it off", async () => {
    const username = `${framework}_totp_${Date.now()}`;
    const registered = await post("/register", { username, password: PASSWORD });
    expect(registered.status).toBe(303);
    const session = cookieOf(registered);

    const setup = await post("/account/two-factor/setup", {}, session);
    expect(setup.status).toBe(200);
    const html = await setup.text();
    expect(html).toContain('src="data:image/png;base64,');
    const secret = /data-secret="([A-Z2-7]+)"/.exec(html)![1]!;
    const uri = /name="uri" value="([^"]+)"/.exec(html)![1]!.replace(/&amp;/g, "&");

    const wrong = await post("/account/two-factor/confirm", { code: wrongCode(secret, new Date()), uri }, session);
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain(`data-secret="${secret}"`);
    const confirmed = await post("/account/two-factor/confirm", { code: appCode(secret, new Date()), uri }, session);
    expect(confirmed.status).toBe(200);
    expect((await confirmed.text()).match(/<li><code>[0-9a-z]{5}-[0-9a-z]{5}<\/code><\/li>/g)).toHaveLength(10);

    const password = await post("/login", { username, password: PASSWORD });
    expect(password.status).toBe(303);
    expect(password.headers.get("location")).toBe("/login/code");
    const signedIn = await post("/login/code", { code: appCode(secret, new Date(), 1) }, cookieOf(password));
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get("location")).toBe("/");
    const me = await fetch(`${running.baseUrl}/api/me`, {
      headers: {
        cookie: signedIn.headers
          .getSetCookie()
          .find((c) => c.startsWith("session="))!
          .split(";")[0]!,
      },
    });
    expect(((await me.json()) as { user: { username: string } }).user.username).toBe(username);

    // New recovery codes and turning it off keep the session that asked (its cookie read by readSessionCookie).
    const renewed = await post("/account/two-factor/recovery-codes", {}, session);
    expect(renewed.status).toBe(200);
    expect((await renewed.text()).match(/<li><code>/g)).toHaveLength(10);
    const off = await post("/account/two-factor/disable", {}, session);
    expect(off.status).toBe(303);
    expect(off.headers.get("location")).toBe("/account/security?notice=two_factor_disabled");
    expect((await fetch(`${running.baseUrl}/api/me`, { headers: { cookie: session } })).status).toBe(200);
    const passwordOnly = await post("/login", { username, password: PASSWORD });
    expect(passwordOnly.headers.get("location")).toBe("/");
  });
});

describe.each<ExampleFramework>(["express", "koa", "hono"])("%s example: the two-factor JSON API", (framework) => {
  let running: RunningExample;

  beforeAll(async () => {
    running = await startExample({}, framework);
  });

  afterAll(async () => {
    await running?.stop();
  });

  function api(path: string, body: Record<string, string>, cookie = ""): Promise<Response> {
    return fetch(`${running.baseUrl}/api${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie },
      body: JSON.stringify(body),
    });
  }

  it("sets up, confirms, renews the codes and turns it off through the settings handlers, and signs in in two steps", async () => {
    const username = `${framework}_api_totp_${Date.now()}`;
    const registered = await api("/register", { username, password: PASSWORD });
    expect(registered.status).toBe(201);
    const session = registered.headers.getSetCookie()[0]!.split(";")[0]!;
    const setup = await api("/two-factor/setup", {}, session);
    expect(setup.status).toBe(200);
    const { secret } = (await setup.json()) as { secret: string };
    const confirmed = await api("/two-factor/confirm", { code: appCode(secret, new Date()) }, session);
    expect(((await confirmed.json()) as { recoveryCodes: string[] }).recoveryCodes).toHaveLength(10);

    const password = await api("/login", { username, password: PASSWORD });
    expect(await password.json()).toEqual({ twoFactorRequired: true });
    const pending = password.headers
      .getSetCookie()
      .find((c) => c.startsWith("session-2fa="))!
      .split(";")[0]!;
    const signedIn = await api("/login/code", { code: appCode(secret, new Date(), 1) }, pending);
    expect(((await signedIn.json()) as { user: { username: string } }).user.username).toBe(username);

    const renewed = await api("/two-factor/recovery-codes", {}, session);
    expect(((await renewed.json()) as { recoveryCodes: string[] }).recoveryCodes).toHaveLength(10);
    expect((await api("/two-factor/disable", {}, session)).status).toBe(204);
    expect((await api("/two-factor/disable", {}, session)).status).toBe(409);
  });
});
