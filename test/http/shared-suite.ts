import type { RequestListener } from "node:http";
import request from "supertest";
import { sql } from "kysely";
import {
  InvalidOptionsError,
  ServiceBusyError,
  SessionManager,
  type AuthEvent,
  type SessionManagerOptions,
  type SessionMiddlewareOptions,
} from "session-manager";
import { getDefaultManager, MAX_COOKIE_VALUES } from "../../src/http/index.js";
import { signIn } from "../../src/internal.js";
import { DatabaseFixture, FAST_PASSWORDS, TestClock, describeEachDatabase, uniqueName } from "../setup/databases.js";
import { HOST, SELF, cookiesSet, type ParsedCookie } from "../setup/http.js";

/** What a harness builds the app from. */
export interface AppSetup {
  /** Undefined: `sessionMiddleware()` with its default manager. */
  manager: SessionManager | undefined;
  options: Omit<SessionMiddlewareOptions, "manager">;
  /** Trust X-Forwarded-Proto the way the framework does behind a proxy. */
  trustProxy: boolean;
  /** Run the framework's own JSON and form body parsers before the handlers. */
  frameworkBodyParser: boolean;
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
 */
export interface AdapterHarness {
  name: string;
  createApp(setup: AppSetup): RequestListener;
  /** True when `frameworkBodyParser` installs a real parser of the framework. */
  hasBodyParser: boolean;
}

const START = Date.UTC(2026, 0, 1);
const DAY = 24 * 60 * 60 * 1000;
const PASSWORD = "correct horse battery";

/**
 * The HTTP behaviour every adapter must have, on three database rows, each reaching the
 * middleware by another path: sqlite-memory runs on the caller's Kysely instance (validation
 * always awaited), sqlite-file on the library's own connection (the middleware mostly validates
 * synchronously), PostgreSQL on a server through a connection pool (every query a network round
 * trip). MySQL takes the PostgreSQL path and is the slowest row (about 15 s per adapter): its
 * SQL is left to the core, multi-process, concurrency and outage suites, which run on it.
 */
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

  describeEachDatabase(`${harness.name} adapter`, (fixture) => defineTests(harness, fixture), { except: ["mysql"] });
}

interface TestApp {
  app: RequestListener;
  manager: SessionManager;
  clock: TestClock;
}

function defineTests(harness: AdapterHarness, fixture: DatabaseFixture): void {
  function setUp(setup: Partial<AppSetup> & { managerOptions?: SessionManagerOptions } = {}): TestApp {
    const clock = new TestClock(START);
    const manager = fixture.manager({ tablePrefix: DatabaseFixture.prefix(), clock: clock.now, ...setup.managerOptions });
    const app = harness.createApp({ manager, options: {}, trustProxy: false, frameworkBodyParser: false, ...setup });
    return { app, manager, clock };
  }

  async function registered(t: TestApp, username = uniqueName()): Promise<{ username: string; cookie: string; token: string }> {
    const res = await post(t.app, "/register").send({ username, password: PASSWORD }).expect(201);
    const cookie = sessionCookie(res);
    return { username, cookie: `session=${cookie.value}`, token: cookie.value };
  }

  describe("registerHandler", () => {
    it("creates the user, answers 201 with the user and sets a secure-by-default cookie", async () => {
      const t = setUp();
      const res = await post(t.app, "/register").send({ username: "Alice", password: PASSWORD }).expect(201);
      expect(res.body).toEqual({ user: { id: expect.any(Number), username: "Alice", createdAt: new Date(START).toISOString() } });
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
      expect(res.body).toEqual({ user: { id: expect.any(Number), username, createdAt: new Date(START).toISOString() } });
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
      expect(form.headers["location"]).toBe("/sign-in?error=service_busy");
      const formRegister = await post(t.app, "/form/register")
        .type("form")
        .send({ username: uniqueName(), password: PASSWORD })
        .expect(303);
      expect(formRegister.headers["location"]).toBe("/sign-in?error=service_busy");
    });
  });

  describe("CSRF", () => {
    async function signedIn(options: AppSetup["options"] = {}): Promise<{ app: RequestListener; cookie: string }> {
      const t = setUp({ options });
      return { app: t.app, cookie: (await registered(t)).cookie };
    }

    it.each([
      ["a foreign Origin", { Origin: "https://evil.example" }],
      ["Origin null", { Origin: "null" }],
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

function get(app: RequestListener, path: string): request.Test {
  return request(app).get(path).set("Host", HOST);
}

function post(app: RequestListener, path: string): request.Test {
  return request(app).post(path).set("Host", HOST);
}

/** The one session cookie the response sets; fails when there is none or more than one. */
function sessionCookie(res: request.Response, name = "session"): ParsedCookie {
  const cookies = cookiesSet(res, name);
  expect(cookies).toHaveLength(1);
  return cookies[0]!;
}
