import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Cookie, type Locator, type Page } from "playwright-core";
import { describeWithChromium, LAUNCH_OPTIONS, launchChromium, registerUser, startExample, type RunningExample } from "./example";

const PASSWORD = "correct horse battery";
const FIREFOX_ON_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
const SAFARI_ON_IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
// An iPhone 14's screen in CSS pixels.
const PHONE = { width: 390, height: 844 };

function sessionCookie(cookies: Cookie[]): Cookie | undefined {
  return cookies.find((cookie) => cookie.name === "session");
}

/** Signs in through the login form, ticking "Remember me" or not, and lands on the account page. */
async function signIn(page: Page, baseUrl: string, username: string, { password = PASSWORD, remember = false } = {}): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", password);
  if (remember) await page.getByLabel("Remember me").check();
  await Promise.all([page.waitForURL(`${baseUrl}/`), page.click("button[type=submit]")]);
}

/** Clicks and waits for the page the click leads to. */
async function follow(page: Page, url: string | RegExp, target: Locator): Promise<void> {
  await Promise.all([page.waitForURL(url), target.click()]);
}

async function expectSignedOut(page: Page, baseUrl: string): Promise<void> {
  await page.goto(`${baseUrl}/`);
  expect(page.url()).toBe(`${baseUrl}/login`);
}

describeWithChromium("Express example in Chromium: remember me, fresh sign-in, devices, phone width", () => {
  let example: RunningExample;
  let baseUrl: string;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  // A context that fails a step within seconds, and is closed after the test whatever happens.
  async function newContext(options: Parameters<Browser["newContext"]>[0] = {}): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext(options);
    context.setDefaultTimeout(10_000);
    contexts.push(context);
    return { context, page: await context.newPage() };
  }

  beforeAll(async () => {
    example = await startExample();
    baseUrl = example.baseUrl;
    browser = await launchChromium();
  });

  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close();
  });

  afterAll(async () => {
    await browser?.close();
    await example?.stop();
  });

  it("without Remember me the session ends when the browser closes; with it, the session outlives a restart", async () => {
    const username = `remember_${Date.now()}`;
    await registerUser(baseUrl, username, PASSWORD);
    // A persistent profile closed and opened again is a browser restart: Chromium itself drops
    // the cookies without an expiry, and keeps the others on disk.
    const profile = mkdtempSync(join(tmpdir(), "session-manager-profile-"));
    const restart = async (previous?: BrowserContext): Promise<{ context: BrowserContext; page: Page }> => {
      await previous?.close();
      const context = await chromium.launchPersistentContext(profile, { ...LAUNCH_OPTIONS });
      context.setDefaultTimeout(10_000);
      return { context, page: context.pages()[0] ?? (await context.newPage()) };
    };
    let { context, page } = await restart();
    try {
      await signIn(page, baseUrl, username, { remember: false });
      expect(sessionCookie(await context.cookies())?.expires).toBe(-1);
      expect(await page.textContent("#devices .current")).toContain("Until the browser closes");

      ({ context, page } = await restart(context));
      expect(sessionCookie(await context.cookies())).toBeUndefined();
      await expectSignedOut(page, baseUrl);

      await signIn(page, baseUrl, username, { remember: true });
      // The server's 30 days, give or take the seconds the test took.
      expect(sessionCookie(await context.cookies())?.expires).toBeGreaterThan(Date.now() / 1000 + 29 * 24 * 3600);

      ({ context, page } = await restart(context));
      await page.goto(`${baseUrl}/`);
      expect(page.url()).toBe(`${baseUrl}/`);
      expect(await page.textContent("#welcome")).toContain(username);
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });

  it("asks for the password again once the sign-in is older than the freshness window, then goes on to the settings", async () => {
    // Time cannot be moved in a browser: this example instance keeps the settings open for 3 s
    // only. Long enough to get from the confirmation to the settings on a busy machine, short
    // enough to wait out.
    const shortWindow = await startExample({ FRESH_SECONDS: "3" });
    try {
      const base = shortWindow.baseUrl;
      const username = `fresh_${Date.now()}`;
      await registerUser(base, username, PASSWORD);
      const { context, page } = await newContext();
      await signIn(page, base, username);
      await page.waitForTimeout(3_300);

      const confirmUrl = `${base}/confirm-password?next=%2Faccount%2Fsecurity`;
      await follow(page, confirmUrl, page.locator("#security-link"));
      expect(await page.textContent("h1")).toBe("Confirm your password");
      // The username is there for password managers only.
      expect(await page.isHidden("input[name=username]")).toBe(true);
      const before = sessionCookie(await context.cookies())?.value;

      await page.fill("input[name=password]", "not my password");
      await follow(page, `${confirmUrl}&error=invalid_credentials`, page.getByRole("button", { name: "Confirm" }));
      expect(await page.textContent(".error")).toContain("That is not your password");

      await page.fill("input[name=password]", PASSWORD);
      await follow(page, `${base}/account/security`, page.getByRole("button", { name: "Confirm" }));
      expect(await page.isVisible("#password-form")).toBe(true);
      expect(await page.isVisible("#email-form")).toBe(true);
      // Confirming rotates the session token: a new cookie, still signed in.
      const after = sessionCookie(await context.cookies())?.value;
      expect(after).toBeDefined();
      expect(after).not.toBe(before);

      // A `next` naming another site leads only to this app's own account page.
      await page.goto(`${base}/confirm-password?next=${encodeURIComponent("//evil.example/")}`);
      expect(await page.getAttribute("form", "action")).toBe("/confirm-password?next=%2F");
      await page.fill("input[name=password]", PASSWORD);
      await follow(page, `${base}/`, page.getByRole("button", { name: "Confirm" }));
    } finally {
      await shortWindow.stop();
    }
  });

  it("lists the devices in plain words, signs out one, then all the others; changing the password signs out the rest", async () => {
    const username = `devices_${Date.now()}`;
    await registerUser(baseUrl, username, PASSWORD);
    const desktop = await newContext();
    const firefox = await newContext({ userAgent: FIREFOX_ON_WINDOWS });
    const phone = await newContext({ userAgent: SAFARI_ON_IPHONE, viewport: PHONE, isMobile: true });
    await signIn(firefox.page, baseUrl, username);
    await signIn(phone.page, baseUrl, username);
    await signIn(desktop.page, baseUrl, username);

    const page = desktop.page;
    const rows = page.locator("#devices tbody tr");
    expect(await rows.count()).toBe(3);
    // Debian's Chromium says "HeadlessChrome … Linux", which reads as Chrome on Linux.
    const current = await page.textContent("#devices .current");
    expect(current).toContain("Chrome on Linux");
    expect(current).toContain("this device");
    expect(current).toContain("now");
    const firefoxRow = rows.filter({ hasText: "Firefox on Windows" });
    expect(await firefoxRow.textContent()).toContain("within the last hour");
    expect(await rows.filter({ hasText: "Safari on iOS" }).count()).toBe(1);

    // One device: its own button; that browser's next page is the login page.
    await follow(page, `${baseUrl}/?notice=device_signed_out`, firefoxRow.getByRole("button", { name: /^Sign out/ }));
    expect(await page.textContent(".notice")).toContain("That device has been signed out.");
    expect(await rows.count()).toBe(2);
    await expectSignedOut(firefox.page, baseUrl);
    await phone.page.goto(`${baseUrl}/`);
    expect(await phone.page.textContent("#welcome")).toContain(username);

    // Every other device.
    await follow(page, `${baseUrl}/?notice=others_signed_out&count=1`, page.getByRole("button", { name: "Sign out all other devices" }));
    expect(await page.textContent(".notice")).toContain("Signed out of 1 other device.");
    expect(await rows.count()).toBe(1);
    expect(await page.getByRole("button", { name: "Sign out all other devices" }).count()).toBe(0);
    await expectSignedOut(phone.page, baseUrl);

    // The password, in the security settings, which open at once just after signing in.
    await signIn(firefox.page, baseUrl, username);
    await follow(page, `${baseUrl}/account/security`, page.locator("#security-link"));
    await page.fill("input[name=currentPassword]", "not my password");
    await page.fill("input[name=newPassword]", "new horse battery");
    await follow(
      page,
      `${baseUrl}/account/security?form=password&error=invalid_credentials`,
      page.getByRole("button", { name: "Change password" }),
    );
    expect(await page.textContent(".error")).toContain("That is not your current password.");
    await page.fill("input[name=currentPassword]", PASSWORD);
    await page.fill("input[name=newPassword]", "new horse battery");
    await follow(page, `${baseUrl}/?notice=password_changed`, page.getByRole("button", { name: "Change password" }));
    expect(await page.textContent(".notice")).toContain("Password changed.");
    expect(await page.textContent("#welcome")).toContain(username);
    await expectSignedOut(firefox.page, baseUrl);
    await signIn(firefox.page, baseUrl, username, { password: "new horse battery" });
  });

  it("fits a 390 px wide phone: no horizontal scrolling, every form and device card within the screen", async () => {
    // Long words that cannot wrap at spaces: the username and the address.
    const username = `phone_${Date.now()}_with_a_rather_long_name`;
    await registerUser(baseUrl, username, PASSWORD, { email: `${username}.and.more@mail.subdomain.example.test` });
    const other = await newContext({ userAgent: FIREFOX_ON_WINDOWS });
    await signIn(other.page, baseUrl, username);
    const { page } = await newContext({ userAgent: SAFARI_ON_IPHONE, viewport: PHONE, isMobile: true, deviceScaleFactor: 2 });
    await signIn(page, baseUrl, username);

    for (const path of [
      "/",
      "/account/security",
      "/confirm-password?next=%2Faccount%2Fsecurity",
      "/login",
      "/register",
      "/forgot-password",
    ]) {
      await page.goto(`${baseUrl}${path}`);
      expect(new URL(page.url()).pathname).toBe(path.split("?")[0]);
      expect({ path, innerWidth: await page.evaluate<number>("window.innerWidth") }).toEqual({ path, innerWidth: PHONE.width });
      expect({ path, scrollWidth: await page.evaluate<number>("document.documentElement.scrollWidth") }).toEqual({
        path,
        scrollWidth: PHONE.width,
      });
      const outside: string[] = [];
      const selector =
        "main h1, main h2, main p, main form, main label, main input:not([type=hidden]), main button, #devices tr, #devices td, .banner";
      for (const element of await page.locator(selector).all()) {
        const box = await element.boundingBox();
        if (box !== null && (box.x < 0 || box.x + box.width > PHONE.width)) {
          outside.push(
            `${await element.evaluate((node: { outerHTML: string }) => node.outerHTML.slice(0, 80))} at x ${box.x}, width ${box.width}`,
          );
        }
      }
      expect({ path, outside }).toEqual({ path, outside: [] });
    }

    // The devices table becomes stacked cards: each row's cells one under the other.
    await page.goto(`${baseUrl}/`);
    const cells = page.locator("#devices .current td");
    const [device, signedIn] = [await cells.nth(0).boundingBox(), await cells.nth(1).boundingBox()];
    expect(device).not.toBeNull();
    expect(signedIn!.y).toBeGreaterThanOrEqual(device!.y + device!.height - 1);
    expect(await page.locator("#devices tbody tr").count()).toBe(2);

    // For a person to look at: kept in a temporary directory, never in the repository.
    const artifacts = process.env.BROWSER_TEST_ARTIFACTS ?? mkdtempSync(join(tmpdir(), "session-manager-screenshots-"));
    const screenshot = join(artifacts, "account-390px.png");
    await page.screenshot({ path: screenshot, fullPage: true });
    console.info(`phone-width screenshot of the account page: ${screenshot}`);
  });
});
