import { sql } from "kysely";
import { NOT_NOW } from "../../src/database/row-reader.js";
import { checkSessionNow } from "../../src/session-manager.js";
import { DatabaseFixture, TestClock, describeEachDatabase, uniqueName } from "../setup/databases";

const HOUR = 60 * 60 * 1000;

// The middleware's synchronous validation: it must agree with checkSession whenever it answers,
// and leave to checkSession whatever needs a write or a connection that is not free.
describeEachDatabase("checkSessionNow", (fixture: DatabaseFixture) => {
  // Only the library's own SQLite connection reads synchronously; a caller's Kysely and the
  // servers' pools always go through checkSession.
  const synchronous = fixture.database.name === "sqlite-file";

  async function setUp() {
    const clock = new TestClock();
    const sm = fixture.manager({ clock: clock.now, sessionDurationDays: 10 });
    const user = await sm.createUser(uniqueName(), "password123");
    const token = await sm.createSession(user.id);
    return { clock, sm, user, token };
  }

  it(synchronous ? "answers a live session at once, as checkSession does" : "always defers to checkSession", async () => {
    const { sm, token } = await setUp();
    const now = sm[checkSessionNow](token);
    if (!synchronous) return expect(now).toBe(NOT_NOW);
    expect(now).toEqual(await sm.checkSession(token));
  });

  it("refuses malformed tokens without the database", async () => {
    const { sm } = await setUp();
    for (const token of ["", "short", "x".repeat(33), "a".repeat(31) + "\u00e9"]) expect(sm[checkSessionNow](token)).toBeNull();
  });

  it("refuses unknown, revoked and expired sessions, or defers", async () => {
    const { sm, user, clock, token } = await setUp();
    const unknown = "A".repeat(32);
    expect(sm[checkSessionNow](unknown)).toBe(synchronous ? null : NOT_NOW);
    const revoked = await sm.createSession(user.id);
    await sm.revokeSession(revoked);
    expect(sm[checkSessionNow](revoked)).toBe(synchronous ? null : NOT_NOW);
    clock.advanceDays(11);
    expect(sm[checkSessionNow](token)).toBe(synchronous ? null : NOT_NOW);
    expect(await sm.checkSession(token)).toBeNull();
  });

  it("defers renewals and the hourly last-seen write to checkSession, which makes them", async () => {
    const { sm, clock, token } = await setUp();
    clock.advance(HOUR);
    expect(sm[checkSessionNow](token)).toBe(NOT_NOW);
    expect((await sm.checkSession(token))?.session.lastSeenAt?.getTime()).toBe(clock.now().getTime());
    if (synchronous) expect(sm[checkSessionNow](token)).not.toBe(NOT_NOW);
    clock.advanceDays(6);
    expect(sm[checkSessionNow](token)).toBe(NOT_NOW);
    expect((await sm.checkSession(token))?.session.renewed).toBe(true);
    if (synchronous) expect(sm[checkSessionNow](token)).toMatchObject({ session: { renewed: false } });
  });

  it("defers before the schema is known to be migrated", async () => {
    const clock = new TestClock();
    const sm = fixture.manager({ clock: clock.now });
    expect(sm[checkSessionNow]("A".repeat(32))).toBe(NOT_NOW);
  });

  if (synchronous) {
    it("throws a database error rather than answering", async () => {
      const prefix = DatabaseFixture.prefix();
      const sm = fixture.manager({ tablePrefix: prefix });
      const user = await sm.createUser(uniqueName(), "password123");
      const token = await sm.createSession(user.id);
      expect(sm[checkSessionNow](token)).toMatchObject({ user });
      await sql`drop table ${sql.table(`${prefix}auth_sessions`)}`.execute(fixture.raw());
      expect(() => sm[checkSessionNow](token)).toThrow(/no such table/);
    });
  }
});
