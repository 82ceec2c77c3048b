import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, Page } from "playwright-core";
import { describeWithChromium, escapeRegExp, launchChromium, registerUser, startExample, type RunningExample } from "./example";
import { SmtpInbox } from "./smtp-inbox";

describeWithChromium("Express example in Chromium", () => {
  let example: RunningExample;
  let baseUrl: string;
  let browser: Browser;
  const inbox = new SmtpInbox();

  beforeAll(async () => {
    // The example's mail goes through nodemailer to a real SMTP server on this machine.
    const smtpUrl = await inbox.start();
    example = await startExample({ SMTP_URL: smtpUrl });
    baseUrl = example.baseUrl;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await example?.stop();
    await inbox.stop();
  });

  it("registers, signs in, shows the protected page, hides the cookie from scripts, signs out, and Back does not show the page again", async () => {
    const context = await browser.newContext();
    context.setDefaultTimeout(10_000);
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
    await Promise.all([page.waitForURL(`${baseUrl}/login?notice=signed_out`), page.click("button:text-is('Sign out')")]);
    expect(await page.textContent(".notice")).toContain("You are signed out");
    await page.fill("input[name=username]", username);
    await page.fill("input[name=password]", "wrong password");
    await Promise.all([page.waitForURL(/\/login\?error=invalid_credentials$/), page.click("button[type=submit]")]);
    expect(await page.textContent(".error")).toContain("Wrong username or password");
    await page.fill("input[name=username]", username);
    await page.fill("input[name=password]", "correct horse battery");
    await Promise.all([page.waitForURL(`${baseUrl}/`), page.click("button[type=submit]")]);
    expect(await page.textContent("#welcome")).toContain(username);
    expect(await page.textContent("#devices .current")).toContain("this device");

    const cookies = await context.cookies();
    const session = cookies.find((cookie) => cookie.name === "session");
    expect(session).toMatchObject({ httpOnly: true, sameSite: "Lax", path: "/" });
    // HttpOnly: the page's scripts see the cookies they may read, never the session cookie.
    await page.evaluate('document.cookie = "probe=1; path=/"');
    const visible = await page.evaluate<string>("document.cookie");
    expect(visible).toContain("probe=1");
    expect(visible).not.toContain("session=");
    expect(visible).not.toContain(session!.value);

    // The signed-in pages are never cached (Cache-Control: no-store).
    const account = await page.goto(`${baseUrl}/`);
    expect(account?.headers()["cache-control"]).toBe("no-store");

    await Promise.all([page.waitForURL(`${baseUrl}/login?notice=signed_out`), page.click("button:text-is('Sign out')")]);
    expect((await context.cookies()).find((cookie) => cookie.name === "session")).toBeUndefined();
    // Back, after signing out: the browser asks the server again, which sends it to sign in,
    // instead of showing the account page from its cache.
    await page.goBack();
    expect(page.url()).toBe(`${baseUrl}/login`);
    expect(await page.$("#welcome")).toBeNull();
    await page.goto(`${baseUrl}/`);
    expect(new URL(page.url()).pathname).toBe("/login");
    await context.close();
  });

  it("refuses a login form posted from another origin: the signed-out browser is not signed in (login CSRF)", async () => {
    // The attacker's account, made by a client that sends no Origin (allowed: not a browser).
    const attacker = `attacker_${Date.now()}`;
    await registerUser(baseUrl, attacker, "correct horse battery");
    // The attacker's page: same host, another port. That is the same site, so SameSite=Lax
    // would not stop the cookie; only the origin check can.
    const evil: Server = createServer((_req, res) => {
      res.setHeader("content-type", "text/html");
      res.end(
        `<form method="post" action="${baseUrl}/login"><input name="username" value="${attacker}"><input name="password" value="correct horse battery"></form>` +
          "<script>document.forms[0].submit()</script>",
      );
    });
    evil.listen(0, "127.0.0.1");
    await once(evil, "listening");
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const answer = page.waitForResponse((res) => res.url() === `${baseUrl}/login` && res.request().method() === "POST");
      await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
      const res = await answer;
      expect(res.status()).toBe(403);
      expect(res.request().headers()["origin"]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
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
      const link = new RegExp(`${escapeRegExp(baseUrl)}/[\\w-]+\\?token=[\\w-]+`).exec(mail.text);
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
    await submit(firstPage, `${baseUrl}/login?notice=signed_out`, "button:text-is('Sign out')");
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
