import { InvalidOptionsError, UserNotFoundError } from "session-manager";
import { TestClock, describeEachDatabase, uniqueName } from "../setup/databases";

const HOUR = 60 * 60 * 1000;

describeEachDatabase("sessions", (fixture) => {
  async function setUp(options: { sessionDurationDays?: number; absoluteLifetimeDays?: number } = {}) {
    const clock = new TestClock();
    const sm = fixture.manager({ clock: clock.now, ...options });
    const user = await sm.createUser(uniqueName(), "password123");
    return { clock, sm, user };
  }

  it("issues tokens of at least 128 bits in [A-Za-z0-9_-], each different", async () => {
    const { sm, user } = await setUp();
    const tokens = new Set<string>();
    for (let i = 0; i < 20; i++) tokens.add(await sm.createSession(user.id));
    expect(tokens.size).toBe(20);
    for (const token of tokens) {
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(token.length * 6).toBeGreaterThanOrEqual(128);
    }
  });

  it("validates a session and returns its user and session, with a public id that is not the token", async () => {
    const { sm, user, clock } = await setUp();
    const token = await sm.createSession(user.id, { ip: "203.0.113.7", userAgent: "Mozilla/5.0 test" });
    expect(await sm.validateSession(token)).toEqual(user);
    const check = await sm.checkSession(token);
    expect(check?.user).toEqual(user);
    expect(check?.session).toMatchObject({
      userId: user.id,
      ip: "203.0.113.7",
      userAgent: "Mozilla/5.0 test",
      renewed: false,
    });
    expect(check?.session.id).not.toBe(token);
    expect(token).not.toContain(check!.session.id);
    expect(check?.session.createdAt.getTime()).toBe(clock.now().getTime());
    expect(check?.session.expiresAt.getTime()).toBe(clock.now().getTime() + 30 * 24 * HOUR);
  });

  it("expires a session after sessionDurationDays without use", async () => {
    const { sm, user, clock } = await setUp({ sessionDurationDays: 7 });
    const token = await sm.createSession(user.id);
    clock.advanceDays(7);
    clock.advance(-1);
    expect(await sm.validateSession(token)).not.toBeNull();
    // That validation was past half-life and renewed the session; let it lapse for real.
    clock.advanceDays(7);
    expect(await sm.validateSession(token)).toBeNull();
  });

  it("renews past half-life only, and flags the renewal", async () => {
    const { sm, user, clock } = await setUp({ sessionDurationDays: 10 });
    const token = await sm.createSession(user.id);
    clock.advanceDays(4);
    const early = await sm.checkSession(token);
    expect(early?.session.renewed).toBe(false);
    expect(early?.session.expiresAt.getTime()).toBe(clock.now().getTime() + 6 * 24 * HOUR);
    clock.advanceDays(2);
    const late = await sm.checkSession(token);
    expect(late?.session.renewed).toBe(true);
    expect(late?.session.expiresAt.getTime()).toBe(clock.now().getTime() + 10 * 24 * HOUR);
    // The renewal is stored: another manager sees the new expiry.
    const again = await sm.checkSession(token);
    expect(again?.session.renewed).toBe(false);
    expect(again?.session.expiresAt.getTime()).toBe(late?.session.expiresAt.getTime());
  });

  it("never extends past absoluteLifetimeDays", async () => {
    const { sm, user, clock } = await setUp({ sessionDurationDays: 10, absoluteLifetimeDays: 12 });
    const created = clock.now().getTime();
    const token = await sm.createSession(user.id);
    clock.advanceDays(6);
    const renewed = await sm.checkSession(token);
    expect(renewed?.session.renewed).toBe(true);
    expect(renewed?.session.expiresAt.getTime()).toBe(created + 12 * 24 * HOUR);
    clock.advanceDays(5);
    const capped = await sm.checkSession(token);
    expect(capped?.session.renewed).toBe(false);
    expect(capped?.session.expiresAt.getTime()).toBe(created + 12 * 24 * HOUR);
    clock.advanceDays(1);
    expect(await sm.validateSession(token)).toBeNull();
  });

  it("caps a new session's first expiry at absoluteLifetimeDays", async () => {
    const { sm, user, clock } = await setUp({ sessionDurationDays: 30, absoluteLifetimeDays: 1 });
    const token = await sm.createSession(user.id);
    const check = await sm.checkSession(token);
    expect(check?.session.expiresAt.getTime()).toBe(clock.now().getTime() + 24 * HOUR);
  });

  it("refreshes lastSeenAt at most once an hour and otherwise writes nothing", async () => {
    const { sm, user, clock } = await setUp();
    const token = await sm.createSession(user.id);
    const created = clock.now().getTime();
    clock.advance(30 * 60 * 1000);
    expect((await sm.checkSession(token))?.session.lastSeenAt?.getTime()).toBe(created);
    clock.advance(31 * 60 * 1000);
    const touched = clock.now().getTime();
    expect((await sm.checkSession(token))?.session.lastSeenAt?.getTime()).toBe(touched);
    clock.advance(10 * 60 * 1000);
    expect((await sm.checkSession(token))?.session.lastSeenAt?.getTime()).toBe(touched);
    expect((await sm.listSessions(user.id))[0]?.lastSeenAt?.getTime()).toBe(touched);
  });

  it("revokes one session, all sessions, or all others", async () => {
    const { sm, user } = await setUp();
    const a = await sm.createSession(user.id);
    const b = await sm.createSession(user.id);
    const c = await sm.createSession(user.id);
    expect(await sm.revokeSession(a)).toBe(true);
    expect(await sm.revokeSession(a)).toBe(false);
    expect(await sm.validateSession(a)).toBeNull();
    expect(await sm.revokeOtherSessions(b)).toBe(1);
    expect(await sm.validateSession(b)).not.toBeNull();
    expect(await sm.validateSession(c)).toBeNull();
    const d = await sm.createSession(user.id);
    expect(await sm.revokeSessions(user.id)).toBe(2);
    expect(await sm.validateSession(b)).toBeNull();
    expect(await sm.validateSession(d)).toBeNull();
    expect(await sm.revokeSessions(user.id)).toBe(0);
    expect(await sm.revokeOtherSessions(b)).toBe(0);
  });

  it("revokeSessions counts only live sessions", async () => {
    const { sm, user, clock } = await setUp({ sessionDurationDays: 1 });
    await sm.createSession(user.id);
    clock.advanceDays(2);
    await sm.createSession(user.id);
    expect(await sm.revokeSessions(user.id)).toBe(1);
  });

  it("logs in and out", async () => {
    const { sm, user } = await setUp();
    const token = await sm.login(user.username.toUpperCase(), "password123", { ip: "::1" });
    expect(token).toEqual(expect.any(String));
    expect((await sm.checkSession(token!))?.session.ip).toBe("::1");
    expect(await sm.logout(token!)).toBe(true);
    expect(await sm.validateSession(token!)).toBeNull();
    expect(await sm.logout(token!)).toBe(false);
    expect(await sm.login(user.username, "wrong password")).toBeNull();
    expect(await sm.login(uniqueName(), "password123")).toBeNull();
  });

  it("lists live sessions newest first", async () => {
    const { sm, user, clock } = await setUp({ sessionDurationDays: 2 });
    const first = await sm.createSession(user.id, { userAgent: "first" });
    clock.advance(1000);
    await sm.createSession(user.id, { userAgent: "second" });
    clock.advance(1000);
    await sm.createSession(user.id, { userAgent: "third" });
    const sessions = await sm.listSessions(user.id);
    expect(sessions.map((s) => s.userAgent)).toEqual(["third", "second", "first"]);
    for (const session of sessions) expect(Object.values(session)).not.toContain(first);
    clock.advanceDays(3);
    expect(await sm.listSessions(user.id)).toEqual([]);
    expect(await sm.listSessions(-5)).toEqual([]);
  });

  it("deletes expired sessions and keeps live ones", async () => {
    const { sm, user, clock } = await setUp({ sessionDurationDays: 1 });
    const old = await sm.createSession(user.id);
    await sm.createSession(user.id);
    clock.advanceDays(2);
    const live = await sm.createSession(user.id);
    const progress: number[] = [];
    const deleted = await sm.deleteExpiredSessions({ batchSize: 1, onProgress: (n) => progress.push(n) });
    expect(deleted).toBeGreaterThanOrEqual(2);
    expect(progress.at(-1)).toBe(deleted);
    expect(await sm.validateSession(live)).not.toBeNull();
    expect(await sm.validateSession(old)).toBeNull();
    expect(await sm.deleteExpiredSessions()).toBe(0);
  });

  it("refuses sessions for unknown users", async () => {
    const { sm } = await setUp();
    await expect(sm.createSession(99999999)).rejects.toBeInstanceOf(UserNotFoundError);
    await expect(sm.createSession(Number.NaN)).rejects.toMatchObject({ code: "user_not_found" });
  });

  it("stores long user agents and unicode metadata, bounded", async () => {
    const { sm, user } = await setUp();
    const userAgent = "Mozilla/5.0 ".repeat(60) + "ü🦊";
    const token = await sm.createSession(user.id, { userAgent, ip: "2001:db8::1" });
    const session = (await sm.checkSession(token))!.session;
    expect(session.userAgent).toBe(userAgent);
    const huge = await sm.createSession(user.id, { userAgent: "a".repeat(100_000) });
    expect((await sm.checkSession(huge))!.session.userAgent).toHaveLength(1024);
  });

  it("strips C0 and C1 control characters and bidirectional controls from stored metadata", async () => {
    const { sm, user } = await setUp();
    const userAgent = "Mozilla\u0085/5.0\u009b31m (\u202eevil\u202c)\u2066x\u2069\u200f\u061c\u0007 ü";
    const token = await sm.createSession(user.id, { userAgent, ip: "203.0.113.7\u009d" });
    const session = (await sm.checkSession(token))!.session;
    expect(session.userAgent).toBe("Mozilla/5.031m (evil)x ü");
    expect(session.ip).toBe("203.0.113.7");
    expect((await sm.listSessions(user.id)).find((s) => s.id === session.id)?.userAgent).toBe("Mozilla/5.031m (evil)x ü");
  });

  it.each([0, -1, 1.5, Number.NaN, Infinity, "10"])("refuses batchSize %p with InvalidOptionsError, at once", async (batchSize) => {
    const { sm } = await setUp();
    await expect(sm.deleteExpiredSessions({ batchSize: batchSize as number })).rejects.toMatchObject({ code: "invalid_options" });
    await expect(sm.deleteExpiredSessions({ batchSize: batchSize as number })).rejects.toBeInstanceOf(InvalidOptionsError);
  });
});
