import { randomBytes } from "node:crypto";
import type { RequestListener } from "node:http";
import request from "supertest";
import { sql } from "kysely";
import {
  InvalidOptionsError,
  ServiceBusyError,
  SessionManager,
  type AuthEvent,
  type ConfirmEmailChangeHandlerOptions,
  type EmailLinkHandlerOptions,
  type EmailMessage,
  type SendEmail,
  type SessionManagerOptions,
  type SessionMiddlewareOptions,
} from "session-manager";
import { getDefaultManager, MAX_COOKIE_VALUES } from "../../src/http/index.js";
import { signIn } from "../../src/internal.js";
import {
  DatabaseFixture,
  FAST_PASSWORDS,
  TestClock,
  describeEachDatabase,
  testDatabase,
  uniqueName,
  type DatabaseName,
} from "../setup/databases.js";
import { HOST, SELF, cookiesSet, type ParsedCookie } from "../setup/http.js";
import { appCode } from "../setup/totp.js";

/**
 * What the suite sends its requests to: a Node.js request listener (supertest serves it), or the
 * base URL of a server already listening (Hono on Bun.serve or Deno.serve).
 */
export type TestTarget = RequestListener | string;

/** What a harness builds the app from. */
export interface AppSetup {
  /** Undefined: `sessionMiddleware()` with its default manager. */
  manager: SessionManager | undefined;
  options: Omit<SessionMiddlewareOptions, "manager">;
  /** Trust X-Forwarded-Proto the way the framework does behind a proxy. */
  trustProxy: boolean;
  /** Run the framework's own JSON and form body parsers before the handlers. */
  frameworkBodyParser: boolean;
  /** What the recovery handlers deliver mail with; undefined: a function that drops it. */
  sendEmail?: SendEmail;
}

/** The `link` option of each recovery route that sends one. */
export const LINKS = {
  reset: "https://app.example.com/reset-password",
  verify: "https://app.example.com/verify-email",
  confirm: "https://app.example.com/confirm-email",
} as const;

/** The adapter's factories of the handlers that take mail options, to check them at creation. */
export interface MailHandlerFactories {
  passwordResetRequestHandler(options: EmailLinkHandlerOptions): unknown;
  emailVerificationRequestHandler(options: EmailLinkHandlerOptions): unknown;
  emailChangeHandler(options: EmailLinkHandlerOptions): unknown;
  confirmEmailChangeHandler(options?: ConfirmEmailChangeHandlerOptions): unknown;
}

/**
 * One framework under test. `createApp` mounts `sessionMiddleware(options)` and these routes,
 * with an error handler answering 500 without logging:
 *
 * - `POST /register`, `POST /login`, `POST /logout`: the handlers without options
 * - `POST /form/register`, `POST /form/login`: `{ redirectTo: "/home", failureRedirectTo: "/sign-in" }`
 * - `POST /form/logout`: `{ redirectTo: "/sign-in" }`
 * - `GET /me`: `requireUser()`, then `{ username, sessionId }`
 * - `GET /page`: `requireUser({ redirectTo: "/sign-in" })`, then text `page`
 * - `GET /whoami` and `POST /action`: no guard, `{ username }` (null when anonymous)
 * - `POST /forgot-password`: `passwordResetRequestHandler({ sendEmail, link: LINKS.reset })`
 * - every method on `/reset-password`: `passwordResetHandler()`
 * - `POST /form/reset-password`: `passwordResetHandler({ redirectTo: "/sign-in", failureRedirectTo: "/choose-password" })`
 * - `POST /send-verification`: `emailVerificationRequestHandler({ sendEmail, link: LINKS.verify })`
 * - `GET` and `POST /verify-email`: `verifyEmailHandler()`; `GET /form/verify-email`: with the form options above
 * - `POST /change-email`: `emailChangeHandler({ sendEmail, link: LINKS.confirm })`
 * - `GET` and `POST /confirm-email`: `confirmEmailChangeHandler({ sendEmail })`
 * - `POST /quiet/confirm-email`: `confirmEmailChangeHandler()`, without `sendEmail`
 */
export interface AdapterHarness {
  name: string;
  createApp(setup: AppSetup): TestTarget;
  /** True when `frameworkBodyParser` installs a real parser of the framework. */
  hasBodyParser: boolean;
  /** The adapter module's own factories, called directly to check their option validation. */
  handlers: MailHandlerFactories;
}

const START = Date.UTC(2026, 0, 1);
const DAY = 24 * 60 * 60 * 1000;
const PASSWORD = "correct horse battery";
const NEW_PASSWORD = "a brand new passphrase";
const TOKEN = /^[A-Za-z0-9_-]{32}$/;
const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;

/**
 * The database rows of the HTTP suites. sqlite-file runs on the library's own connection (the
 * middleware mostly validates synchronously), PostgreSQL on a server through a connection pool
 * (validation always awaited, every query a network round trip). sqlite-memory, on the caller's
 * Kysely instance, reaches the adapters by the same awaited path as PostgreSQL: it runs here only
 * where PostgreSQL is not configured, and the caller's-Kysely reads themselves are tested by the
 * core suites on every row. MySQL takes the PostgreSQL path and is the slowest row (about 15 s
 * per adapter): its SQL is left to the core, multi-process, concurrency and outage suites.
 */
export const HTTP_SUITE_EXCEPT: DatabaseName[] = testDatabase("postgres").skipReason === null ? ["mysql", "sqlite-memory"] : ["mysql"];

/** The HTTP behaviour every adapter must have, on the rows of `HTTP_SUITE_EXCEPT`'s comment. */
export function runSharedSuite(harness: AdapterHarness): void {
  // Once per file: the default manager lives as long as the module.
  describe(`${harness.name}: sessionMiddleware() without a manager`, () => {
    it("shares one lazily created default manager between middlewares without one", async () => {
      const previous = process.env["SESSION_DATABASE_URL"];
      process.env["SESSION_DATABASE_URL"] = "sqlite::memory:";
      try {
        const first = harness.createApp({ manager: undefined, options: {}, trustProxy: false, frameworkBodyParser: false });
        const second = harness.createApp({ manager: undefined, options: {}, trustProxy: false, frameworkBodyParser: false });
        const res = await post(first, "/register").send({ username: uniqueName(), password: PASSWORD }).expect(201);
        await get(second, "/me")
          .set("Cookie", `session=${sessionCookie(res).value}`)
          .expect(200);
      } finally {
        if (previous === undefined) delete process.env["SESSION_DATABASE_URL"];
        else process.env["SESSION_DATABASE_URL"] = previous;
        await getDefaultManager().close();
      }
    });
  });

  describeEachDatabase(`${harness.name} adapter`, (fixture) => defineTests(harness, fixture), { except: HTTP_SUITE_EXCEPT });
}

interface TestApp {
  app: TestTarget;
  manager: SessionManager;
  clock: TestClock;
  /** What the recovery handlers gave `sendEmail`. */
  mail: Outbox;
  /** What the manager gave `onEvent`, unless the test passed its own. */
  events: AuthEvent[];
}

function defineTests(harness: AdapterHarness, fixture: DatabaseFixture): void {
  function setUp(setup: Partial<AppSetup> & { managerOptions?: SessionManagerOptions } = {}): TestApp {
    const clock = new TestClock(START);
    const mail = new Outbox();
    const events: AuthEvent[] = [];
    const manager = fixture.manager({
      tablePrefix: DatabaseFixture.prefix(),
      clock: clock.now,
      onEvent: (event) => void events.push(event),
      ...setup.managerOptions,
    });
    const app = harness.createApp({
      manager,
      options: {},
      trustProxy: false,
      frameworkBodyParser: false,
      sendEmail: mail.sendEmail,
      ...setup,
    });
    return { app, manager, clock, mail, events };
  }

  async function registered(
    t: Pick<TestApp, "app">,
    username = uniqueName(),
  ): Promise<{ username: string; cookie: string; token: string }> {
    const res = await post(t.app, "/register").send({ username, password: PASSWORD }).expect(201);
    const cookie = sessionCookie(res);
    return { username, cookie: `session=${cookie.value}`, token: cookie.value };
  }

  /** A user registered with an address; `id` from the answer. */
  async function registeredWithEmail(
    t: TestApp,
    email = `${uniqueName("mail")}@Example.com`,
  ): Promise<{ id: number; username: string; email: string; cookie: string; token: string }> {
    const username = uniqueName();
    const res = await post(t.app, "/register").send({ username, password: PASSWORD, email }).expect(201);
    const cookie = sessionCookie(res);
    return { id: res.body.user.id, username, email, cookie: `session=${cookie.value}`, token: cookie.value };
  }

  /** Asks for a reset link for `identifier` and waits for the mail: its token. */
  async function resetToken(t: TestApp, identifier: string): Promise<string> {
    const before = t.mail.messages.length;
    await post(t.app, "/forgot-password").send({ identifier }).expect(202);
    return linkMessage((await t.mail.received(before + 1))[before]).token;
  }

  /** Asks for a verification link for the signed-in `cookie` and waits for the mail: its token. */
  async function verificationToken(t: TestApp, cookie: string): Promise<string> {
    const before = t.mail.messages.length;
    await post(t.app, "/send-verification").set("Cookie", cookie).expect(202);
    return linkMessage((await t.mail.received(before + 1))[before]).token;
  }

  /** Asks to move the signed-in `cookie`'s account to `email` and waits for the mail: its token. */
  async function emailChangeToken(t: TestApp, cookie: string, email: string): Promise<string> {
    const before = t.mail.messages.length;
    await post(t.app, "/change-email").set("Cookie", cookie).send({ email }).expect(202);
    return linkMessage((await t.mail.received(before + 1))[before]).token;
  }

  /**
   * Checks that the requests before it sent nothing beyond `expected` messages. Delivery runs after
   * the answer, so a missing mail cannot be awaited: a new account's reset request goes last, and
   * once its mail is in, the outbox must hold exactly `expected` plus it. The earlier requests'
   * work was queued first and the witness needs a registration and a lookup more, so a stray mail
   * would be in by then (on a pooled database not strictly guaranteed: a miss, never a false failure).
   */
  async function expectNothingElseSent(t: TestApp, expected: number): Promise<void> {
    const witness = await registeredWithEmail(t);
    await post(t.app, "/forgot-password").send({ identifier: witness.username }).expect(202);
    const messages = await t.mail.received(expected + 1);
    expect(messages).toHaveLength(expected + 1);
    expect(messages.at(-1)).toMatchObject({ kind: "password_reset", to: witness.email });
  }

  const userJson = (user: { id: number; username: string }, email: string | null, emailVerified: boolean): object => ({
    user: { id: user.id, username: user.username, createdAt: new Date(START).toISOString(), email, emailVerified },
  });

  describe("registerHandler", () => {
    it("creates the user, answers 201 with the user and sets a secure-by-default cookie", async () => {
      const t = setUp();
      const res = await post(t.app, "/register").send({ username: "Alice", password: PASSWORD }).expect(201);
      expect(res.body).toEqual({
        user: { id: expect.any(Number), username: "Alice", createdAt: new Date(START).toISOString(), email: null, emailVerified: false },
      });
      const cookie = sessionCookie(res);
      expect(cookie.value).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: "lax", path: "/", maxAge: 30 * 86400 });
      expect(cookie.expires?.toISOString()).toBe(new Date(START + 30 * DAY).toISOString());
      expect(cookie.secure).toBeFalsy();
      expect(cookie.domain).toBeUndefined();
      expect(await t.manager.validateSession(cookie.value)).toMatchObject({ username: "Alice" });
    });

    it("answers 409 username_taken, case-insensitively", async () => {
      const t = setUp();
      await post(t.app, "/register").send({ username: "Bob", password: PASSWORD }).expect(201);
      const res = await post(t.app, "/register").send({ username: "bob", password: PASSWORD }).expect(409);
      expect(res.body).toEqual({ error: "username_taken" });
      expect(res.headers["set-cookie"]).toBeUndefined();
    });

    it("answers 400 invalid_username and invalid_password", async () => {
      const t = setUp();
      expect((await post(t.app, "/register").send({ username: "   ", password: PASSWORD }).expect(400)).body).toEqual({
        error: "invalid_username",
      });
      expect((await post(t.app, "/register").send({ username: "carol", password: "short" }).expect(400)).body).toEqual({
        error: "invalid_password",
      });
    });

    it("accepts a form body", async () => {
      const t = setUp();
      const res = await post(t.app, "/register").type("form").send({ username: "dora", password: PASSWORD }).expect(201);
      expect(res.body.user.username).toBe("dora");
    });

    it("revokes a session cookie already present", async () => {
      const t = setUp();
      const first = await registered(t);
      const res = await post(t.app, "/register")
        .set("Cookie", first.cookie)
        .send({ username: uniqueName(), password: PASSWORD })
        .expect(201);
      expect(sessionCookie(res).value).not.toBe(first.token);
      expect(await t.manager.validateSession(first.token)).toBeNull();
    });

    it("redirects with 303 for forms, on success and on failure", async () => {
      const t = setUp();
      const ok = await post(t.app, "/form/register").type("form").send({ username: "erin", password: PASSWORD }).expect(303);
      expect(ok.headers["location"]).toBe("/home");
      expect(sessionCookie(ok).value).toMatch(/^[A-Za-z0-9_-]{32}$/);
      const taken = await post(t.app, "/form/register").type("form").send({ username: "erin", password: PASSWORD }).expect(303);
      expect(taken.headers["location"]).toBe("/sign-in?error=username_taken");
    });
  });

  describe("loginHandler", () => {
    it("answers 200 with the user and a fresh cookie that authenticates", async () => {
      const t = setUp();
      const { username } = await registered(t);
      const res = await post(t.app, "/login").set("User-Agent", "suite-agent").send({ username, password: PASSWORD }).expect(200);
      expect(res.body).toEqual({
        user: { id: expect.any(Number), username, createdAt: new Date(START).toISOString(), email: null, emailVerified: false },
      });
      const cookie = sessionCookie(res);
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: "lax", path: "/", maxAge: 30 * 86400 });
      const me = await get(t.app, "/me").set("Cookie", `session=${cookie.value}`).expect(200);
      expect(me.body.username).toBe(username);
      const sessions = await t.manager.listSessions(res.body.user.id);
      expect(sessions.find((session) => session.id === me.body.sessionId)).toMatchObject({
        userAgent: "suite-agent",
        ip: expect.any(String),
      });
    });

    it("answers the same 401 for an unknown user and a wrong password", async () => {
      const t = setUp();
      const { username } = await registered(t);
      const wrong = await post(t.app, "/login").send({ username, password: "wrong password" }).expect(401);
      const unknown = await post(t.app, "/login").send({ username: uniqueName(), password: PASSWORD }).expect(401);
      expect(wrong.body).toEqual({ error: "invalid_credentials" });
      expect(unknown.body).toEqual(wrong.body);
      expect(wrong.headers["set-cookie"]).toBeUndefined();
      expect(unknown.headers["set-cookie"]).toBeUndefined();
    });

    describe("two-factor authentication", () => {
      async function withTotp(t: TestApp) {
        const { username, cookie } = await registered(t);
        const user = (await t.manager.getUser(username))!;
        const { secret } = await t.manager.beginTotpSetup(user.id);
        const recoveryCodes = (await t.manager.confirmTotpSetup(user.id, appCode(secret, t.clock.now())))!;
        expect(recoveryCodes).toHaveLength(10);
        // The enrolment's step is used: the sign-ins below take the next one.
        t.clock.advance(30_000);
        return { username, cookie, user, secret, recoveryCodes };
      }
      const totpSetUp = () => setUp({ managerOptions: { totp: { issuer: "Example App", secretKey: randomBytes(32) } } });
      const pendingCookie = (res: request.Response) => cookiesSet(res, "session-2fa")[0];

      it("answers a right password with twoFactorRequired and a pending cookie, no session, the old cookie cleared", async () => {
        const t = totpSetUp();
        const { username, cookie, user } = await withTotp(t);
        const res = await post(t.app, "/login").set("Cookie", cookie).send({ username, password: PASSWORD }).expect(200);
        expect(res.body).toEqual({ twoFactorRequired: true });
        expect(res.headers["cache-control"]).toBe("no-store");
        expect(sessionCookie(res).value).toBe("");
        expect(pendingCookie(res)).toMatchObject({ httpOnly: true, sameSite: "lax", path: "/", maxAge: 300 });
        // Only the sign-up's session, which the login revoked.
        expect(await t.manager.listSessions(user.id)).toEqual([]);
      });

      it("signs in with the app's code against the pending cookie, once: the cookie set, the pending one cleared", async () => {
        const t = totpSetUp();
        const { username, secret, user } = await withTotp(t);
        const login = await post(t.app, "/login").send({ username, password: PASSWORD }).expect(200);
        const pending = `session-2fa=${pendingCookie(login)!.value}`;
        const right = appCode(secret, t.clock.now());
        const wrong = await post(t.app, "/two-factor")
          .set("Cookie", pending)
          .send({ code: right === "000000" ? "111111" : "000000" });
        expect(wrong.status).toBe(401);
        expect(wrong.body).toEqual({ error: "invalid_code" });
        const res = await post(t.app, "/two-factor")
          .set("Cookie", pending)
          .send({ code: appCode(secret, t.clock.now()) })
          .expect(200);
        expect(res.body.user).toMatchObject({ username });
        expect(pendingCookie(res)?.value).toBe("");
        const me = await get(t.app, "/me")
          .set("Cookie", `session=${sessionCookie(res).value}`)
          .expect(200);
        expect(me.body.username).toBe(username);
        // The pending sign-in is used up, and the code's step too.
        await post(t.app, "/two-factor")
          .set("Cookie", pending)
          .send({ code: appCode(secret, t.clock.now()) })
          .expect(401);
        // The sign-up's session and this one.
        expect(await t.manager.listSessions(user.id)).toHaveLength(2);
      });

      it("gives one session to the same code sent twice at once", async () => {
        const t = totpSetUp();
        const { username, secret, user } = await withTotp(t);
        const login = await post(t.app, "/login").send({ username, password: PASSWORD }).expect(200);
        const pending = `session-2fa=${pendingCookie(login)!.value}`;
        const code = appCode(secret, t.clock.now());
        const answers = await Promise.all([1, 2].map(() => post(t.app, "/two-factor").set("Cookie", pending).send({ code })));
        expect(answers.map((res) => res.status).sort()).toEqual([200, 401]);
        // The sign-up's session and this one.
        expect(await t.manager.listSessions(user.id)).toHaveLength(2);
      });

      it("signs in with a recovery code once, in a form that redirects", async () => {
        const t = totpSetUp();
        const { username, recoveryCodes, user } = await withTotp(t);
        const login = await post(t.app, "/form/login").type("form").send({ username, password: PASSWORD }).expect(303);
        expect(login.headers.location).toBe("/code");
        const pending = `session-2fa=${pendingCookie(login)!.value}`;
        const res = await post(t.app, "/form/two-factor").set("Cookie", pending).type("form").send({ code: recoveryCodes[0] }).expect(303);
        expect(res.headers.location).toBe("/home");
        expect(sessionCookie(res).value).not.toBe("");
        const again = await post(t.app, "/form/login").type("form").send({ username, password: PASSWORD }).expect(303);
        const refused = await post(t.app, "/form/two-factor")
          .set("Cookie", `session-2fa=${pendingCookie(again)!.value}`)
          .type("form")
          .send({ code: recoveryCodes[0] })
          .expect(303);
        expect(refused.headers.location).toBe("/code?error=invalid_code");
        // The sign-up's session and this one.
        expect(await t.manager.listSessions(user.id)).toHaveLength(2);
      });

      it("refuses a code without a pending cookie, a session cookie as the pending one, and another site's form", async () => {
        const t = totpSetUp();
        const { username, secret, cookie } = await withTotp(t);
        const code = appCode(secret, t.clock.now());
        await post(t.app, "/two-factor").send({ code }).expect(401);
        await post(t.app, "/two-factor")
          .set("Cookie", `session-2fa=${cookie.split("=")[1]}`)
          .send({ code })
          .expect(401);
        const login = await post(t.app, "/login").send({ username, password: PASSWORD }).expect(200);
        await post(t.app, "/two-factor")
          .set("Origin", "https://evil.example")
          .set("Cookie", `session-2fa=${pendingCookie(login)!.value}`)
          .send({ code })
          .expect(403);
      });
    });

    it("accepts a form body with a charset", async () => {
      const t = setUp();
      const { username } = await registered(t);
      const body = new URLSearchParams({ username, password: PASSWORD }).toString();
      const res = await post(t.app, "/login")
        .set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
        .send(body)
        .expect(200);
      expect(res.body.user.username).toBe(username);
    });

    it.each([
      ["malformed JSON", "application/json", '{"username":'],
      ["a JSON array", "application/json", "[1,2]"],
      ["a number for the password", "application/json", '{"username":"a","password":12345678}'],
      ["a missing password", "application/json", '{"username":"a"}'],
      ["another content type", "text/plain", "username=a&password=b"],
      ["a repeated form field", "application/x-www-form-urlencoded", "username=a&username=b&password=correct+horse"],
      ["invalid UTF-8", "application/json", Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
    ])("answers 400 invalid_request for %s", async (_, type, body) => {
      const t = setUp();
      const res = await post(t.app, "/login").set("Content-Type", type).send(body).expect(400);
      expect(res.body).toEqual({ error: "invalid_request" });
    });

    it("answers 400 invalid_request without a body", async () => {
      const t = setUp();
      expect((await post(t.app, "/login").expect(400)).body).toEqual({ error: "invalid_request" });
    });

    it("reads a body up to 16 KiB and refuses a larger one with 413", async () => {
      const t = setUp();
      const { username } = await registered(t);
      const fits = JSON.stringify({ username, password: "wrong password", pad: "x".repeat(16 * 1024 - 200) });
      expect(Buffer.byteLength(fits)).toBeLessThanOrEqual(16 * 1024);
      await post(t.app, "/login").type("json").send(fits).expect(401);
      const large = JSON.stringify({ username, password: PASSWORD, pad: "x".repeat(16 * 1024) });
      const res = await post(t.app, "/login").type("json").send(large).expect(413);
      expect(res.headers["set-cookie"]).toBeUndefined();
      await post(t.app, "/register")
        .type("form")
        .send(`username=a&password=${"p".repeat(17 * 1024)}`)
        .expect(413);
    });

    it("answers 429 too_many_attempts with Retry-After once throttled", async () => {
      const t = setUp({ managerOptions: { throttle: { maxFailures: 2, baseLockoutSeconds: 30 } } });
      const { username } = await registered(t);
      await post(t.app, "/login").send({ username, password: "wrong password" }).expect(401);
      await post(t.app, "/login").send({ username, password: "wrong password" }).expect(401);
      const res = await post(t.app, "/login").send({ username, password: PASSWORD }).expect(429);
      expect(res.body).toEqual({ error: "too_many_attempts" });
      expect(res.headers["retry-after"]).toBe("30");
    });

    it("answers at most maxFailures of 40 parallel wrong logins with 401 and the rest with 429, then refuses the right password", async () => {
      // A queue long enough for the whole burst: the throttle, not the queue, must stop it.
      const t = setUp({ managerOptions: { password: { ...FAST_PASSWORDS, queueLimit: 1000 } } });
      const { username } = await registered(t);
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) => post(t.app, "/login").send({ username, password: `wrong guess ${i}` })),
      );
      const statuses = answers.map((res) => res.status).sort();
      expect(statuses.filter((status) => status === 401)).toHaveLength(10);
      expect(statuses.filter((status) => status === 429)).toHaveLength(30);
      for (const res of answers) if (res.status === 429) expect(Number(res.headers["retry-after"])).toBeGreaterThan(0);
      await post(t.app, "/login").send({ username, password: PASSWORD }).expect(429);
    });

    it("revokes the session cookie already on the request (no fixation)", async () => {
      const t = setUp();
      const { username, cookie, token } = await registered(t);
      const res = await post(t.app, "/login").set("Cookie", cookie).send({ username, password: PASSWORD }).expect(200);
      const fresh = cookiesSet(res).at(-1)!;
      expect(fresh.value).not.toBe(token);
      await get(t.app, "/me").set("Cookie", cookie).expect(401);
      await get(t.app, "/me").set("Cookie", `session=${fresh.value}`).expect(200);
    });

    it("revokes and clears the present cookie even when the login fails", async () => {
      const t = setUp();
      const { username, cookie, token } = await registered(t);
      const res = await post(t.app, "/login").set("Cookie", cookie).send({ username, password: "wrong password" }).expect(401);
      expect(cookiesSet(res).at(-1)).toMatchObject({ value: "", maxAge: 0 });
      expect(await t.manager.validateSession(token)).toBeNull();
    });

    it("redirects with 303 for forms, on success and on failure", async () => {
      const t = setUp();
      const { username } = await registered(t);
      const ok = await post(t.app, "/form/login").type("form").send({ username, password: PASSWORD }).expect(303);
      expect(ok.headers["location"]).toBe("/home");
      expect(sessionCookie(ok).value).toMatch(/^[A-Za-z0-9_-]{32}$/);
      const bad = await post(t.app, "/form/login").type("form").send({ username, password: "wrong password" }).expect(303);
      expect(bad.headers["location"]).toBe("/sign-in?error=invalid_credentials");
    });

    if (harness.hasBodyParser) {
      it("uses a JSON or form body the framework has already parsed", async () => {
        const t = setUp({ frameworkBodyParser: true });
        const { username } = await registered(t);
        await post(t.app, "/login").send({ username, password: PASSWORD }).expect(200);
        await post(t.app, "/login").type("form").send({ username, password: PASSWORD }).expect(200);
        await post(t.app, "/login")
          .send({ username, password: ["x"] })
          .expect(400);
      });
    }
  });

  describe("logoutHandler", () => {
    it("revokes the session and clears the cookie with 204", async () => {
      const t = setUp();
      const { cookie, token } = await registered(t);
      const res = await post(t.app, "/logout").set("Cookie", cookie).expect(204);
      expect(res.text).toBe("");
      expect(cookiesSet(res).at(-1)).toMatchObject({ value: "", maxAge: 0, path: "/", httpOnly: true, sameSite: "lax" });
      expect(cookiesSet(res).at(-1)?.expires?.getTime()).toBe(0);
      expect(await t.manager.validateSession(token)).toBeNull();
      await get(t.app, "/me").set("Cookie", cookie).expect(401);
    });

    it("answers 204 without a session too", async () => {
      const t = setUp();
      await post(t.app, "/logout").expect(204);
    });

    it("redirects with 303 for forms", async () => {
      const t = setUp();
      const { cookie } = await registered(t);
      const res = await post(t.app, "/form/logout").set("Cookie", cookie).expect(303);
      expect(res.headers["location"]).toBe("/sign-in");
      expect(cookiesSet(res).at(-1)).toMatchObject({ value: "", maxAge: 0 });
    });
  });

  describe("sessionMiddleware and requireUser", () => {
    it("leaves anonymous requests anonymous, without touching cookies", async () => {
      const t = setUp();
      const res = await get(t.app, "/whoami").set("Cookie", "theme=dark").expect(200);
      expect(res.body).toEqual({ username: null });
      expect(res.headers["set-cookie"]).toBeUndefined();
    });

    it("answers 401 unauthorized, or 303 to redirectTo, without a user", async () => {
      const t = setUp();
      expect((await get(t.app, "/me").expect(401)).body).toEqual({ error: "unauthorized" });
      expect((await get(t.app, "/page").expect(303)).headers["location"]).toBe("/sign-in");
    });

    it("lets a signed-in user through and sets no cookie when nothing changed", async () => {
      const t = setUp();
      const { username, cookie } = await registered(t);
      const res = await get(t.app, "/page").set("Cookie", cookie).expect(200);
      expect(res.text).toBe("page");
      expect(res.headers["set-cookie"]).toBeUndefined();
      expect((await get(t.app, "/whoami").set("Cookie", cookie).expect(200)).body).toEqual({ username });
    });

    it.each([
      ["garbage", "session=garbage"],
      ["a well-formed unknown token", `session=${"A".repeat(32)}`],
      ["bad percent-encoding", "session=%E0%A4%A; other=1"],
      ["an empty value", "session="],
    ])("treats %s as anonymous and clears the cookie", async (_, header) => {
      const t = setUp();
      const res = await get(t.app, "/whoami").set("Cookie", header).expect(200);
      expect(res.body).toEqual({ username: null });
      expect(sessionCookie(res)).toMatchObject({ value: "", maxAge: 0, path: "/" });
    });

    it("renews the session past half its life and sets the cookie again", async () => {
      const t = setUp();
      const { cookie, token } = await registered(t);
      t.clock.advanceDays(10);
      expect((await get(t.app, "/me").set("Cookie", cookie).expect(200)).headers["set-cookie"]).toBeUndefined();
      t.clock.advanceDays(6);
      const renewed = await get(t.app, "/me").set("Cookie", cookie).expect(200);
      const set = sessionCookie(renewed);
      expect(set).toMatchObject({ value: token, maxAge: 30 * 86400, httpOnly: true, sameSite: "lax", path: "/" });
      expect(set.expires?.toISOString()).toBe(new Date(START + 46 * DAY).toISOString());
      expect((await get(t.app, "/me").set("Cookie", cookie).expect(200)).headers["set-cookie"]).toBeUndefined();
    });

    it("clears the cookie of an expired session", async () => {
      const t = setUp();
      const { cookie } = await registered(t);
      t.clock.advanceDays(31);
      const res = await get(t.app, "/me").set("Cookie", cookie).expect(401);
      expect(sessionCookie(res)).toMatchObject({ value: "", maxAge: 0 });
    });

    it("never gives the cookie a lifetime past 400 days", async () => {
      const t = setUp({ managerOptions: { sessionDurationDays: 1000 } });
      const cookie = sessionCookie(await post(t.app, "/register").send({ username: uniqueName(), password: PASSWORD }).expect(201));
      expect(cookie.maxAge).toBe(400 * 86400);
      expect(cookie.expires?.toISOString()).toBe(new Date(START + 400 * DAY).toISOString());
    });

    it("marks the cookie Secure on HTTPS as the framework sees it behind a trusted proxy", async () => {
      const t = setUp({ trustProxy: true });
      const res = await post(t.app, "/register")
        .set("X-Forwarded-Proto", "https")
        .send({ username: uniqueName(), password: PASSWORD })
        .expect(201);
      expect(sessionCookie(res).secure).toBe(true);
      const cleared = await get(t.app, "/whoami").set("X-Forwarded-Proto", "https").set("Cookie", "session=garbage").expect(200);
      expect(sessionCookie(cleared).secure).toBe(true);
      const plain = await post(t.app, "/register").send({ username: uniqueName(), password: PASSWORD }).expect(201);
      expect(sessionCookie(plain).secure).toBeFalsy();
    });

    it("ignores X-Forwarded-Proto when the proxy is not trusted", async () => {
      const t = setUp();
      const res = await post(t.app, "/register")
        .set("X-Forwarded-Proto", "https")
        .send({ username: uniqueName(), password: PASSWORD })
        .expect(201);
      expect(sessionCookie(res).secure).toBeFalsy();
    });

    it("applies the cookie options", async () => {
      const t = setUp({ options: { cookieName: "sid", cookie: { secure: true, sameSite: "strict", path: "/", domain: "app.test" } } });
      const res = await post(t.app, "/register").send({ username: uniqueName(), password: PASSWORD }).expect(201);
      const cookie = sessionCookie(res, "sid");
      expect(cookie).toMatchObject({ secure: true, sameSite: "strict", domain: "app.test", httpOnly: true });
      await get(t.app, "/me").set("Cookie", `sid=${cookie.value}`).expect(200);
      await get(t.app, "/me").set("Cookie", `session=${cookie.value}`).expect(401);
    });

    it("throws at creation for bad options", () => {
      const manager = setUp().manager;
      const make = (options: AppSetup["options"]) => () =>
        harness.createApp({ manager, options, trustProxy: false, frameworkBodyParser: false });
      expect(make({ trustedOrigins: ["https://example.com/path"] })).toThrow(InvalidOptionsError);
      expect(make({ trustedOrigins: ["example.com"] })).toThrow(InvalidOptionsError);
      expect(make({ cookieName: "bad name" })).toThrow(InvalidOptionsError);
      expect(make({ cookie: { sameSite: "none", secure: false } })).toThrow(InvalidOptionsError);
      expect(make({ cookieName: "__Host-session", cookie: { domain: "example.com" } })).toThrow(InvalidOptionsError);
      expect(make({ trustedOrigins: ["https://example.com", "http://localhost:8080"] })).not.toThrow();
    });

    it("refuses at creation the prefixed cookie settings browsers would drop", () => {
      const manager = setUp().manager;
      const make = (options: AppSetup["options"]) => () =>
        harness.createApp({ manager, options, trustProxy: false, frameworkBodyParser: false });
      expect(make({ cookieName: "__Host-session", cookie: { path: "/app" } })).toThrow(InvalidOptionsError);
      expect(make({ cookieName: "__host-session", cookie: { domain: "example.com" } })).toThrow(InvalidOptionsError);
      expect(make({ cookieName: "__Host-session", cookie: { secure: false } })).toThrow(InvalidOptionsError);
      expect(make({ cookieName: "__Secure-session", cookie: { secure: false } })).toThrow(InvalidOptionsError);
      expect(make({ cookieName: "__Secure-session", cookie: { domain: "example.com", path: "/app" } })).not.toThrow();
    });

    it.each(["__Host-session", "__Secure-session"])("always marks a %s cookie Secure, also over plain HTTP", async (name) => {
      const t = setUp({ options: { cookieName: name } });
      const res = await post(t.app, "/register").send({ username: uniqueName(), password: PASSWORD }).expect(201);
      const cookie = sessionCookie(res, name);
      expect(cookie).toMatchObject({ secure: true, httpOnly: true, path: "/", sameSite: "lax" });
      expect(cookie.domain).toBeUndefined();
      const cleared = await get(t.app, "/whoami").set("Cookie", `${name}=garbage`).expect(200);
      expect(sessionCookie(cleared, name)).toMatchObject({ value: "", secure: true });
      const out = await post(t.app, "/logout").set("Cookie", `${name}=${cookie.value}`).expect(204);
      expect(sessionCookie(out, name)).toMatchObject({ value: "", secure: true, path: "/" });
    });
  });

  describe("several cookies of the session's name", () => {
    it.each([
      ["garbage", "garbage"],
      ["a well-formed unknown token", "A".repeat(32)],
    ])("uses the valid one after %s, in either order, and keeps its cookie", async (_, planted) => {
      const t = setUp();
      const { username, token } = await registered(t);
      for (const header of [
        `session=${planted}; session=${token}`,
        `session=${token}; session=${planted}`,
        `theme=dark; session=${planted};session=${token}`,
      ]) {
        const res = await get(t.app, "/me").set("Cookie", header).expect(200);
        expect(res.body.username).toBe(username);
        expect(res.headers["set-cookie"]).toBeUndefined();
      }
      expect(await t.manager.validateSession(token)).toMatchObject({ username });
    });

    it("renews the valid one and clears nothing", async () => {
      const t = setUp();
      const { token } = await registered(t);
      t.clock.advanceDays(16);
      const res = await get(t.app, "/me").set("Cookie", `session=garbage; session=${token}`).expect(200);
      expect(sessionCookie(res)).toMatchObject({ value: token, maxAge: 30 * 86400 });
    });

    it("clears the cookie when no value is valid", async () => {
      const t = setUp();
      const res = await get(t.app, "/whoami")
        .set("Cookie", `session=garbage; session=${"A".repeat(32)}`)
        .expect(200);
      expect(res.body).toEqual({ username: null });
      expect(sessionCookie(res)).toMatchObject({ value: "", maxAge: 0 });
    });

    it(`tries at most ${MAX_COOKIE_VALUES} values`, async () => {
      const t = setUp();
      const { token } = await registered(t);
      const planted = Array.from({ length: MAX_COOKIE_VALUES }, (_, i) => `session=${"A".repeat(31)}${i}`);
      await get(t.app, "/me")
        .set("Cookie", [...planted, `session=${token}`].join("; "))
        .expect(401);
      await get(t.app, "/me")
        .set("Cookie", [...planted.slice(1), `session=${token}`].join("; "))
        .expect(200);
      expect(await t.manager.validateSession(token)).not.toBeNull();
    });

    it("logout revokes every value, and login revokes every value already present", async () => {
      const t = setUp();
      const first = await registered(t);
      const second = await registered(t);
      await post(t.app, "/logout").set("Cookie", `session=garbage; ${first.cookie}; ${second.cookie}`).expect(204);
      expect(await t.manager.validateSession(first.token)).toBeNull();
      expect(await t.manager.validateSession(second.token)).toBeNull();
      const third = await registered(t);
      const res = await post(t.app, "/login")
        .set("Cookie", `session=garbage; ${third.cookie}`)
        .send({ username: third.username, password: PASSWORD })
        .expect(200);
      expect(cookiesSet(res).at(-1)?.value).not.toBe(third.token);
      expect(await t.manager.validateSession(third.token)).toBeNull();
    });
  });

  describe("hashing lane full", () => {
    it("answers login and register 503 service_busy with Retry-After, or 303 for forms", async () => {
      const t = setUp();
      const { username } = await registered(t);
      // The handler signs in through the manager's internal signIn, which login() wraps.
      jest.spyOn(t.manager as unknown as Record<typeof signIn, () => Promise<unknown>>, signIn).mockRejectedValue(new ServiceBusyError(7));
      jest.spyOn(t.manager, "createUser").mockRejectedValue(new ServiceBusyError(3));
      const login = await post(t.app, "/login").send({ username, password: PASSWORD }).expect(503);
      expect(login.body).toEqual({ error: "service_busy" });
      expect(login.headers["retry-after"]).toBe("7");
      expect(login.headers["set-cookie"]).toBeUndefined();
      const register = await post(t.app, "/register").send({ username: uniqueName(), password: PASSWORD }).expect(503);
      expect(register.body).toEqual({ error: "service_busy" });
      expect(register.headers["retry-after"]).toBe("3");
      const form = await post(t.app, "/form/login").type("form").send({ username, password: PASSWORD }).expect(303);
      // The page can say how long to wait.
      expect(form.headers["location"]).toBe("/sign-in?error=service_busy&retryAfter=7");
      const formRegister = await post(t.app, "/form/register")
        .type("form")
        .send({ username: uniqueName(), password: PASSWORD })
        .expect(303);
      expect(formRegister.headers["location"]).toBe("/sign-in?error=service_busy&retryAfter=3");
    });
  });

  describe("CSRF", () => {
    async function signedIn(options: AppSetup["options"] = {}): Promise<{ app: TestTarget; cookie: string }> {
      const t = setUp({ options });
      return { app: t.app, cookie: (await registered(t)).cookie };
    }

    it.each([
      ["a foreign Origin", { Origin: "https://evil.example" }],
      ["Origin null", { Origin: "null" }],
      ["Origin null from a cross-site page", { Origin: "null", "Sec-Fetch-Site": "cross-site" }],
      ["Origin null from a same-site page", { Origin: "null", "Sec-Fetch-Site": "same-site" }],
      ["a same-host Origin on another port", { Origin: `${SELF}:8080` }],
      ["a foreign Referer without Origin", { Referer: "https://evil.example/page" }],
      ["Sec-Fetch-Site cross-site alone", { "Sec-Fetch-Site": "cross-site" }],
    ])("refuses a state-changing request with the cookie and %s", async (_, headers) => {
      const { app, cookie } = await signedIn();
      for (const method of ["post", "put", "patch", "delete"] as const) {
        const res = await request(app)[method]("/action").set("Host", HOST).set("Cookie", cookie).set(headers).expect(403);
        expect(res.body).toEqual({ error: "forbidden" });
      }
    });

    it.each([
      ["its own Origin", { Origin: SELF }],
      ["its own Referer", { Referer: `${SELF}/form` }],
      ["Sec-Fetch-Site same-origin", { "Sec-Fetch-Site": "same-origin" }],
      // A page of the app under Referrer-Policy: no-referrer posts its forms with Origin: null.
      ["Origin null with Sec-Fetch-Site same-origin", { Origin: "null", "Sec-Fetch-Site": "same-origin" }],
      ["none of the three headers", {}],
      ["a trusted Origin", { Origin: "https://admin.example" }],
      ["a trusted Referer", { Referer: "https://admin.example/x?y" }],
    ])("accepts a state-changing request with the cookie and %s", async (_, headers) => {
      const { app, cookie } = await signedIn({ trustedOrigins: ["https://admin.example"] });
      const res = await post(app, "/action").set("Cookie", cookie).set(headers).expect(200);
      expect(res.body.username).toEqual(expect.any(String));
    });

    it("does not check requests without the session cookie, or safe methods", async () => {
      const { app, cookie } = await signedIn();
      await post(app, "/action").set("Origin", "https://evil.example").expect(200);
      await get(app, "/whoami").set("Cookie", cookie).set("Origin", "https://evil.example").expect(200);
    });

    it.each([
      ["a foreign Origin", { Origin: "https://evil.example" }],
      ["Origin null", { Origin: "null" }],
      ["a foreign Referer without Origin", { Referer: "https://evil.example/page" }],
      ["Sec-Fetch-Site cross-site alone", { "Sec-Fetch-Site": "cross-site" }],
    ])("refuses a sign-in without any cookie from %s (login CSRF)", async (_, headers) => {
      const t = setUp();
      const { username } = await registered(t);
      const fresh = uniqueName();
      for (const path of ["/login", "/form/login"]) {
        const res = await post(t.app, path).set(headers).type("form").send({ username, password: PASSWORD }).expect(403);
        expect(res.body).toEqual({ error: "forbidden" });
        expect(res.headers["set-cookie"]).toBeUndefined();
      }
      for (const path of ["/register", "/form/register"]) {
        const res = await post(t.app, path).set(headers).type("form").send({ username: fresh, password: PASSWORD }).expect(403);
        expect(res.headers["set-cookie"]).toBeUndefined();
      }
      expect(await t.manager.getUser(fresh)).toBeNull();
      // The same sign-ins from the app's own pages, or from a client sending none of the headers, work.
      await post(t.app, "/form/login")
        .set("Origin", SELF)
        .set("Sec-Fetch-Site", "same-origin")
        .type("form")
        .send({ username, password: PASSWORD })
        .expect(303);
      await post(t.app, "/login").send({ username, password: PASSWORD }).expect(200);
      await post(t.app, "/register").set("Referer", `${SELF}/sign-up`).send({ username: fresh, password: PASSWORD }).expect(201);
    });

    it("refuses a cross-site login before reading the body or touching the database", async () => {
      const t = setUp();
      const login = jest.spyOn(t.manager, "login");
      const revoke = jest.spyOn(t.manager, "revokeSession");
      const createUser = jest.spyOn(t.manager, "createUser");
      // A malformed body would be a 400 if it were read.
      await post(t.app, "/login").set("Origin", "https://evil.example").type("json").send('{"username":').expect(403);
      await post(t.app, "/register").set("Sec-Fetch-Site", "cross-site").type("json").send('{"username":').expect(403);
      expect(login).not.toHaveBeenCalled();
      expect(revoke).not.toHaveBeenCalled();
      expect(createUser).not.toHaveBeenCalled();
    });

    it("reports a refusal as a csrf_rejected event, without the cookie", async () => {
      const events: AuthEvent[] = [];
      const t = setUp({ managerOptions: { onEvent: (event) => void events.push(event) } });
      const { cookie, token } = await registered(t);
      events.length = 0;
      await post(t.app, "/action").set("Cookie", cookie).set("Origin", "https://evil.example").set("User-Agent", "evil\tagent").expect(403);
      await post(t.app, "/login").set("Referer", "https://evil.example/page?x=1").send({}).expect(403);
      await post(t.app, "/register").set("Sec-Fetch-Site", "cross-site").send({}).expect(403);
      expect(events).toEqual([
        {
          type: "csrf_rejected",
          at: new Date(START),
          origin: "https://evil.example",
          expectedOrigin: SELF,
          ip: expect.any(String),
          userAgent: "evilagent",
        },
        { type: "csrf_rejected", at: new Date(START), origin: "https://evil.example", expectedOrigin: SELF, ip: expect.any(String) },
        { type: "csrf_rejected", at: new Date(START), origin: "cross-site", expectedOrigin: SELF, ip: expect.any(String) },
      ]);
      expect(JSON.stringify(events)).not.toContain(token);
    });

    it("compares with the origin option behind a proxy the framework does not trust", async () => {
      const PUBLIC = "https://app.example.com";
      const events: AuthEvent[] = [];
      const proxied = (test: request.Test): request.Test => test.set("X-Forwarded-Proto", "https").set("Origin", PUBLIC);
      // Without the option the framework sees http://app.test, so the browser's https origin is foreign.
      const plain = setUp({ managerOptions: { onEvent: (event) => void events.push(event) } });
      const user = await registered(plain);
      await proxied(post(plain.app, "/login")).send({ username: user.username, password: PASSWORD }).expect(403);
      await proxied(post(plain.app, "/logout")).set("Cookie", user.cookie).expect(403);
      expect(events.filter((event) => event.type === "csrf_rejected")).toEqual([
        expect.objectContaining({ origin: PUBLIC, expectedOrigin: SELF }),
        expect.objectContaining({ origin: PUBLIC, expectedOrigin: SELF }),
      ]);
      // With it, the whole flow works through the proxy, and the public origin's scheme makes the cookie Secure.
      const t = setUp({ options: { origin: PUBLIC } });
      const { username } = await registered(t);
      const res = await proxied(post(t.app, "/login")).send({ username, password: PASSWORD }).expect(200);
      const cookie = sessionCookie(res);
      expect(cookie.secure).toBe(true);
      await proxied(post(t.app, "/action")).set("Cookie", `session=${cookie.value}`).expect(200);
      await proxied(post(t.app, "/register")).send({ username: uniqueName(), password: PASSWORD }).expect(201);
      await post(t.app, "/action").set("Cookie", `session=${cookie.value}`).set("Origin", SELF).expect(403);
      const out = await proxied(post(t.app, "/logout")).set("Cookie", `session=${cookie.value}`).expect(204);
      expect(sessionCookie(out)).toMatchObject({ value: "", secure: true });
      expect(await t.manager.validateSession(cookie.value)).toBeNull();
    });

    it("checks the origin option at creation", () => {
      const manager = setUp().manager;
      const make = (origin: string) => () =>
        harness.createApp({ manager, options: { origin }, trustProxy: false, frameworkBodyParser: false });
      for (const bad of [
        "app.example.com",
        "https://app.example.com/",
        "https://app.example.com:443",
        "null",
        "",
        "https://app.example.com/path",
      ]) {
        expect(make(bad)).toThrow(InvalidOptionsError);
      }
      expect(make("https://app.example.com")).not.toThrow();
      expect(make("http://localhost:3000")).not.toThrow();
    });

    it("guards logout and login, and can be turned off", async () => {
      const { app, cookie } = await signedIn();
      await post(app, "/logout").set("Cookie", cookie).set("Origin", "https://evil.example").expect(403);
      await get(app, "/me").set("Cookie", cookie).expect(200);
      const open = await signedIn({ csrf: false });
      await post(open.app, "/action").set("Cookie", open.cookie).set("Origin", "https://evil.example").expect(200);
    });
  });

  describe("registerHandler with an email address", () => {
    it("answers 201 with the address as given, not yet verified, and the manager finds the user by it", async () => {
      const t = setUp();
      const res = await post(t.app, "/register").send({ username: "Fiona", password: PASSWORD, email: " Fiona@Example.com " }).expect(201);
      expect(res.body).toEqual(userJson({ id: res.body.user.id, username: "Fiona" }, "Fiona@Example.com", false));
      expect(sessionCookie(res).value).toMatch(TOKEN);
      expect(await t.manager.getUserByEmail("fiona@EXAMPLE.com")).toMatchObject({ id: res.body.user.id, emailVerified: false });
      const form = await post(t.app, "/register").type("form").send({ username: "gus", password: PASSWORD, email: "gus@example.com" });
      expect(form.status).toBe(201);
      expect(form.body.user).toMatchObject({ username: "gus", email: "gus@example.com", emailVerified: false });
    });

    it("registers without an address when the field is null or a blank form input", async () => {
      const t = setUp();
      const json = await post(t.app, "/register").send({ username: "hal", password: PASSWORD, email: null }).expect(201);
      expect(json.body.user).toMatchObject({ username: "hal", email: null, emailVerified: false });
      const form = await post(t.app, "/register").type("form").send("username=ida&password=correct+horse+battery&email=").expect(201);
      expect(form.body.user).toMatchObject({ username: "ida", email: null, emailVerified: false });
    });

    it("answers 409 email_taken for an address in use, in any case, and creates nobody", async () => {
      const t = setUp();
      await registeredWithEmail(t, "jo@example.com");
      const res = await post(t.app, "/register").send({ username: "jo2", password: PASSWORD, email: "JO@Example.COM" }).expect(409);
      expect(res.body).toEqual({ error: "email_taken" });
      expect(res.headers["set-cookie"]).toBeUndefined();
      expect(await t.manager.getUser("jo2")).toBeNull();
      const form = await post(t.app, "/form/register").type("form").send({ username: "jo3", password: PASSWORD, email: "jo@example.com" });
      expect(form.status).toBe(303);
      expect(form.headers["location"]).toBe("/sign-in?error=email_taken");
    });

    it("answers 400 invalid_email for what cannot be an address, and invalid_request for a field that is not a string", async () => {
      const t = setUp();
      for (const email of ["not-an-address", "a@b@c.example", "two words@example.com", "@example.com", "kai@", "a\u200b@example.com"]) {
        const res = await post(t.app, "/register").send({ username: "kai", password: PASSWORD, email });
        expect({ email, status: res.status, body: res.body }).toEqual({ email, status: 400, body: { error: "invalid_email" } });
        expect(res.headers["set-cookie"]).toBeUndefined();
      }
      const res = await post(t.app, "/register").send({ username: "kai", password: PASSWORD, email: 42 }).expect(400);
      expect(res.body).toEqual({ error: "invalid_request" });
      expect(await t.manager.getUser("kai")).toBeNull();
    });
  });

  describe("passwordResetRequestHandler", () => {
    it("answers 202 accepted with Referrer-Policy alike for a known username, a known email in any case, an unknown identifier and a user without email", async () => {
      const t = setUp();
      const known = await registeredWithEmail(t, "Lou.Park@Example.com");
      const bare = await registered(t);
      const answers: request.Response[] = [];
      for (const identifier of [
        known.username,
        "Lou.Park@Example.com",
        "lou.park@EXAMPLE.COM",
        uniqueName("nobody"),
        "nobody@example.com",
        bare.username,
      ]) {
        answers.push(await post(t.app, "/forgot-password").send({ identifier }));
      }
      const first = answers[0]!;
      expect(first.status).toBe(202);
      expect(first.body).toEqual({ status: "accepted" });
      expect(first.headers["referrer-policy"]).toBe("no-referrer");
      expect(first.headers["set-cookie"]).toBeUndefined();
      const seen = (res: request.Response): object => {
        const { date: _date, ...headers } = res.headers;
        return { status: res.status, text: res.text, headers };
      };
      for (const res of answers) expect(seen(res)).toEqual(seen(first));
      // The three requests naming the account each sent it a link; the others sent nothing.
      await t.mail.received(3);
      await expectNothingElseSent(t, 3);
      expect(t.mail.messages.slice(0, 3).map((message) => message.to)).toEqual(Array(3).fill("Lou.Park@Example.com"));
    });

    it("sends the link to the address stored on the account, not the form typed, with the url built from link", async () => {
      const t = setUp();
      const known = await registeredWithEmail(t, "Mia.Lee@Example.com");
      await post(t.app, "/forgot-password").send({ identifier: "  MIA.LEE@example.COM " }).expect(202);
      const message = linkMessage((await t.mail.received(1))[0]);
      expect(message).toEqual({
        kind: "password_reset",
        to: "Mia.Lee@Example.com",
        user: expect.objectContaining({ id: known.id, username: known.username, email: "Mia.Lee@Example.com", emailVerified: false }),
        token: expect.stringMatching(TOKEN),
        url: `${LINKS.reset}?token=${message.token}`,
        expiresAt: new Date(START + 60 * MINUTE),
      });
      expect(Object.keys(message.user).sort()).toEqual(["createdAt", "email", "emailVerified", "id", "username"]);
      // A client chooses the Host: the link never takes it.
      await post(t.app, "/forgot-password")
        .set("Host", "evil.example")
        .set("X-Forwarded-Host", "evil.example")
        .send({ identifier: known.username })
        .expect(202);
      const second = linkMessage((await t.mail.received(2))[1]);
      expect(second.url).toBe(`${LINKS.reset}?token=${second.token}`);
      expect(second.token).not.toBe(message.token);
    });

    it("sends nothing for an unknown identifier or an account without an address", async () => {
      const t = setUp();
      const bare = await registered(t);
      for (const identifier of [uniqueName("nobody"), "nobody@example.com", bare.username, ""]) {
        await post(t.app, "/forgot-password").send({ identifier }).expect(202);
      }
      await expectNothingElseSent(t, 0);
    });

    it.each([
      ["malformed JSON", "application/json", '{"identifier":'],
      ["an identifier that is not a string", "application/json", '{"identifier":["KNOWN"]}'],
      ["a missing identifier", "application/json", '{"username":"KNOWN"}'],
      ["another content type", "text/plain", "identifier=KNOWN"],
      ["a repeated form field", "application/x-www-form-urlencoded", "identifier=KNOWN&identifier=KNOWN"],
    ])("answers 400 invalid_request with Referrer-Policy for %s, and sends nothing", async (_, type, body) => {
      const t = setUp();
      const known = await registeredWithEmail(t);
      const res = await post(t.app, "/forgot-password").set("Content-Type", type).send(body.replaceAll("KNOWN", known.username));
      expect({ status: res.status, body: res.body }).toEqual({ status: 400, body: { error: "invalid_request" } });
      expect(res.headers["referrer-policy"]).toBe("no-referrer");
      await expectNothingElseSent(t, 0);
    });

    it("accepts a form body", async () => {
      const t = setUp();
      const known = await registeredWithEmail(t);
      await post(t.app, "/forgot-password").type("form").send({ identifier: known.email }).expect(202);
      expect((await t.mail.received(1))[0]).toMatchObject({ kind: "password_reset", to: known.email });
    });

    it("refuses a cross-site request with 403 and sends nothing", async () => {
      const t = setUp();
      const known = await registeredWithEmail(t);
      for (const headers of [{ Origin: "https://evil.example" }, { "Sec-Fetch-Site": "cross-site" }]) {
        const res = await post(t.app, "/forgot-password").set(headers).send({ identifier: known.username }).expect(403);
        expect(res.body).toEqual({ error: "forbidden" });
      }
      await expectNothingElseSent(t, 0);
    });

    it("answers before the lookup and the delivery have finished", async () => {
      const t = setUp();
      const known = await registeredWithEmail(t);
      const lookup = deferred();
      const delivery = deferred();
      const issue = t.manager.createPasswordResetToken.bind(t.manager);
      jest.spyOn(t.manager, "createPasswordResetToken").mockImplementationOnce(async (identifier) => {
        await lookup.promise;
        return issue(identifier);
      });
      t.mail.sendEmail.mockImplementationOnce(() => delivery.promise);
      // Held lookups would hold the answer past the timeout if the handler waited for them.
      await post(t.app, "/forgot-password").send({ identifier: known.username }).timeout(5_000).expect(202);
      expect(t.mail.messages).toHaveLength(0);
      lookup.resolve();
      await t.mail.received(1);
      await post(t.app, "/forgot-password").send({ identifier: known.username }).timeout(5_000).expect(202);
      delivery.resolve();
      await t.mail.received(2);
    });

    it("reports every failed delivery as an email_delivery_failed event without the token, and still answers as usual", async () => {
      const t = setUp();
      const user = await registeredWithEmail(t, "nia@example.com");
      // A throw, then rejections, each quoting the link as a careless mailer's error might.
      t.mail.sendEmail.mockImplementationOnce((message) => {
        throw new Error(`refused ${JSON.stringify(message)}`);
      });
      t.mail.sendEmail.mockImplementation(async (message) => {
        throw new Error(`refused ${JSON.stringify(message)}`);
      });
      const failures = (): AuthEvent[] => t.events.filter((event) => event.type === "email_delivery_failed");
      // One at a time: deliveries run concurrently, so only the order of the requests fixes the order of the events.
      expect((await post(t.app, "/forgot-password").send({ identifier: user.email }).expect(202)).body).toEqual({ status: "accepted" });
      await waitUntil(() => failures().length === 1, "the reset link's failure");
      await post(t.app, "/send-verification").set("Cookie", user.cookie).expect(202);
      await waitUntil(() => failures().length === 2, "the verification link's failure");
      await post(t.app, "/change-email").set("Cookie", user.cookie).send({ email: "nia.new@example.com" }).expect(202);
      await waitUntil(() => failures().length === 3, "the email change link's failure");
      await post(t.app, "/confirm-email")
        .send({ token: linkMessage(t.mail.messages[2]).token })
        .expect(200);
      await waitUntil(() => failures().length === 4, "the notice's failure");
      expect(t.mail.messages.map((message) => message.kind)).toEqual([
        "password_reset",
        "email_verification",
        "email_change",
        "email_changed_notice",
      ]);
      expect(failures().map((event) => event.emailKind)).toEqual([
        "password_reset",
        "email_verification",
        "email_change",
        "email_changed_notice",
      ]);
      for (const event of failures()) expect(event).toMatchObject({ at: new Date(START), reason: expect.any(String) });
      const recorded = JSON.stringify(t.events);
      for (const message of t.mail.messages) if (message.kind !== "email_changed_notice") expect(recorded).not.toContain(message.token);
    });

    it("refuses at creation a handler without sendEmail or whose link is not an absolute http(s) URL", () => {
      const sendEmail = (): void => {};
      const refused: unknown[] = [
        undefined,
        { link: LINKS.reset },
        { sendEmail: "mail@example.com", link: LINKS.reset },
        { sendEmail },
        { sendEmail, link: "/reset-password" },
        { sendEmail, link: "reset-password" },
        { sendEmail, link: "//app.example.com/reset-password" },
        { sendEmail, link: "javascript:alert(1)" },
        { sendEmail, link: "ftp://app.example.com/reset-password" },
        { sendEmail, link: "https://app.example.com/reset-password?token=fixed" },
      ];
      for (const name of ["passwordResetRequestHandler", "emailVerificationRequestHandler", "emailChangeHandler"] as const) {
        const factory = harness.handlers[name];
        for (const options of refused) {
          expect({ name, options, created: attempt(() => factory(options as EmailLinkHandlerOptions)) }).toEqual({
            name,
            options,
            created: "InvalidOptionsError",
          });
        }
        expect(attempt(() => factory({ sendEmail, link: "https://app.example.com/reset-password?lang=en" }))).toBe("created");
        expect(attempt(() => factory({ sendEmail, link: "http://localhost:3000/reset" }))).toBe("created");
      }
      expect(
        attempt(() => harness.handlers.confirmEmailChangeHandler({ sendEmail: "yes" } as unknown as ConfirmEmailChangeHandlerOptions)),
      ).toBe("InvalidOptionsError");
      expect(attempt(() => harness.handlers.confirmEmailChangeHandler())).toBe("created");
      expect(attempt(() => harness.handlers.confirmEmailChangeHandler({ sendEmail }))).toBe("created");
    });
  });

  describe("passwordResetHandler", () => {
    it("sets the new password: 200 with the user, Referrer-Policy, the session cookie cleared, every session revoked, nobody signed in", async () => {
      const t = setUp();
      const user = await registeredWithEmail(t);
      const second = await post(t.app, "/login").send({ username: user.username, password: PASSWORD }).expect(200);
      const secondCookie = `session=${sessionCookie(second).value}`;
      const token = await resetToken(t, user.email);
      const res = await post(t.app, "/reset-password").set("Cookie", user.cookie).send({ token, password: NEW_PASSWORD }).expect(200);
      expect(res.body).toEqual(userJson(user, user.email, true));
      expect(res.headers["referrer-policy"]).toBe("no-referrer");
      expect(sessionCookie(res)).toMatchObject({ value: "", maxAge: 0, path: "/", httpOnly: true });
      await get(t.app, "/me").set("Cookie", user.cookie).expect(401);
      await get(t.app, "/me").set("Cookie", secondCookie).expect(401);
      expect(await t.manager.listSessions(user.id)).toEqual([]);
      await post(t.app, "/login").send({ username: user.username, password: PASSWORD }).expect(401);
      await post(t.app, "/login").send({ username: user.username, password: NEW_PASSWORD }).expect(200);
      expect(t.events.filter((event) => event.type === "password_reset")).toEqual([expect.objectContaining({ userId: user.id })]);
    });

    it("answers 400 invalid_token with Referrer-Policy for a reused, unknown or malformed token, or a session token", async () => {
      const t = setUp();
      const user = await registeredWithEmail(t);
      const token = await resetToken(t, user.username);
      await post(t.app, "/reset-password").send({ token, password: NEW_PASSWORD }).expect(200);
      for (const refused of [token, "A".repeat(32), "garbage", "", user.token]) {
        const res = await post(t.app, "/reset-password").send({ token: refused, password: "yet another passphrase" });
        expect({ token: refused, status: res.status, body: res.body }).toEqual({
          token: refused,
          status: 400,
          body: { error: "invalid_token" },
        });
        expect(res.headers["referrer-policy"]).toBe("no-referrer");
        expect(res.headers["set-cookie"]).toBeUndefined();
      }
      await post(t.app, "/login").send({ username: user.username, password: "yet another passphrase" }).expect(401);
      await post(t.app, "/login").send({ username: user.username, password: NEW_PASSWORD }).expect(200);
    });

    it("answers 400 invalid_password for a password the rules refuse, and the token still works", async () => {
      const t = setUp();
      const user = await registeredWithEmail(t);
      const token = await resetToken(t, user.username);
      for (const password of ["short", "x".repeat(1025)]) {
        const res = await post(t.app, "/reset-password").set("Cookie", user.cookie).send({ token, password });
        expect({ status: res.status, body: res.body }).toEqual({ status: 400, body: { error: "invalid_password" } });
        expect(res.headers["referrer-policy"]).toBe("no-referrer");
      }
      // The refused attempts changed nothing: the old password and session still work.
      await get(t.app, "/me").set("Cookie", user.cookie).expect(200);
      await post(t.app, "/reset-password").send({ token, password: NEW_PASSWORD }).expect(200);
      await post(t.app, "/login").send({ username: user.username, password: NEW_PASSWORD }).expect(200);
    });

    it("never consumes the token on another method than POST: 405 with Referrer-Policy, and the token still works", async () => {
      const t = setUp();
      const user = await registeredWithEmail(t);
      const token = await resetToken(t, user.username);
      const link = new URL(linkMessage(t.mail.messages[0]).url);
      const res = await get(t.app, `${link.pathname}${link.search}`).expect(405);
      expect(res.headers["allow"]).toBe("POST");
      expect(res.headers["referrer-policy"]).toBe("no-referrer");
      expect(res.body).toEqual({ error: "method_not_allowed" });
      await request(t.app).put("/reset-password").set("Host", HOST).send({ token, password: NEW_PASSWORD }).expect(405);
      await post(t.app, "/login").send({ username: user.username, password: PASSWORD }).expect(200);
      await post(t.app, "/reset-password").send({ token, password: NEW_PASSWORD }).expect(200);
    });

    it("refuses a cross-site POST with 403, and the token still works", async () => {
      const t = setUp();
      const user = await registeredWithEmail(t);
      const token = await resetToken(t, user.username);
      for (const headers of [
        { Origin: "https://evil.example" },
        { Referer: "https://evil.example/page" },
        { "Sec-Fetch-Site": "cross-site" },
      ]) {
        const res = await post(t.app, "/reset-password").set(headers).send({ token, password: NEW_PASSWORD });
        expect({ status: res.status, body: res.body }).toEqual({ status: 403, body: { error: "forbidden" } });
        expect(res.headers["referrer-policy"]).toBe("no-referrer");
        expect(res.headers["set-cookie"]).toBeUndefined();
      }
      // With the cookie the middleware refuses it first.
      await post(t.app, "/reset-password")
        .set("Cookie", user.cookie)
        .set("Origin", "https://evil.example")
        .send({ token, password: NEW_PASSWORD })
        .expect(403);
      await post(t.app, "/login").send({ username: user.username, password: PASSWORD }).expect(200);
      await post(t.app, "/reset-password").set("Origin", SELF).send({ token, password: NEW_PASSWORD }).expect(200);
    });

    it("takes a form body and redirects forms with 303, back to the form with the token when the password is refused", async () => {
      const t = setUp();
      const user = await registeredWithEmail(t);
      const token = await resetToken(t, user.username);
      const refused = await post(t.app, "/form/reset-password").type("form").send({ token, password: "short" }).expect(303);
      expect(refused.headers["location"]).toBe(`/choose-password?error=invalid_password&token=${token}`);
      expect(refused.headers["referrer-policy"]).toBe("no-referrer");
      const unknown = await post(t.app, "/form/reset-password")
        .type("form")
        .send({ token: "A".repeat(32), password: NEW_PASSWORD })
        .expect(303);
      expect(unknown.headers["location"]).toBe("/choose-password?error=invalid_token");
      const done = await post(t.app, "/form/reset-password")
        .set("Cookie", user.cookie)
        .type("form")
        .send({ token, password: NEW_PASSWORD })
        .expect(303);
      expect(done.headers["location"]).toBe("/sign-in");
      expect(done.headers["referrer-policy"]).toBe("no-referrer");
      expect(sessionCookie(done)).toMatchObject({ value: "", maxAge: 0 });
      await get(t.app, "/me").set("Cookie", user.cookie).expect(401);
      await post(t.app, "/login").type("form").send({ username: user.username, password: NEW_PASSWORD }).expect(200);
      // The API route reads a form body too.
      const again = await resetToken(t, user.username);
      await post(t.app, "/reset-password").type("form").send({ token: again, password: PASSWORD }).expect(200);
    });

    it("answers 400 invalid_request for a malformed body", async () => {
      const t = setUp();
      for (const [type, body] of [
        ["application/json", '{"token":'],
        ["application/json", '{"token":"x"}'],
        ["application/json", '{"token":1,"password":"correct horse battery"}'],
        ["text/plain", "token=x&password=y"],
      ] as const) {
        const res = await post(t.app, "/reset-password").set("Content-Type", type).send(body);
        expect({ body, status: res.status, json: res.body }).toEqual({ body, status: 400, json: { error: "invalid_request" } });
        expect(res.headers["referrer-policy"]).toBe("no-referrer");
      }
    });

    it("gives exactly one of two concurrent uses of one token a 200", async () => {
      const t = setUp();
      const user = await registeredWithEmail(t);
      const token = await resetToken(t, user.username);
      const passwords = ["first new passphrase", "second new passphrase"];
      const answers = await Promise.all(passwords.map((password) => post(t.app, "/reset-password").send({ token, password })));
      expect(answers.map((res) => res.status).sort()).toEqual([200, 400]);
      const winner = answers.findIndex((res) => res.status === 200);
      expect(answers[1 - winner]!.body).toEqual({ error: "invalid_token" });
      await post(t.app, "/login")
        .send({ username: user.username, password: passwords[1 - winner] })
        .expect(401);
      await post(t.app, "/login").send({ username: user.username, password: passwords[winner] }).expect(200);
    });
  });

  describe("emailVerificationRequestHandler", () => {
    it("sends a signed-in user a link verifying the address: 202", async () => {
      const t = setUp();
      const user = await registeredWithEmail(t, "Ola@Example.com");
      const res = await post(t.app, "/send-verification").set("Cookie", user.cookie).expect(202);
      expect(res.body).toEqual({ status: "accepted" });
      const message = linkMessage((await t.mail.received(1))[0]);
      expect(message).toEqual({
        kind: "email_verification",
        to: "Ola@Example.com",
        user: expect.objectContaining({ id: user.id, username: user.username, email: "Ola@Example.com", emailVerified: false }),
        token: expect.stringMatching(TOKEN),
        url: `${LINKS.verify}?token=${message.token}`,
        expiresAt: new Date(START + 48 * HOUR),
      });
    });

    it("answers 401 when signed out, and sends nothing", async () => {
      const t = setUp();
      const res = await post(t.app, "/send-verification").expect(401);
      expect(res.body).toEqual({ error: "unauthorized" });
      await post(t.app, "/send-verification")
        .set("Cookie", `session=${"A".repeat(32)}`)
        .expect(401);
      await expectNothingElseSent(t, 0);
    });

    it("sends nothing for an account without an address or with a verified one", async () => {
      const t = setUp();
      const bare = await registered(t);
      await post(t.app, "/send-verification").set("Cookie", bare.cookie).expect(202);
      const verified = await registeredWithEmail(t);
      await get(t.app, `/verify-email?token=${await verificationToken(t, verified.cookie)}`).expect(200);
      await post(t.app, "/send-verification").set("Cookie", verified.cookie).expect(202);
      await expectNothingElseSent(t, 1);
    });
  });

  describe("verifyEmailHandler", () => {
    it("verifies the address when the mailed link is followed (GET ?token=): 200 with emailVerified true", async () => {
      const t = setUp();
      const user = await registeredWithEmail(t);
      await verificationToken(t, user.cookie);
      const link = new URL(linkMessage(t.mail.messages[0]).url);
      const res = await get(t.app, `${link.pathname}${link.search}`).expect(200);
      expect(res.body).toEqual(userJson(user, user.email, true));
      expect(res.headers["referrer-policy"]).toBe("no-referrer");
      expect(await t.manager.getUserById(user.id)).toMatchObject({ emailVerified: true });
      expect(t.events.filter((event) => event.type === "email_verified")).toEqual([expect.objectContaining({ userId: user.id })]);
    });

    it("verifies with a POST token, JSON or form", async () => {
      const t = setUp();
      const first = await registeredWithEmail(t);
      const json = await post(t.app, "/verify-email")
        .send({ token: await verificationToken(t, first.cookie) })
        .expect(200);
      expect(json.body).toEqual(userJson(first, first.email, true));
      const second = await registeredWithEmail(t);
      const form = await post(t.app, "/verify-email")
        .type("form")
        .send({ token: await verificationToken(t, second.cookie) })
        .expect(200);
      expect(form.body).toEqual(userJson(second, second.email, true));
    });

    it("answers 400 invalid_token with Referrer-Policy for a missing, garbage or reused token", async () => {
      const t = setUp();
      const user = await registeredWithEmail(t);
      const token = await verificationToken(t, user.cookie);
      await get(t.app, `/verify-email?token=${token}`).expect(200);
      const answers = [
        await get(t.app, "/verify-email"),
        await get(t.app, "/verify-email?token=garbage"),
        await get(t.app, `/verify-email?token=${"A".repeat(32)}`),
        await get(t.app, `/verify-email?token=${token}`),
        await post(t.app, "/verify-email").send({ token }),
        await post(t.app, "/verify-email").send({ token: "garbage" }),
      ];
      for (const res of answers) {
        expect({ status: res.status, body: res.body }).toEqual({ status: 400, body: { error: "invalid_token" } });
        expect(res.headers["referrer-policy"]).toBe("no-referrer");
      }
    });

    it("takes only its own tokens: a reset or session token verifies nothing, a verification token resets nothing, and each stays usable", async () => {
      const t = setUp();
      const user = await registeredWithEmail(t);
      const verification = await verificationToken(t, user.cookie);
      const reset = await resetToken(t, user.username);
      await get(t.app, `/verify-email?token=${reset}`).expect(400);
      await get(t.app, `/verify-email?token=${user.token}`).expect(400);
      await post(t.app, "/reset-password").send({ token: verification, password: NEW_PASSWORD }).expect(400);
      await post(t.app, "/confirm-email").send({ token: verification }).expect(400);
      expect((await get(t.app, `/verify-email?token=${verification}`).expect(200)).body.user.emailVerified).toBe(true);
      await post(t.app, "/reset-password").send({ token: reset, password: NEW_PASSWORD }).expect(200);
    });

    it("redirects with 303 when given redirectTo, on success and on failure", async () => {
      const t = setUp();
      const user = await registeredWithEmail(t);
      const token = await verificationToken(t, user.cookie);
      const ok = await get(t.app, `/form/verify-email?token=${token}`).expect(303);
      expect(ok.headers["location"]).toBe("/home");
      expect(ok.headers["referrer-policy"]).toBe("no-referrer");
      const bad = await get(t.app, `/form/verify-email?token=${token}`).expect(303);
      expect(bad.headers["location"]).toBe("/sign-in?error=invalid_token");
    });

    it("uses the first token of a repeated query parameter", async () => {
      const t = setUp();
      const user = await registeredWithEmail(t);
      const token = await verificationToken(t, user.cookie);
      await get(t.app, `/verify-email?token=garbage&token=${token}`).expect(400);
      await get(t.app, `/verify-email?token=${token}&token=garbage`).expect(200);
    });
  });

  describe("emailChangeHandler", () => {
    it("sends the confirmation link to the new address: 202, and the account keeps its address until confirmed", async () => {
      const t = setUp();
      const user = await registeredWithEmail(t, "pat@example.com");
      const res = await post(t.app, "/change-email").set("Cookie", user.cookie).send({ email: " Pat.New@Example.com " }).expect(202);
      expect(res.body).toEqual({ status: "accepted" });
      const message = linkMessage((await t.mail.received(1))[0]);
      expect(message).toEqual({
        kind: "email_change",
        to: "Pat.New@Example.com",
        user: expect.objectContaining({ id: user.id, email: "pat@example.com" }),
        token: expect.stringMatching(TOKEN),
        url: `${LINKS.confirm}?token=${message.token}`,
        expiresAt: new Date(START + 24 * HOUR),
      });
      expect(await t.manager.getUserById(user.id)).toMatchObject({ email: "pat@example.com" });
      expect(await t.manager.getUserByEmail("pat.new@example.com")).toBeNull();
    });

    it("answers 409 email_taken for another account's address, in any case, and sends nothing", async () => {
      const t = setUp();
      await registeredWithEmail(t, "quinn@example.com");
      const user = await registeredWithEmail(t);
      const res = await post(t.app, "/change-email").set("Cookie", user.cookie).send({ email: "QUINN@example.com" }).expect(409);
      expect(res.body).toEqual({ error: "email_taken" });
      await expectNothingElseSent(t, 0);
    });

    it("answers 400 invalid_email, or invalid_request for a malformed body, and sends nothing", async () => {
      const t = setUp();
      const user = await registeredWithEmail(t);
      for (const email of ["not-an-address", "a@b@c.example", "", "two words@example.com"]) {
        const res = await post(t.app, "/change-email").set("Cookie", user.cookie).send({ email });
        expect({ email, status: res.status, body: res.body }).toEqual({ email, status: 400, body: { error: "invalid_email" } });
      }
      const malformed = await post(t.app, "/change-email").set("Cookie", user.cookie).send({ email: 42 });
      expect({ status: malformed.status, body: malformed.body }).toEqual({ status: 400, body: { error: "invalid_request" } });
      await expectNothingElseSent(t, 0);
    });

    it("answers 401 when signed out, 403 cross-site, and sends nothing", async () => {
      const t = setUp();
      const user = await registeredWithEmail(t);
      const res = await post(t.app, "/change-email").send({ email: "someone@example.com" }).expect(401);
      expect(res.body).toEqual({ error: "unauthorized" });
      await post(t.app, "/change-email")
        .set("Cookie", user.cookie)
        .set("Origin", "https://evil.example")
        .send({ email: "evil@example.com" })
        .expect(403);
      await expectNothingElseSent(t, 0);
      expect(await t.manager.getUserById(user.id)).toMatchObject({ email: user.email });
    });
  });

  describe("confirmEmailChangeHandler", () => {
    it("gives the account the new address, verified: 200, and sends the old address a notice without a token", async () => {
      const t = setUp();
      const user = await registeredWithEmail(t, "Rae@Example.com");
      const token = await emailChangeToken(t, user.cookie, "Rae.New@Example.com");
      const link = new URL(linkMessage(t.mail.messages[0]).url);
      const res = await get(t.app, `${link.pathname}${link.search}`).expect(200);
      expect(res.body).toEqual(userJson(user, "Rae.New@Example.com", true));
      expect(res.headers["referrer-policy"]).toBe("no-referrer");
      const notice = (await t.mail.received(2))[1]!;
      expect(notice).toEqual({
        kind: "email_changed_notice",
        to: "Rae@Example.com",
        user: expect.objectContaining({ id: user.id, email: "Rae.New@Example.com", emailVerified: true }),
        newEmail: "Rae.New@Example.com",
      });
      expect(JSON.stringify(notice)).not.toContain(token);
      expect(await t.manager.getUserByEmail("rae.new@example.com")).toMatchObject({ id: user.id, emailVerified: true });
      expect(await t.manager.getUserByEmail("rae@example.com")).toBeNull();
      // The session was not touched: the user is still signed in.
      await get(t.app, "/me").set("Cookie", user.cookie).expect(200);
    });

    it("confirms with a POST token, and sends no notice without sendEmail", async () => {
      const t = setUp();
      const user = await registeredWithEmail(t, "sam@example.com");
      const token = await emailChangeToken(t, user.cookie, "sam.new@example.com");
      const res = await post(t.app, "/quiet/confirm-email").send({ token }).expect(200);
      expect(res.body).toEqual(userJson(user, "sam.new@example.com", true));
      await expectNothingElseSent(t, 1);
    });

    it("gives an account without an address its first one, with no notice to send", async () => {
      const t = setUp();
      const bare = await registered(t);
      const token = await emailChangeToken(t, bare.cookie, "tia@example.com");
      const res = await post(t.app, "/confirm-email").type("form").send({ token }).expect(200);
      expect(res.body.user).toMatchObject({ username: bare.username, email: "tia@example.com", emailVerified: true });
      await expectNothingElseSent(t, 1);
    });

    it("answers 400 invalid_token for a missing, garbage or reused token, or an address another account took meanwhile", async () => {
      const t = setUp();
      const first = await registeredWithEmail(t);
      const second = await registeredWithEmail(t);
      const firstToken = await emailChangeToken(t, first.cookie, "uma@example.com");
      const secondToken = await emailChangeToken(t, second.cookie, "UMA@example.com");
      await post(t.app, "/confirm-email").send({ token: firstToken }).expect(200);
      const answers = [
        await post(t.app, "/confirm-email").send({ token: secondToken }),
        await post(t.app, "/confirm-email").send({ token: firstToken }),
        await get(t.app, `/confirm-email?token=${firstToken}`),
        await get(t.app, "/confirm-email?token=garbage"),
        await get(t.app, "/confirm-email"),
      ];
      for (const res of answers) {
        expect({ status: res.status, body: res.body }).toEqual({ status: 400, body: { error: "invalid_token" } });
        expect(res.headers["referrer-policy"]).toBe("no-referrer");
      }
      expect(await t.manager.getUserById(second.id)).toMatchObject({ email: second.email });
      // The one notice went to the first account's old address.
      await expectNothingElseSent(t, 3);
      expect(t.mail.messages[2]).toMatchObject({ kind: "email_changed_notice", to: first.email, newEmail: "uma@example.com" });
    });
  });

  describe("database failure", () => {
    it("answers 500, never anonymous, when the database is gone", async () => {
      // A manager owning its connections, so that close() really takes the database away.
      const clock = new TestClock(START);
      const manager = new SessionManager({
        database: fixture.url,
        tablePrefix: DatabaseFixture.prefix(),
        password: FAST_PASSWORDS,
        clock: clock.now,
      });
      const t = { app: harness.createApp({ manager, options: {}, trustProxy: false, frameworkBodyParser: false }), manager, clock };
      const { username, cookie } = await registered(t);
      await manager.close();
      const me = await get(t.app, "/whoami").set("Cookie", cookie);
      expect(me.status).toBe(500);
      await get(t.app, "/me").set("Cookie", cookie).expect(500);
      await post(t.app, "/login").send({ username, password: PASSWORD }).expect(500);
      await post(t.app, "/logout").set("Cookie", cookie).expect(500);
      // A well-formed token has to be looked up: a dead database is a 500, never "invalid_token".
      const token = "A".repeat(32);
      await post(t.app, "/reset-password").send({ token, password: NEW_PASSWORD }).expect(500);
      await get(t.app, `/verify-email?token=${token}`).expect(500);
      await post(t.app, "/confirm-email").send({ token }).expect(500);
      // Without a cookie nothing needs the database, so anonymous is the truth there.
      expect((await get(t.app, "/whoami").expect(200)).body).toEqual({ username: null });
    });

    it("answers 500, never anonymous, when the session lookup fails", async () => {
      const prefix = DatabaseFixture.prefix();
      const t = setUp({ managerOptions: { tablePrefix: prefix } });
      const { cookie } = await registered(t);
      await get(t.app, "/me").set("Cookie", cookie).expect(200);
      await sql`drop table ${sql.table(`${prefix}auth_sessions`)}`.execute(fixture.raw());
      await get(t.app, "/me").set("Cookie", cookie).expect(500);
      expect((await get(t.app, "/whoami").set("Cookie", cookie)).status).toBe(500);
    });
  });
}

function get(app: TestTarget, path: string): request.Test {
  return request(app).get(path).set("Host", HOST);
}

function post(app: TestTarget, path: string): request.Test {
  return request(app).post(path).set("Host", HOST);
}

/** The one session cookie the response sets; fails when there is none or more than one. */
function sessionCookie(res: request.Response, name = "session"): ParsedCookie {
  const cookies = cookiesSet(res, name);
  expect(cookies).toHaveLength(1);
  return cookies[0]!;
}

/** The mail `sendEmail` received, in order. Delivery runs after the answer: tests wait for it. */
class Outbox {
  readonly sendEmail = jest.fn<void | Promise<void>, [EmailMessage]>(() => undefined);

  /** Every message handed to `sendEmail` so far, delivered or refused. */
  get messages(): EmailMessage[] {
    return this.sendEmail.mock.calls.map(([message]) => message);
  }

  /** Waits, with a deadline, until `count` messages were handed over; all of them. */
  async received(count: number): Promise<EmailMessage[]> {
    await waitUntil(() => this.messages.length >= count, `${count} message(s) to sendEmail, got ${this.messages.length}`);
    return this.messages;
  }
}

type LinkMessage = Exclude<EmailMessage, { kind: "email_changed_notice" }>;

/** The message as one that carries a link; fails the test for anything else. */
function linkMessage(message: EmailMessage | undefined): LinkMessage {
  if (message === undefined || message.kind === "email_changed_notice") throw new Error(`not a link message: ${JSON.stringify(message)}`);
  return message;
}

/** Polls `condition` until it holds, failing past the deadline: never a sleep that hopes. */
async function waitUntil(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A promise the test settles by hand. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((settle) => (resolve = settle));
  return { promise, resolve };
}

/** "created", or the name of the error class the call threw. */
function attempt(create: () => unknown): string {
  try {
    create();
    return "created";
  } catch (error) {
    return error instanceof InvalidOptionsError ? "InvalidOptionsError" : String(error);
  }
}
