import { randomBytes } from "node:crypto";
import type { RequestListener } from "node:http";
import request from "supertest";
import express from "express";
import Koa from "koa";
import { Hono } from "hono";
import { getRequestListener } from "@hono/node-server";
import { InvalidOptionsError, type EmailMessage, type SessionManager } from "session-manager";
import * as expressAdapter from "session-manager/express";
import * as honoAdapter from "session-manager/hono";
import * as koaAdapter from "session-manager/koa";
import { DatabaseFixture, TestClock, describeEachDatabase, uniqueName } from "../setup/databases.js";
import { cookiesSet } from "../setup/http.js";
import { appCode } from "../setup/totp.js";
import { ACCOUNT_APPS, type AccountAppFactory, type AccountAppSetup } from "./account-apps.js";
import { HTTP_SUITE_EXCEPT } from "./shared-suite.js";

const PASSWORD = "correct horse battery";
const TOTP = { issuer: "Example App", secretKey: randomBytes(32) };
const NEW_PASSWORD = "a new long passphrase";
const START = Date.UTC(2026, 0, 1);
const DAY = 24 * 60 * 60 * 1000;

/**
 * The session lifecycle and account settings over HTTP, the same for every adapter: remember me,
 * fresh sign-in, reauthentication, password change, the session list and revocation by id, and
 * the wiring mistakes that must fail loudly. Runs on the rows the main HTTP suite uses (see
 * `HTTP_SUITE_EXCEPT`).
 */
for (const [name, createApp] of ACCOUNT_APPS) {
  describeEachDatabase(`${name}: account handlers`, (fixture) => defineTests(createApp, fixture), { except: HTTP_SUITE_EXCEPT });
}

interface Device {
  cookie: string;
  token: string;
}

function defineTests(createApp: AccountAppFactory, fixture: DatabaseFixture): void {
  function setUp(setup: Partial<AccountAppSetup> = {}) {
    const clock = new TestClock(START);
    const manager = fixture.manager({ tablePrefix: DatabaseFixture.prefix(), clock: clock.now, totp: TOTP });
    const app = createApp({ manager, ...setup });
    return { app, manager, clock };
  }

  async function signUp(manager: SessionManager, username = uniqueName()): Promise<string> {
    await manager.createUser(username, PASSWORD, { email: `${username}@example.com` });
    return username;
  }

  async function login(
    app: RequestListener,
    username: string,
    extra: Record<string, unknown> = {},
    userAgent = "Firefox",
  ): Promise<Device> {
    const res = await request(app)
      .post("/login")
      .set("User-Agent", userAgent)
      .send({ username, password: PASSWORD, ...extra })
      .expect(200);
    const [cookie] = cookiesSet(res);
    return { cookie: `session=${cookie!.value}`, token: cookie!.value };
  }

  describe("two-factor settings", () => {
    it("sets TOTP up and turns it on only for a fresh sign-in, with recovery codes shown once", async () => {
      const { app, manager, clock } = setUp();
      const username = await signUp(manager);
      const device = await login(app, username);
      const other = await login(app, username, {}, "Safari");
      clock.advance(11 * 60 * 1000);
      // Past ten minutes since the password: a stolen cookie cannot turn two-factor on or off.
      for (const path of ["/2fa/setup", "/2fa/confirm", "/2fa/disable", "/2fa/codes"]) {
        await request(app)
          .post(path)
          .set("Cookie", device.cookie)
          .send({ code: "123456" })
          .expect(403, { error: "reauthentication_required" });
      }
      const fresh = await login(app, username);
      const setup = await request(app).post("/2fa/setup").set("Cookie", fresh.cookie).expect(200);
      expect(setup.headers["cache-control"]).toBe("no-store");
      expect(setup.body.uri).toMatch(/^otpauth:\/\/totp\//);
      const secret: string = setup.body.secret;
      await request(app)
        .post("/2fa/confirm")
        .set("Cookie", fresh.cookie)
        .send({ code: appCode(secret, clock.now(), 3) })
        .expect(400, { error: "invalid_code" });
      const confirmed = await request(app)
        .post("/2fa/confirm")
        .set("Cookie", fresh.cookie)
        .send({ code: appCode(secret, clock.now()) })
        .expect(200);
      expect(confirmed.body.recoveryCodes).toHaveLength(10);
      await request(app).post("/2fa/setup").set("Cookie", fresh.cookie).expect(409, { error: "totp_already_enabled" });
      // New codes void the old ones and sign the other devices out.
      const codes = await request(app).post("/2fa/codes").set("Cookie", fresh.cookie).expect(200);
      expect(codes.body.recoveryCodes).toHaveLength(10);
      expect(codes.body.recoveryCodes).not.toContain(confirmed.body.recoveryCodes[0]);
      await request(app).get("/me").set("Cookie", other.cookie).expect(401);
      await request(app).get("/me").set("Cookie", fresh.cookie).expect(200);
      const user = (await manager.getUser(username))!;
      expect(await manager.hasTotp(user.id)).toBe(true);
    });

    it("turns TOTP off for a fresh sign-in, signing the other devices out, and says when it was off", async () => {
      const { app, manager, clock } = setUp();
      const username = await signUp(manager);
      const user = (await manager.getUser(username))!;
      const device = await login(app, username);
      await request(app).post("/2fa/disable").set("Cookie", device.cookie).expect(409, { error: "totp_not_enabled" });
      await request(app).post("/2fa/codes").set("Cookie", device.cookie).expect(409, { error: "totp_not_enabled" });
      const { secret } = await manager.beginTotpSetup(user.id);
      expect(await manager.confirmTotpSetup(user.id, appCode(secret, clock.now()))).toHaveLength(10);
      const other = await manager.createSession(user.id);
      await request(app).post("/2fa/disable").set("Cookie", device.cookie).expect(204);
      expect(await manager.hasTotp(user.id)).toBe(false);
      expect(await manager.checkSession(other)).toBeNull();
      await request(app).get("/me").set("Cookie", device.cookie).expect(200);
      await request(app).post("/2fa/setup").expect(401);
    });
  });

  it("gives a browser-session cookie unless remember is checked, and keeps it one when renewed", async () => {
    const { app, manager, clock } = setUp();
    const username = await signUp(manager);
    const plain = await request(app).post("/login").send({ username, password: PASSWORD }).expect(200);
    const [session] = cookiesSet(plain);
    expect(session?.maxAge).toBeUndefined();
    expect(session?.expires).toBeUndefined();
    for (const remember of ["on", "true", "1", true]) {
      const res = await request(app).post("/login").send({ username, password: PASSWORD, remember }).expect(200);
      expect(cookiesSet(res)[0]?.maxAge).toBe(30 * 24 * 60 * 60);
    }
    const form = await request(app).post("/login").type("form").send({ username, password: PASSWORD, remember: "on" }).expect(200);
    expect(cookiesSet(form)[0]?.maxAge).toBeGreaterThan(0);
    // Past half of its life the session is renewed: the cookie comes again, still without an expiry.
    clock.advance(20 * DAY);
    const renewed = await request(app).get("/me").set("Cookie", `session=${session!.value}`).expect(200);
    const [again] = cookiesSet(renewed);
    expect(again?.value).toBe(session!.value);
    expect(again?.maxAge).toBeUndefined();
    expect(again?.expires).toBeUndefined();
    expect((await manager.checkSession(session!.value))?.session.persistent).toBe(false);
  });

  it("asks for the password again past `fresh`, and reauthentication rotates the token", async () => {
    const { app, manager, clock } = setUp();
    const username = await signUp(manager);
    const device = await login(app, username);
    await request(app).get("/fresh").set("Cookie", device.cookie).expect(200);
    clock.advance(61_000);
    await request(app).get("/fresh").set("Cookie", device.cookie).expect(403, { error: "reauthentication_required" });
    await request(app).get("/fresh-page").set("Cookie", device.cookie).expect(303).expect("Location", "/confirm");
    await request(app)
      .post("/confirm")
      .set("Cookie", device.cookie)
      .send({ password: "wrong password" })
      .expect(401, { error: "invalid_credentials" });
    const confirmed = await request(app).post("/confirm").set("Cookie", device.cookie).send({ password: PASSWORD }).expect(200);
    expect(confirmed.body.user.username).toBe(username);
    const [rotated] = cookiesSet(confirmed);
    expect(rotated?.value).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(rotated?.value).not.toBe(device.token);
    await request(app).get("/me").set("Cookie", device.cookie).expect(401);
    await request(app).get("/fresh").set("Cookie", `session=${rotated!.value}`).expect(200);
    // The confirmation is itself fresh only for `fresh` seconds.
    clock.advance(61_000);
    await request(app).get("/fresh").set("Cookie", `session=${rotated!.value}`).expect(403);
    await request(app).get("/fresh").expect(401);
  });

  it("throttles reauthentication like a login, with Retry-After", async () => {
    const { app, manager } = setUp();
    const username = await signUp(manager);
    const device = await login(app, username);
    for (let i = 0; i < 10; i++)
      await request(app)
        .post("/confirm")
        .set("Cookie", device.cookie)
        .send({ password: `wrong password ${i}` })
        .expect(401);
    const res = await request(app).post("/confirm").set("Cookie", device.cookie).send({ password: PASSWORD }).expect(429);
    expect(res.body).toEqual({ error: "too_many_attempts" });
    expect(Number(res.headers["retry-after"])).toBeGreaterThan(0);
    // A form's failure redirect says how long to wait.
    const form = await request(app).post("/form/login").type("form").send({ username, password: PASSWORD }).expect(303);
    expect(form.headers["location"]).toMatch(/^\/sign-in\?error=too_many_attempts&retryAfter=\d+$/);
  });

  it("changes the password after checking the current one, signs out the other devices and keeps this one", async () => {
    const { app, manager } = setUp();
    const username = await signUp(manager);
    const here = await login(app, username);
    const other = await login(app, username, {}, "Chrome");
    await request(app)
      .post("/password")
      .set("Cookie", here.cookie)
      .send({ currentPassword: "wrong password", newPassword: NEW_PASSWORD })
      .expect(401, { error: "invalid_credentials" });
    await request(app).post("/password").set("Cookie", here.cookie).send({ currentPassword: PASSWORD, newPassword: "short" }).expect(400, {
      error: "invalid_password",
    });
    await request(app)
      .post("/password")
      .set("Cookie", here.cookie)
      .send({ currentPassword: PASSWORD })
      .expect(400, { error: "invalid_request" });
    const res = await request(app)
      .post("/password")
      .set("Cookie", here.cookie)
      .send({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD })
      .expect(204);
    const [rotated] = cookiesSet(res);
    await request(app).get("/me").set("Cookie", `session=${rotated!.value}`).expect(200);
    await request(app).get("/me").set("Cookie", here.cookie).expect(401);
    await request(app).get("/me").set("Cookie", other.cookie).expect(401);
    expect(await manager.authenticateUser(username, PASSWORD)).toBeNull();
    expect(await manager.authenticateUser(username, NEW_PASSWORD)).not.toBeNull();
    await request(app)
      .post("/password")
      .send({ currentPassword: NEW_PASSWORD, newPassword: PASSWORD })
      .expect(401, { error: "unauthorized" });
  });

  it("lists the user's sessions with the current one marked, and never a token or digest", async () => {
    const { app, manager } = setUp();
    const username = await signUp(manager);
    const here = await login(app, username, { remember: "on" }, "Firefox");
    const other = await login(app, username, {}, "Chrome");
    const stranger = await login(app, await signUp(manager), {}, "Safari");
    const res = await request(app).get("/sessions").set("Cookie", here.cookie).expect(200);
    expect(res.headers["cache-control"]).toBe("no-store");
    const sessions = res.body.sessions as Array<Record<string, unknown>>;
    expect(sessions).toHaveLength(2);
    expect(sessions.map((s) => [s.userAgent, s.current, s.persistent]).sort()).toEqual([
      ["Chrome", false, false],
      ["Firefox", true, true],
    ]);
    expect(Object.keys(sessions[0]!).sort()).toEqual(
      ["authenticatedAt", "createdAt", "current", "expiresAt", "id", "ip", "lastSeenAt", "persistent", "userAgent"].sort(),
    );
    const text = JSON.stringify(res.body);
    for (const token of [here.token, other.token, stranger.token]) expect(text).not.toContain(token);
    expect(text).not.toMatch(/[0-9a-f]{64}/);
    await request(app).get("/sessions").expect(401);
  });

  it("revokes one device by id, from the route, the body or the query, and only the user's own", async () => {
    const { app, manager } = setUp();
    const username = await signUp(manager);
    const here = await login(app, username);
    const devices = [await login(app, username, {}, "A"), await login(app, username, {}, "B"), await login(app, username, {}, "C")];
    const stranger = await login(app, await signUp(manager));
    const idOf = async (device: Device) => (await manager.checkSession(device.token))!.session.id;
    await request(app)
      .delete(`/sessions/${encodeURIComponent(await idOf(devices[0]!))}`)
      .set("Cookie", here.cookie)
      .expect(200, { revoked: 1 });
    await request(app)
      .post("/sessions/revoke")
      .set("Cookie", here.cookie)
      .send({ id: await idOf(devices[1]!) })
      .expect(200, { revoked: 1 });
    await request(app)
      .post(`/sessions/revoke-by-query?id=${encodeURIComponent(await idOf(devices[2]!))}`)
      .set("Cookie", here.cookie)
      .expect(200, { revoked: 1 });
    for (const device of devices) await request(app).get("/me").set("Cookie", device.cookie).expect(401);
    // Another user's session, an unknown id, an id already revoked: nothing happens.
    await request(app)
      .delete(`/sessions/${encodeURIComponent(await idOf(stranger))}`)
      .set("Cookie", here.cookie)
      .expect(404, { error: "not_found" });
    await request(app).get("/me").set("Cookie", stranger.cookie).expect(200);
    await request(app).delete("/sessions/nope").set("Cookie", here.cookie).expect(404);
    await request(app).post("/sessions/revoke").set("Cookie", here.cookie).send({}).expect(400, { error: "invalid_request" });
    await request(app).delete("/sessions/x").expect(401);
    await request(app).get("/me").set("Cookie", here.cookie).expect(200);
  });

  it("revokes every other device with `others`, and the current one with its id, clearing the cookie", async () => {
    const { app, manager } = setUp();
    const username = await signUp(manager);
    const here = await login(app, username);
    const others = [await login(app, username), await login(app, username)];
    await request(app).delete("/sessions/others").set("Cookie", here.cookie).expect(200, { revoked: 2 });
    for (const device of others) await request(app).get("/me").set("Cookie", device.cookie).expect(401);
    const id = (await manager.checkSession(here.token))!.session.id;
    const res = await request(app)
      .delete(`/sessions/${encodeURIComponent(id)}`)
      .set("Cookie", here.cookie)
      .expect(200, { revoked: 1 });
    expect(cookiesSet(res)[0]?.value).toBe("");
    await request(app).get("/me").set("Cookie", here.cookie).expect(401);
  });

  it("requires a fresh sign-in to change the address", async () => {
    const sent: EmailMessage[] = [];
    const { app, manager, clock } = setUp({ sendEmail: (message) => void sent.push(message) });
    const username = await signUp(manager);
    const device = await login(app, username);
    clock.advance(601_000);
    await request(app)
      .post("/change-email")
      .set("Cookie", device.cookie)
      .send({ email: `${username}.new@example.com` })
      .expect(403, {
        error: "reauthentication_required",
      });
    const confirmed = await request(app).post("/confirm").set("Cookie", device.cookie).send({ password: PASSWORD }).expect(200);
    const fresh = `session=${cookiesSet(confirmed)[0]!.value}`;
    await request(app)
      .post("/change-email")
      .set("Cookie", fresh)
      .send({ email: `${username}.new@example.com` })
      .expect(202);
    for (let i = 0; i < 100 && sent.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(sent.map((m) => [m.kind, m.to])).toEqual([["email_change", `${username}.new@example.com`]]);
  });

  it("reads the request's token under the middleware's cookie name", async () => {
    const { app, manager } = setUp({ options: { cookieName: "sid" } });
    const username = await signUp(manager);
    const res = await request(app).post("/login").send({ username, password: PASSWORD }).expect(200);
    const [sid] = cookiesSet(res, "sid");
    const me = await request(app).get("/me").set("Cookie", `session=decoy; sid=${sid!.value}`).expect(200);
    expect(me.body.token).toBe(sid!.value);
  });

  it("fails loudly, naming sessionMiddleware, when a guard or a handler runs without it", async () => {
    const { manager } = setUp();
    const app = createApp({ manager, withoutMiddleware: true });
    for (const call of [
      request(app).get("/me"),
      request(app).get("/sessions"),
      request(app).post("/confirm").send({ password: PASSWORD }),
    ]) {
      const res = await call.expect(500);
      expect(res.body.message).toMatch(/sessionMiddleware\(\) to run before it/);
    }
  });
}

describe("wiring mistakes", () => {
  it("refuses sessionMiddleware(manager) and unknown option keys, naming them", async () => {
    const { SessionManager } = await import("session-manager");
    const real = new SessionManager({ database: "sqlite::memory:" });
    try {
      for (const adapter of [expressAdapter, koaAdapter, honoAdapter]) {
        expect(() => adapter.sessionMiddleware(real as never)).toThrow(/sessionMiddleware\(\{ manager \}\)/);
        expect(() => adapter.sessionMiddleware({ manager: real, cookiename: "x" } as never)).toThrow(/"cookiename".*"cookieName"/);
        expect(() => adapter.loginHandler({ redirect: "/" } as never)).toThrow(InvalidOptionsError);
        expect(() => adapter.loginHandler({ redirect: "/" } as never)).toThrow(
          /loginHandler\(options\) has no option "redirect" \(did you mean "redirectTo"\?\)/,
        );
        expect(() => adapter.requireUser({ fresh: -1 })).toThrow(InvalidOptionsError);
        expect(() => adapter.requireUser({ redirectTo: "/x", fressh: 3 } as never)).toThrow(/"fressh".*"fresh"/);
        expect(() => adapter.passwordResetRequestHandler({ sendEmail: () => {}, link: "/relative" })).toThrow(InvalidOptionsError);
      }
    } finally {
      await real.close();
    }
  });

  it("answers with an error naming the right adapter when one is mounted in another framework", async () => {
    const { SessionManager } = await import("session-manager");
    const real = new SessionManager({ database: "sqlite::memory:" });
    try {
      const koa = new Koa();
      koa.silent = true;
      koa.use(async (ctx, next) => {
        try {
          await next();
        } catch (error) {
          ctx.status = 500;
          ctx.body = { message: (error as Error).message };
        }
      });
      koa.use(expressAdapter.sessionMiddleware({ manager: real }) as never);
      const fromKoa = await request(koa.callback()).get("/").expect(500);
      expect(fromKoa.body.message).toMatch(/session-manager\/express.*session-manager\/koa/);

      const hono = new Hono();
      hono.onError((error, c) => c.json({ message: error.message }, 500));
      hono.use(koaAdapter.sessionMiddleware({ manager: real }) as never);
      const fromHono = await request(getRequestListener(hono.fetch)).get("/").expect(500);
      expect(fromHono.body.message).toMatch(/session-manager\/koa.*session-manager\/hono/);

      const app = express();
      app.use(honoAdapter.sessionMiddleware({ manager: real }) as never);
      app.use(((error: Error, _req, res, _next) => res.status(500).json({ message: error.message })) as express.ErrorRequestHandler);
      const fromExpress = await request(app).get("/").expect(500);
      expect(fromExpress.body.message).toMatch(/session-manager\/hono.*session-manager\/express/);
    } finally {
      await real.close();
    }
  });
});
