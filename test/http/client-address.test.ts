import type { RequestListener } from "node:http";
import request from "supertest";
import { InvalidOptionsError, type AuthEvent, type SessionManager, type ThrottleOptions } from "session-manager";
import * as honoAdapter from "session-manager/hono";
import { DatabaseFixture, TestClock, describeEachDatabase, uniqueName } from "../setup/databases.js";
import { HOST } from "../setup/http.js";
import { ADDRESS_APPS, type AdapterName, type AddressAppSetup } from "./address-apps.js";

const PASSWORD = "correct horse battery";
const HOUR = 60 * 60 * 1000;
// What supertest's connections come from, in the forms the frameworks report it.
const LOOPBACK = ["127.0.0.1", "::ffff:127.0.0.1", "::1"];

interface TestApp {
  app: RequestListener;
  manager: SessionManager;
  clock: TestClock;
  events: AuthEvent[];
  sent: unknown[];
}

function post(app: RequestListener, path: string, forwardedFor?: string): request.Test {
  const test = request(app).post(path).set("Host", HOST);
  return forwardedFor === undefined ? test : test.set("X-Forwarded-For", forwardedFor);
}

for (const adapter of Object.keys(ADDRESS_APPS) as AdapterName[]) {
  describeEachDatabase(`${adapter}: the client address`, (fixture) => {
    function setUp(proxy: AddressAppSetup["proxy"], throttle: ThrottleOptions): TestApp {
      const clock = new TestClock();
      const events: AuthEvent[] = [];
      const sent: unknown[] = [];
      const manager = fixture.manager({
        tablePrefix: DatabaseFixture.prefix(),
        clock: clock.now,
        throttle,
        onEvent: (event) => events.push(event),
      });
      return { app: ADDRESS_APPS[adapter]({ manager, proxy, sent }), manager, clock, events, sent };
    }

    async function failLogin(t: TestApp, forwardedFor?: string, username = uniqueName("ghost")): Promise<void> {
      await post(t.app, "/login", forwardedFor).send({ username, password: "wrong password" }).expect(401);
    }

    describe("behind no trusted proxy", () => {
      it("counts failed logins by the connection's address, whatever X-Forwarded-For claims", async () => {
        const t = setUp("untrusted", { ipMaxFailures: 3 });
        const victim = uniqueName();
        await t.manager.createUser(victim, PASSWORD);
        for (let i = 1; i <= 3; i++) await failLogin(t, `203.0.113.${i}`, victim);
        const res = await post(t.app, "/login", "203.0.113.99").send({ username: victim, password: PASSWORD }).expect(429);
        expect(res.body).toEqual({ error: "too_many_attempts" });
        expect(res.headers["retry-after"]).toBe("900");
        const event = t.events.at(-1)!;
        expect(event).toMatchObject({ type: "login_throttled", reason: "address", username: victim });
        expect(LOOPBACK).toContain(event.ip);
        // Without the header too: it is one client.
        await post(t.app, "/login").send({ username: victim, password: PASSWORD }).expect(429);
      });

      it("counts password spraying by the connection's address: a username beyond 2 gets 429 for an hour", async () => {
        const t = setUp("untrusted", { ipMaxUsernames: 2 });
        await failLogin(t, "198.51.100.1");
        await failLogin(t, "198.51.100.2");
        const res = await post(t.app, "/login", "198.51.100.3").send({ username: uniqueName(), password: PASSWORD }).expect(429);
        expect(res.headers["retry-after"]).toBe("3600");
      });

      it("lets 15 people behind one address sign in at once: some are asked to retry in a second, none is locked out", async () => {
        const t = setUp("untrusted", { ipMaxUsernames: 3 });
        const names = Array.from({ length: 15 }, () => uniqueName());
        for (const name of names) await t.manager.createUser(name, PASSWORD);
        const answers = await Promise.all(names.map((username) => post(t.app, "/login").send({ username, password: PASSWORD })));
        for (const res of answers) {
          if (res.status === 429) expect(res.headers["retry-after"]).toBe("1");
          else expect(res.status).toBe(200);
        }
        expect(answers.filter((res) => res.status === 200).length).toBeGreaterThanOrEqual(3);
        // Each comes back and signs in; then a typo is an ordinary 401.
        for (const [i, res] of answers.entries()) {
          if (res.status === 429) await post(t.app, "/login").send({ username: names[i], password: PASSWORD }).expect(200);
        }
        await post(t.app, "/login").send({ username: names[0], password: "a typo" }).expect(401);
      });

      it("limits sign-ups per address per hour, taken usernames included, whatever X-Forwarded-For claims", async () => {
        const t = setUp("untrusted", { ipMaxRegistrations: 2 });
        const name = uniqueName();
        await post(t.app, "/register", "203.0.113.1").send({ username: name, password: PASSWORD }).expect(201);
        await post(t.app, "/register", "203.0.113.2").send({ username: name, password: PASSWORD }).expect(409);
        const later = uniqueName();
        const res = await post(t.app, "/register", "203.0.113.3").send({ username: later, password: PASSWORD }).expect(429);
        expect(res.body).toEqual({ error: "too_many_attempts" });
        expect(res.headers["retry-after"]).toBe("3600");
        expect(await t.manager.getUser(later)).toBeNull();
        t.clock.advance(HOUR);
        await post(t.app, "/register").send({ username: later, password: PASSWORD }).expect(201);
      });

      it("limits password reset requests per address per hour with one answer for known and unknown accounts", async () => {
        const t = setUp("untrusted", { ipMaxResetRequests: 2 });
        const name = uniqueName();
        await t.manager.createUser(name, PASSWORD, { email: `${name}@example.com` });
        await post(t.app, "/forgot-password", "203.0.113.1").send({ identifier: name }).expect(202);
        await post(t.app, "/forgot-password", "203.0.113.2").send({ identifier: uniqueName() }).expect(202);
        const known = await post(t.app, "/forgot-password", "203.0.113.3").send({ identifier: name }).expect(429);
        const unknown = await post(t.app, "/forgot-password", "203.0.113.4").send({ identifier: uniqueName() }).expect(429);
        for (const res of [known, unknown]) {
          expect(res.body).toEqual({ error: "too_many_attempts" });
          expect(res.headers["retry-after"]).toBe("3600");
          expect(res.headers["referrer-policy"]).toBe("no-referrer");
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(t.sent).toHaveLength(1);
        t.clock.advance(HOUR);
        await post(t.app, "/forgot-password").send({ identifier: name }).expect(202);
      });
    });

    describe("behind a trusted proxy", () => {
      it("counts each forwarded client apart, by the entry the proxy appended", async () => {
        const t = setUp("trusted", { ipMaxFailures: 3 });
        const victim = uniqueName();
        await t.manager.createUser(victim, PASSWORD);
        for (let i = 0; i < 3; i++) await failLogin(t, "203.0.113.1", victim);
        const res = await post(t.app, "/login", "203.0.113.1").send({ username: victim, password: PASSWORD }).expect(429);
        expect(res.headers["retry-after"]).toBe("900");
        expect(t.events.at(-1)).toMatchObject({ type: "login_throttled", reason: "address", ip: "203.0.113.1" });
        // What the client wrote before the proxy's entry changes nothing.
        await post(t.app, "/login", "198.51.100.77, 203.0.113.1").send({ username: victim, password: PASSWORD }).expect(429);
        // Another client behind the same proxy is not concerned.
        await post(t.app, "/login", "203.0.113.2").send({ username: victim, password: PASSWORD }).expect(200);
      });

      it("counts IPv6 clients by their /64", async () => {
        const t = setUp("trusted", { ipMaxFailures: 2 });
        await failLogin(t, "2001:db8:5:6::1");
        await failLogin(t, "2001:DB8:5:6:aaaa::2");
        await post(t.app, "/login", "2001:db8:5:6::3").send({ username: uniqueName(), password: PASSWORD }).expect(429);
        await failLogin(t, "2001:db8:5:7::1");
      });

      it("limits sign-ups and reset requests per forwarded client", async () => {
        const t = setUp("trusted", { ipMaxRegistrations: 1, ipMaxResetRequests: 1 });
        await post(t.app, "/register", "203.0.113.1").send({ username: uniqueName(), password: PASSWORD }).expect(201);
        await post(t.app, "/register", "203.0.113.1").send({ username: uniqueName(), password: PASSWORD }).expect(429);
        await post(t.app, "/register", "203.0.113.2").send({ username: uniqueName(), password: PASSWORD }).expect(201);
        await post(t.app, "/forgot-password", "203.0.113.1").send({ identifier: uniqueName() }).expect(202);
        await post(t.app, "/forgot-password", "203.0.113.1").send({ identifier: uniqueName() }).expect(429);
        await post(t.app, "/forgot-password", "203.0.113.2").send({ identifier: uniqueName() }).expect(202);
      });
    });

    if (adapter === "hono") {
      it("takes the address from clientAddress: getConnInfo reads the socket, not the header", async () => {
        const t = setUp("conninfo", { ipMaxFailures: 2 });
        await failLogin(t, "203.0.113.1");
        await failLogin(t, "203.0.113.2");
        await post(t.app, "/login", "203.0.113.3").send({ username: uniqueName(), password: PASSWORD }).expect(429);
        expect(LOOPBACK).toContain(t.events.at(-1)!.ip);
      });
    }
  });
}

describe("hono: the clientAddress option", () => {
  it("must be a function, checked when the middleware is created", () => {
    expect(() => honoAdapter.sessionMiddleware({ clientAddress: "x-forwarded-for" as never })).toThrow(InvalidOptionsError);
    expect(() => honoAdapter.sessionMiddleware({ clientAdress: () => "203.0.113.1" } as never)).toThrow(/did you mean "clientAddress"/);
  });

  it("is not an option of the Express and Koa middlewares, which follow their framework's proxy setting", async () => {
    const express = await import("session-manager/express");
    const koa = await import("session-manager/koa");
    expect(() => express.sessionMiddleware({ clientAddress: () => "203.0.113.1" } as never)).toThrow(InvalidOptionsError);
    expect(() => koa.sessionMiddleware({ clientAddress: () => "203.0.113.1" } as never)).toThrow(InvalidOptionsError);
  });
});
