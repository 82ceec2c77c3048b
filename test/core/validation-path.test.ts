import { Kysely, SqliteDialect, sql, type LogEvent } from "kysely";
import { SessionManager, type SessionCheck } from "session-manager";
import { openSqlite, runtimeSqliteDriver } from "../../src/database/sqlite-drivers.js";
import { validateToken } from "../../src/internal.js";
import { DATABASES, DatabaseFixture, FAST_PASSWORDS, TestClock, describeEachDatabase, uniqueName } from "../setup/databases";

const HOUR = 60 * 60 * 1000;

// The one validation the middleware and checkSession share: synchronous where the library's own
// SQLite connection is free and no write is due, a promise otherwise, the same answer either way.
describeEachDatabase("the validation path", (fixture: DatabaseFixture) => {
  // Only the library's own SQLite connection reads synchronously; a caller's Kysely and the
  // servers' pools always answer with a promise.
  const synchronous = fixture.database.name === "sqlite-file";

  async function setUp() {
    const clock = new TestClock();
    const sm = fixture.manager({ clock: clock.now, sessionDurationDays: 10 });
    const user = await sm.createUser(uniqueName(), "password123");
    const token = await sm.createSession(user.id);
    return { clock, sm, user, token };
  }

  function isPromise(value: unknown): value is Promise<SessionCheck | null> {
    return value instanceof Promise;
  }

  it(
    synchronous ? "answers a live session at once, as checkSession does" : "answers with a promise of what checkSession answers",
    async () => {
      const { sm, token, user } = await setUp();
      const answer = sm[validateToken](token);
      expect(isPromise(answer)).toBe(!synchronous);
      expect(await answer).toEqual(await sm.checkSession(token));
      expect(await answer).toMatchObject({ user, session: { renewed: false } });
    },
  );

  it("refuses malformed tokens at once, without the database", async () => {
    const { sm } = await setUp();
    for (const token of ["", "short", "x".repeat(33), "a".repeat(31) + "\u00e9"]) expect(sm[validateToken](token)).toBeNull();
  });

  it("refuses unknown, revoked and expired sessions", async () => {
    const { sm, user, clock, token } = await setUp();
    const answers = [sm[validateToken]("A".repeat(32))];
    const revoked = await sm.createSession(user.id);
    await sm.revokeSession(revoked);
    answers.push(sm[validateToken](revoked));
    clock.advanceDays(11);
    answers.push(sm[validateToken](token));
    for (const answer of answers) {
      expect(isPromise(answer)).toBe(!synchronous);
      expect(await answer).toBeNull();
    }
  });

  it("makes the hourly last-seen write and the renewal itself, as a promise, and answers at once again afterwards", async () => {
    const { sm, clock, token } = await setUp();
    clock.advance(HOUR);
    const touched = sm[validateToken](token);
    expect(isPromise(touched)).toBe(true);
    expect((await touched)?.session.lastSeenAt?.getTime()).toBe(clock.now().getTime());
    const again = sm[validateToken](token);
    expect(isPromise(again)).toBe(!synchronous);
    expect(await again).toMatchObject({ session: { renewed: false } });
    clock.advanceDays(6);
    const renewed = sm[validateToken](token);
    expect(isPromise(renewed)).toBe(true);
    expect(await renewed).toMatchObject({ session: { renewed: true, expiresAt: new Date(clock.now().getTime() + 10 * 24 * HOUR) } });
    expect(await sm.checkSession(token)).toMatchObject({
      session: { renewed: false, expiresAt: new Date(clock.now().getTime() + 10 * 24 * HOUR) },
    });
  });

  it("migrates first when the schema is not known to be up to date", async () => {
    const sm = fixture.manager({ tablePrefix: DatabaseFixture.prefix() });
    const answer = sm[validateToken]("A".repeat(32));
    expect(isPromise(answer)).toBe(true);
    expect(await answer).toBeNull();
  });

  it("fails with the database's error rather than answering", async () => {
    const prefix = DatabaseFixture.prefix();
    const sm = fixture.manager({ tablePrefix: prefix });
    const user = await sm.createUser(uniqueName(), "password123");
    const token = await sm.createSession(user.id);
    expect(await sm[validateToken](token)).toMatchObject({ user });
    await sql`drop table ${sql.table(`${prefix}auth_sessions`)}`.execute(fixture.raw());
    // By message: better-sqlite3's error class may come from another test file's realm.
    await expect(Promise.resolve().then(() => sm[validateToken](token))).rejects.toMatchObject({
      message: expect.stringMatching(/auth_sessions/),
    });
  });
});

describe("the validation path reads the session row once", () => {
  it("also when it renews or writes the hourly last-seen time (through a caller's Kysely)", async () => {
    const statements: string[] = [];
    const db = new Kysely<unknown>({
      dialect: new SqliteDialect({ database: await openSqlite(runtimeSqliteDriver(), ":memory:") }),
      log: (event: LogEvent) => {
        statements.push(event.query.sql.trimStart().split(/\s/, 1)[0]!.toLowerCase());
      },
    });
    const clock = new TestClock();
    const sm = new SessionManager({ database: db, clock: clock.now, sessionDurationDays: 10, password: FAST_PASSWORDS });
    try {
      const user = await sm.createUser(uniqueName(), "password123");
      const token = await sm.createSession(user.id);
      for (const step of [HOUR, 6 * 24 * HOUR, 0]) {
        clock.advance(step);
        statements.length = 0;
        expect(await sm.checkSession(token)).not.toBeNull();
        expect(statements).toEqual(step === 0 ? ["select"] : ["select", "update"]);
      }
    } finally {
      await sm.close();
      await db.destroy();
    }
  });

  it("also when it renews, on the library's own SQLite connection", async () => {
    const fixture = new DatabaseFixture(DATABASES.find((row) => row.name === "sqlite-file")!);
    await fixture.setUp();
    try {
      const clock = new TestClock();
      const sm = fixture.manager({ clock: clock.now, sessionDurationDays: 10 });
      const user = await sm.createUser(uniqueName(), "password123");
      const token = await sm.createSession(user.id);
      await sm.checkSession(token);
      // Every statement the driver runs, whichever way it goes: `get` (the synchronous read),
      // `all` (Kysely's reads) and `run` (writes). The statements of one driver share a prototype.
      const probe = (await openSqlite(runtimeSqliteDriver(), ":memory:")).prepare("select 1");
      const prototype = Object.getPrototypeOf(probe) as Record<"get" | "all" | "run", (...args: unknown[]) => unknown>;
      const reads = [jest.spyOn(prototype, "get"), jest.spyOn(prototype, "all")];
      const writes = jest.spyOn(prototype, "run");
      try {
        clock.advanceDays(6);
        expect(await sm.checkSession(token)).toMatchObject({ session: { renewed: true } });
        expect(reads.reduce((sum, spy) => sum + spy.mock.calls.length, 0)).toBe(1);
        expect(writes).toHaveBeenCalledTimes(1);
      } finally {
        jest.restoreAllMocks();
      }
    } finally {
      await fixture.tearDown();
    }
  });
});
