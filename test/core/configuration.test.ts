import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { DummyDriver, Kysely, MssqlAdapter, MssqlIntrospector, MssqlQueryCompiler, SqliteDialect } from "kysely";
import type { Database } from "../../src/database/schema";
import {
  InvalidOptionsError,
  SessionManager,
  SessionManagerError,
  UnsupportedDatabaseError,
  InvalidUsernameError,
  InvalidPasswordError,
  UsernameTakenError,
  UserNotFoundError,
  LoginThrottledError,
} from "session-manager";
import { loadPeer } from "../../src/database/connect";
import { FAST_PASSWORDS, uniqueName } from "../setup/databases";

describe("configuration", () => {
  it("refuses unknown database URL schemes at construction", () => {
    for (const database of ["ftp://example.org/db", "mongodb://localhost/app", "sessions.db", ""]) {
      expect(() => new SessionManager({ database })).toThrow(UnsupportedDatabaseError);
    }
    expect(() => new SessionManager({ database: "sqlite:" })).toThrow(/names no file/);
  });

  it("refuses a Kysely instance of a dialect it cannot write SQL for", () => {
    const mssql = new Kysely<unknown>({
      dialect: {
        createAdapter: () => new MssqlAdapter(),
        createDriver: () => new DummyDriver(),
        createQueryCompiler: () => new MssqlQueryCompiler(),
        createIntrospector: (db) => new MssqlIntrospector(db),
      },
    });
    expect(() => new SessionManager({ database: mssql })).toThrow(/unsupported Kysely dialect/);
  });

  it("refuses out-of-range options with InvalidOptionsError", () => {
    const bad = [
      { sessionDurationDays: 0 },
      { sessionDurationDays: -1 },
      { sessionDurationDays: Number.NaN },
      { absoluteLifetimeDays: 0 },
      { tablePrefix: "drop table;" },
      { password: { memoryCost: 4 } },
      { password: { concurrency: 0 } },
      { password: { timeCost: 1.5 } },
      { throttle: { maxFailures: 0 } },
      { clock: "now" as unknown as () => Date },
    ];
    for (const options of bad) {
      const error = (() => {
        try {
          new SessionManager({ database: "sqlite::memory:", ...options });
          return null;
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(InvalidOptionsError);
      expect((error as SessionManagerError).code).toBe("invalid_options");
    }
  });

  it("names the package to install when an optional driver is missing", async () => {
    const missing = Object.assign(new Error("Cannot find module 'pg'"), { code: "MODULE_NOT_FOUND" });
    const error = await loadPeer("pg", "PostgreSQL", () => Promise.reject(missing)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedDatabaseError);
    expect((error as Error).message).toContain("npm install pg");
    expect((error as SessionManagerError).code).toBe("unsupported_database");
  });

  it("defaults to SESSION_DATABASE_URL, else sessions.db in the working directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sm-default-"));
    const cwd = process.cwd();
    const saved = process.env["SESSION_DATABASE_URL"];
    try {
      process.chdir(dir);
      delete process.env["SESSION_DATABASE_URL"];
      const byDefault = new SessionManager({ password: FAST_PASSWORDS });
      await byDefault.createUser(uniqueName(), "password123");
      await byDefault.close();
      expect(existsSync(join(dir, "sessions.db"))).toBe(true);
      process.env["SESSION_DATABASE_URL"] = `sqlite:${join(dir, "from-env.db")}`;
      const fromEnv = new SessionManager({ password: FAST_PASSWORDS });
      await fromEnv.migrate();
      await fromEnv.close();
      expect(existsSync(join(dir, "from-env.db"))).toBe(true);
    } finally {
      process.chdir(cwd);
      if (saved === undefined) delete process.env["SESSION_DATABASE_URL"];
      else process.env["SESSION_DATABASE_URL"] = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("gives every error class a stable code and a common base", () => {
    const cases: Array<[SessionManagerError, string]> = [
      [new InvalidUsernameError(), "invalid_username"],
      [new InvalidPasswordError(), "invalid_password"],
      [new UsernameTakenError(), "username_taken"],
      [new UserNotFoundError(), "user_not_found"],
      [new LoginThrottledError(30), "login_throttled"],
      [new UnsupportedDatabaseError("x"), "unsupported_database"],
      [new InvalidOptionsError("x"), "invalid_options"],
    ];
    for (const [error, code] of cases) {
      expect(error).toBeInstanceOf(SessionManagerError);
      expect(error).toBeInstanceOf(Error);
      expect(error.code).toBe(code);
      expect(error.name).toBe(error.constructor.name);
    }
  });

  it("hashes with the OWASP argon2id defaults unless told otherwise", async () => {
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: new BetterSqlite3(":memory:") }) });
    const sm = new SessionManager({ database: db });
    try {
      const name = uniqueName();
      await sm.createUser(name, "password123");
      expect(await sm.authenticateUser(name, "password123")).not.toBeNull();
      const row = await db.selectFrom("auth_users").select("password_hash").executeTakeFirstOrThrow();
      expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    } finally {
      await sm.close();
      await db.destroy();
    }
  });
});
