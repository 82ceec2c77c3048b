import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kysely, SqliteDialect } from "kysely";
import { InvalidOptionsError, SessionManager, UnsupportedDatabaseError, type SqliteDriver } from "session-manager";
import { openSqlite, type SqliteConnection } from "../../src/database/sqlite-drivers";
import { validateToken } from "../../src/internal";
import { FAST_PASSWORDS, uniqueName } from "../setup/databases";

// Told apart here without the library's help, so that a wrong choice in it shows.
const runtime: "bun" | "deno" | "node" = typeof process.versions["bun"] === "string" ? "bun" : "Deno" in globalThis ? "deno" : "node";
const EXPECTED_DRIVER: Record<typeof runtime, SqliteDriver> = { bun: "bun:sqlite", deno: "node:sqlite", node: "better-sqlite3" };
const [nodeMajor = 0, nodeMinor = 0] = (process.versions.node ?? "0.0").split(".").map(Number);
const hasNodeSqlite = runtime !== "node" || nodeMajor > 22 || (nodeMajor === 22 && nodeMinor >= 13);

/** The drivers this runtime has, and those it has not. */
const DRIVERS_OF: Record<typeof runtime, SqliteDriver[]> = {
  bun: ["bun:sqlite", "node:sqlite"],
  deno: ["node:sqlite"],
  node: hasNodeSqlite ? ["better-sqlite3", "node:sqlite"] : ["better-sqlite3"],
};
const AVAILABLE = DRIVERS_OF[runtime];
const MISSING = (["better-sqlite3", "node:sqlite", "bun:sqlite"] as SqliteDriver[]).filter((driver) => !AVAILABLE.includes(driver));

const PASSWORD = "correct horse battery";

describe(`the SQLite driver on ${runtime}`, () => {
  it(`is ${EXPECTED_DRIVER[runtime]} by default, and sm.driver tells it`, async () => {
    const sm = new SessionManager({ database: "sqlite::memory:", password: FAST_PASSWORDS });
    try {
      expect(sm.driver).toBe(EXPECTED_DRIVER[runtime]);
      const name = uniqueName();
      await sm.createUser(name, PASSWORD);
      const token = (await sm.login(name, PASSWORD))!;
      expect((await sm.checkSession(token))?.user.username).toBe(name);
    } finally {
      await sm.close();
    }
  });

  it("names the server drivers, and none for a Kysely instance of the caller's", async () => {
    const postgres = new SessionManager({ database: "postgres://localhost/app" });
    const mysql = new SessionManager({ database: "mysql://localhost/app" });
    const kysely = new Kysely({ dialect: new SqliteDialect({ database: await openSqlite(EXPECTED_DRIVER[runtime], ":memory:") }) });
    const own = new SessionManager({ database: kysely });
    try {
      expect([postgres.driver, mysql.driver, own.driver]).toEqual(["pg", "mysql2", null]);
    } finally {
      await Promise.all([postgres.close(), mysql.close(), own.close()]);
      await kysely.destroy();
    }
  });

  it("refuses an unknown driver name at construction, naming the known ones", () => {
    expect(() => new SessionManager({ database: "sqlite::memory:", sqliteDriver: "sqlite3" as SqliteDriver })).toThrow(InvalidOptionsError);
    expect(() => new SessionManager({ database: "sqlite::memory:", sqliteDriver: "sqlite3" as SqliteDriver })).toThrow(/bun:sqlite/);
  });

  for (const driver of MISSING) {
    it(`refuses ${driver}, which this runtime does not have, with UnsupportedDatabaseError naming it`, async () => {
      let sm: SessionManager | null = null;
      const attempt = async (): Promise<void> => {
        sm = new SessionManager({ database: "sqlite::memory:", sqliteDriver: driver });
        await sm.migrate();
      };
      try {
        await expect(attempt()).rejects.toThrow(UnsupportedDatabaseError);
        await expect(attempt()).rejects.toThrow(driver);
      } finally {
        await (sm as SessionManager | null)?.close();
      }
    });
  }
});

for (const driver of AVAILABLE) {
  describe(`SQLite driver ${driver}`, () => {
    let dir: string;
    let database: SqliteConnection | null = null;

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "session-manager-driver-"));
    });
    afterEach(() => {
      database?.close();
      database = null;
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("reads, writes and tells readers from writers as better-sqlite3 does", async () => {
      database = await openSqlite(driver, ":memory:");
      database.exec("create table items (id integer primary key, name text not null unique)");
      const insert = database.prepare("insert into items (name) values (?)");
      expect(insert.reader).toBe(false);
      expect(insert.run(["one"])).toMatchObject({ changes: 1, lastInsertRowid: 1 });
      const returning = database.prepare("insert into items (name) values (?) returning id");
      expect(returning.reader).toBe(true);
      expect(returning.all(["two"]).map((row) => ({ ...(row as object) }))).toEqual([{ id: 2 }]);
      const select = database.prepare("select id, name from items where id = ?");
      expect(select.reader).toBe(true);
      expect({ ...(select.get([1]) as object) }).toEqual({ id: 1, name: "one" });
      // No row is undefined on every driver (bun:sqlite's own answer is null).
      expect(select.get([99])).toBeUndefined();
      expect([...select.iterate([2])].map((row) => ({ ...(row as object) }))).toEqual([{ id: 2, name: "two" }]);
      // Integers past 2^32 (millisecond times) come back as numbers.
      expect(database.prepare("select ? as n").get([Date.UTC(2026, 0, 1)])).toMatchObject({ n: Date.UTC(2026, 0, 1) });
    });

    it("throws better-sqlite3's codes: SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_ERROR", async () => {
      database = await openSqlite(driver, ":memory:");
      database.exec("create table items (id integer primary key, name text not null unique)");
      database.prepare("insert into items (id, name) values (?, ?)").run([1, "one"]);
      const codeOf = (work: () => unknown): unknown => {
        try {
          work();
        } catch (error) {
          return { code: (error as { code?: unknown }).code, message: (error as Error).message };
        }
        return "no error";
      };
      expect(codeOf(() => database!.prepare("insert into items (id, name) values (?, ?)").run([2, "one"]))).toEqual({
        code: "SQLITE_CONSTRAINT_UNIQUE",
        message: "UNIQUE constraint failed: items.name",
      });
      expect(codeOf(() => database!.prepare("insert into items (id, name) values (?, ?)").run([1, "two"]))).toEqual({
        code: "SQLITE_CONSTRAINT_PRIMARYKEY",
        message: "UNIQUE constraint failed: items.id",
      });
      expect(codeOf(() => database!.prepare("select * from missing"))).toEqual({ code: "SQLITE_ERROR", message: "no such table: missing" });
    });

    it("refuses a file in a missing directory and a file that is not a database, as better-sqlite3 does", async () => {
      await expect(openSqlite(driver, join(dir, "missing", "sessions.db"))).rejects.toThrow(
        new TypeError("Cannot open database because the directory does not exist"),
      );
      const junk = join(dir, `junk-${driver.replace(/\W/g, "")}.db`);
      writeFileSync(junk, "this is not a database file, but long enough to have a header".repeat(20));
      const sm = new SessionManager({ database: `sqlite:${junk}`, sqliteDriver: driver });
      try {
        await expect(sm.migrate()).rejects.toMatchObject({ code: "SQLITE_NOTADB" });
      } finally {
        await sm.close().catch(() => {});
      }
    });

    it("runs a manager through sign-up, login, the synchronous check and logout on a file", async () => {
      const sm = new SessionManager({
        database: `sqlite:${join(dir, `${driver.replace(/\W/g, "")}.db`)}`,
        sqliteDriver: driver,
        password: FAST_PASSWORDS,
      });
      try {
        expect(sm.driver).toBe(driver);
        const name = uniqueName();
        await sm.createUser(name, PASSWORD);
        await expect(sm.createUser(name.toUpperCase(), PASSWORD)).rejects.toMatchObject({ code: "username_taken" });
        const token = (await sm.login(name, PASSWORD))!;
        await sm.checkSession(token);
        // The connection is open and free: the validation answers at once, not with a promise.
        const check = sm[validateToken](token);
        expect(check).not.toBeInstanceOf(Promise);
        expect((await check)?.user.username).toBe(name);
        expect(await sm.logout(token)).toBe(true);
        expect(await sm.checkSession(token)).toBeNull();
      } finally {
        await sm.close();
      }
    });
  });
}

if (AVAILABLE.length > 1) {
  it(`opens one database file with each of ${AVAILABLE.join(", ")} in turn`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "session-manager-drivers-"));
    const url = `sqlite:${join(dir, "shared.db")}`;
    const names: string[] = [];
    try {
      for (const driver of AVAILABLE) {
        const sm = new SessionManager({ database: url, sqliteDriver: driver, password: FAST_PASSWORDS });
        try {
          for (const earlier of names) expect(await sm.authenticateUser(earlier, PASSWORD)).not.toBeNull();
          const name = uniqueName(driver.replace(/\W/g, ""));
          await sm.createUser(name, PASSWORD);
          names.push(name);
        } finally {
          await sm.close();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
