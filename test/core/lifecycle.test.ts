import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { InvalidOptionsError, LoginThrottledError, SessionManager, errorMessage } from "session-manager";
import { connect } from "../../src/database/connect";
import { createMigrator } from "../../src/database/migrations";
import { DatabaseFixture, TestClock, describeEachDatabase, uniqueName } from "../setup/databases";
import { insertFirstReleaseUsers } from "../setup/first-release";

const PASSWORD = "correct horse battery";
const MINUTE = 60 * 1000;

describeEachDatabase("session lifecycle", (fixture) => {
  function setUp() {
    const clock = new TestClock(Date.now());
    const sm = fixture.manager({ clock: clock.now });
    return { sm, clock };
  }

  async function signedIn(sm: SessionManager, options: { remember?: boolean } = {}) {
    const name = uniqueName();
    const user = await sm.createUser(name, PASSWORD);
    const token = (await sm.login(name, PASSWORD, { ip: "203.0.113.7", userAgent: "Firefox", ...options }))!;
    return { name, user, token };
  }

  it("records when the password was presented and whether the session persists", async () => {
    const { sm, clock } = setUp();
    const { token } = await signedIn(sm);
    const check = await sm.checkSession(token);
    expect(check?.session).toMatchObject({ authenticatedAt: clock.now(), persistent: true });
    const { token: forgetful } = await signedIn(sm, { remember: false });
    expect((await sm.checkSession(forgetful))?.session.persistent).toBe(false);
    // The server-side expiry is the same either way.
    expect((await sm.checkSession(forgetful))?.session.expiresAt).toEqual(check?.session.expiresAt);
    const listed = await sm.listSessions((await sm.checkSession(forgetful))!.user.id);
    expect(listed[0]).toMatchObject({ persistent: false, authenticatedAt: clock.now() });
  });

  it("keeps a non-persistent session non-persistent when it is renewed", async () => {
    const { sm, clock } = setUp();
    const { token } = await signedIn(sm, { remember: false });
    clock.advance(20 * 24 * 60 * MINUTE);
    const check = await sm.checkSession(token);
    expect(check?.session.renewed).toBe(true);
    expect(check?.session.persistent).toBe(false);
  });

  it("reauthenticates: a new token, the old one refused at once, the time of the check recorded", async () => {
    const { sm, clock } = setUp();
    const { token, user } = await signedIn(sm);
    const before = (await sm.checkSession(token))!.session;
    clock.advance(30 * MINUTE);
    const fresh = await sm.reauthenticate(token, PASSWORD);
    expect(fresh).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(fresh).not.toBe(token);
    expect(await sm.validateSession(token)).toBeNull();
    const after = (await sm.checkSession(fresh!))!.session;
    expect(after).toMatchObject({ id: before.id, createdAt: before.createdAt, ip: "203.0.113.7", userAgent: "Firefox", userId: user.id });
    expect(after.authenticatedAt).toEqual(clock.now());
    expect(after.expiresAt).toEqual(before.expiresAt);
  });

  it("refuses reauthentication with a wrong password, a dead session or garbage, and changes nothing", async () => {
    const { sm } = setUp();
    const { token } = await signedIn(sm);
    expect(await sm.reauthenticate(token, "wrong password")).toBeNull();
    expect(await sm.validateSession(token)).not.toBeNull();
    for (const bad of ["", "x".repeat(32), null, 42]) expect(await sm.reauthenticate(bad as string, PASSWORD)).toBeNull();
    await sm.logout(token);
    expect(await sm.reauthenticate(token, PASSWORD)).toBeNull();
  });

  it("throttles reauthentication like a login, on the session user's name", async () => {
    const { sm } = setUp();
    const { token, name } = await signedIn(sm);
    for (let i = 0; i < 10; i++) expect(await sm.reauthenticate(token, `wrong password ${i}`)).toBeNull();
    await expect(sm.reauthenticate(token, PASSWORD)).rejects.toBeInstanceOf(LoginThrottledError);
    await expect(sm.login(name, PASSWORD)).rejects.toBeInstanceOf(LoginThrottledError);
  });

  it("rotates a session's token, keeping everything else, and only one of concurrent rotations wins", async () => {
    const { sm } = setUp();
    const { token } = await signedIn(sm);
    const before = (await sm.checkSession(token))!.session;
    const rotated = await sm.rotateSession(token);
    expect(await sm.validateSession(token)).toBeNull();
    const after = (await sm.checkSession(rotated!))!.session;
    expect(after).toMatchObject({ id: before.id, createdAt: before.createdAt, authenticatedAt: before.authenticatedAt, persistent: true });
    const others = [setUp().sm, setUp().sm];
    const results = await Promise.all(Array.from({ length: 9 }, (_, i) => [sm, ...others][i % 3]!.rotateSession(rotated!)));
    const winners = results.filter((t) => t !== null);
    expect(winners).toHaveLength(1);
    expect(await sm.validateSession(winners[0]!)).not.toBeNull();
    expect(await sm.rotateSession("garbage")).toBeNull();
  });

  it("revokes a session by id only for its own user", async () => {
    const { sm } = setUp();
    const alice = await signedIn(sm);
    const bob = await signedIn(sm);
    const [aliceSession] = await sm.listSessions(alice.user.id);
    expect(await sm.revokeSessionById(bob.user.id, aliceSession!.id)).toBe(false);
    expect(await sm.validateSession(alice.token)).not.toBeNull();
    expect(await sm.revokeSessionById(alice.user.id, aliceSession!.id)).toBe(true);
    expect(await sm.validateSession(alice.token)).toBeNull();
    expect(await sm.revokeSessionById(alice.user.id, aliceSession!.id)).toBe(false);
    for (const bad of ["", "x".repeat(65), null, 42]) expect(await sm.revokeSessionById(alice.user.id, bad as string)).toBe(false);
    expect(await sm.validateSession(bob.token)).not.toBeNull();
  });

  it("counts sessions of an earlier release as signed in when created, and persistent", async () => {
    const prefix = DatabaseFixture.prefix();
    const { db, kind } = connect(fixture.raw(), prefix);
    const { error } = await createMigrator(db, kind, prefix).migrateTo("2026_12_01_0001_email_and_one_time_tokens");
    expect(error).toBeUndefined();
    const name = uniqueName("old");
    const userId = (await insertFirstReleaseUsers(db, kind, [name])).get(name)!;
    const createdAt = Date.now() - 60 * MINUTE;
    const { hashToken } = await import("../../src/tokens");
    const token = "A".repeat(32);
    await db
      .insertInto("auth_sessions")
      .values({
        id: "old-session",
        token_hash: hashToken(token),
        user_id: userId,
        created_at: createdAt,
        expires_at: createdAt + 24 * 60 * MINUTE,
        last_seen_at: createdAt,
        ip: null,
        user_agent: null,
      } as never)
      .execute();
    const sm = fixture.manager({ tablePrefix: prefix });
    await sm.migrate();
    expect((await sm.checkSession(token))?.session).toMatchObject({ authenticatedAt: new Date(createdAt), persistent: true });
  });
});

describe("options and messages", () => {
  it("refuses unknown option keys by name, suggesting the near one", () => {
    for (const [options, key, near] of [
      [{ databse: "sqlite::memory:" }, "databse", "database"],
      [{ sessionDuration: 3 }, "sessionDuration", "sessionDurationDays"],
      [{ password: { memorycost: 1 } }, "memorycost", "memoryCost"],
      [{ throttle: { maxFailure: 3 } }, "maxFailure", "maxFailures"],
      [{ tokens: { passwordResetMinute: 3 } }, "passwordResetMinute", "passwordResetMinutes"],
    ] as const) {
      let error: unknown;
      try {
        new SessionManager(options as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidOptionsError);
      expect((error as Error).message).toContain(`"${key}"`);
      expect((error as Error).message).toContain(`did you mean "${near}"`);
    }
    expect(() => new SessionManager("sqlite::memory:" as never)).toThrow(/new SessionManager\(\{ database: "sqlite::memory:" \}\)/);
  });

  it("has a sentence for every error code the HTTP handlers answer with", () => {
    const dir = join(__dirname, "..", "..", "src", "http");
    const codes = new Set<string>();
    for (const file of readdirSync(dir)) {
      const source = readFileSync(join(dir, file), "utf8");
      for (const [, code] of source.matchAll(/failure\([^,]+, \d{3}, "([a-z_]+)"/g)) codes.add(code!);
      for (const [, code] of source.matchAll(/error: "([a-z_]+)"/g)) codes.add(code!);
    }
    expect(codes.size).toBeGreaterThan(12);
    const generic = errorMessage("no such code");
    for (const code of codes) {
      expect([code, errorMessage(code)]).not.toEqual([code, generic]);
    }
  });
});
