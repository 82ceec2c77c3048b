import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kysely, SqliteDialect } from "kysely";
import { SessionManager, type SessionManagerOptions } from "session-manager";
import { connect } from "../../src/database/connect";
import { openSqlite, runtimeSqliteDriver } from "../../src/database/sqlite-drivers";
import type { Database } from "../../src/database/schema";

/**
 * The databases every core test runs against, like Kysely's DIALECTS. PostgreSQL and MySQL rows
 * need SESSION_TEST_POSTGRES_URL / SESSION_TEST_MYSQL_URL (a server URL whose user may create
 * databases); without them those rows are skipped with a message. SESSION_TEST_DATABASES
 * (comma-separated names) narrows the list.
 */
export type DatabaseName = "sqlite-memory" | "sqlite-file" | "postgres" | "mysql";

export interface TestDatabase {
  name: DatabaseName;
  /** Why the row is skipped, or null when it runs. */
  skipReason: string | null;
  /** Creates a fresh, empty database and returns its URL and how to drop it. */
  create(): Promise<FreshDatabase>;
}

export interface FreshDatabase {
  url: string;
  /** Set where a URL cannot be opened twice (in-memory SQLite): every manager shares this instance. */
  kysely?: Kysely<Database>;
  drop(): Promise<void>;
}

/** Parameters that keep argon2id fast in tests; one test checks the real defaults. */
export const FAST_PASSWORDS = { memoryCost: 256, timeCost: 1, parallelism: 1 } as const;

const selected = process.env["SESSION_TEST_DATABASES"]?.split(",").map((name) => name.trim());
const NOT_SELECTED = "not in SESSION_TEST_DATABASES";

function row(name: DatabaseName, skipReason: string | null, create: () => Promise<FreshDatabase>): TestDatabase {
  const filtered = selected !== undefined && !selected.includes(name);
  return { name, skipReason: filtered ? NOT_SELECTED : skipReason, create };
}

const postgresUrl = process.env["SESSION_TEST_POSTGRES_URL"];
const mysqlUrl = process.env["SESSION_TEST_MYSQL_URL"];

export const DATABASES: readonly TestDatabase[] = [
  row("sqlite-memory", null, async () => {
    // The caller's own Kysely on the runtime's driver: better-sqlite3 itself on Node.js.
    const database = await openSqlite(runtimeSqliteDriver(), ":memory:");
    const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
    return { url: "sqlite::memory:", kysely, drop: () => kysely.destroy() };
  }),
  row("sqlite-file", null, async () => {
    const dir = mkdtempSync(join(tmpdir(), "session-manager-"));
    return { url: `sqlite:${join(dir, "sessions.db")}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }),
  row("postgres", postgresUrl ? null : "SESSION_TEST_POSTGRES_URL is not set", () => createPostgresDatabase(postgresUrl!)),
  row("mysql", mysqlUrl ? null : "SESSION_TEST_MYSQL_URL is not set", () => createMysqlDatabase(mysqlUrl!)),
];

/** The row named `name`, skipped or not. */
export function testDatabase(name: DatabaseName): TestDatabase {
  return DATABASES.find((database) => database.name === name)!;
}

/**
 * A placeholder for a suite that cannot run here, so the report shows it as skipped, with the
 * reason also on stderr ("SKIPPED title: reason"). Rows left out on purpose by
 * SESSION_TEST_DATABASES are not announced.
 */
export function describeSkipped(title: string, reason: string): void {
  if (reason !== NOT_SELECTED) process.stderr.write(`SKIPPED ${title}: ${reason}\n`);
  describe.skip(`${title} (skipped: ${reason})`, () => {
    it("is skipped", () => {});
  });
}

/**
 * `describe("<row>: <title>")` with a fixture on a fresh database of that row (created before the
 * suite, dropped after it), or a visible skip when the row's server is not configured.
 */
export function describeWith(database: TestDatabase, title: string, suite: (fixture: DatabaseFixture) => void): void {
  const fullTitle = `${database.name}: ${title}`;
  if (database.skipReason !== null) {
    describeSkipped(fullTitle, database.skipReason);
    return;
  }
  describe(fullTitle, () => {
    const fixture = new DatabaseFixture(database);
    beforeAll(() => fixture.setUp());
    afterAll(() => fixture.tearDown());
    suite(fixture);
  });
}

/** A clock the tests move by hand instead of sleeping. */
export class TestClock {
  #now: number;

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  readonly now = (): Date => new Date(this.#now);

  advance(ms: number): void {
    this.#now += ms;
  }

  advanceDays(days: number): void {
    this.advance(days * 24 * 60 * 60 * 1000);
  }
}

/**
 * Runs `suite` once per database row through `describeWith`, skipping the rows named in
 * `except`. Inside, `fixture.manager(options)` gives a SessionManager on that row's fresh
 * database (closed after the suite), with fast hashing.
 */
export function describeEachDatabase(
  title: string,
  suite: (fixture: DatabaseFixture) => void,
  options: { except?: DatabaseName[] } = {},
): void {
  for (const database of DATABASES) {
    if (!options.except?.includes(database.name)) describeWith(database, title, suite);
  }
}

export class DatabaseFixture {
  readonly database: TestDatabase;
  #fresh: FreshDatabase | null = null;
  readonly #managers: SessionManager[] = [];

  constructor(database: TestDatabase) {
    this.database = database;
  }

  get url(): string {
    if (this.#fresh === null) throw new Error("fixture not set up");
    return this.#fresh.url;
  }

  async setUp(): Promise<void> {
    this.#fresh = await this.database.create();
  }

  async tearDown(): Promise<void> {
    await Promise.all(this.#managers.splice(0).map((manager) => manager.close()));
    if (this.#raw !== null && this.#fresh?.kysely === undefined) await this.#raw.destroy();
    await this.#fresh?.drop();
  }

  /**
   * A manager on this database. In-memory SQLite is one database per connection, so on that row
   * every manager shares one Kysely instance (which also covers "bring your own Kysely").
   */
  manager(options: SessionManagerOptions = {}): SessionManager {
    const manager = new SessionManager({ database: this.#fresh?.kysely ?? this.url, password: FAST_PASSWORDS, ...options });
    this.#managers.push(manager);
    return manager;
  }

  #raw: Kysely<Database> | null = null;

  /** A plain Kysely on the same database, for tests that look at the stored rows. */
  raw(): Kysely<Database> {
    this.#raw ??= this.#fresh?.kysely ?? connect(this.url, "").db;
    return this.#raw;
  }

  /** A unique table prefix, so tests in one database never see each other's rows. */
  static prefix(): string {
    return `t${randomBytes(4).toString("hex")}_`;
  }
}

/** A username no other test uses. */
export function uniqueName(base = "user"): string {
  return `${base}_${randomBytes(5).toString("hex")}`;
}

async function createPostgresDatabase(serverUrl: string): Promise<FreshDatabase> {
  const { Client } = await import("pg");
  return createServerDatabase(serverUrl, {
    // Forced, so that a connection a failed test left open cannot keep the database alive.
    dropSuffix: " with (force)",
    // A test database is thrown away: its commits need not wait for the WAL to reach the disk,
    // which is most of the time of the many small migrations and writes the suites make.
    afterCreate: (name) => `alter database ${name} set synchronous_commit = off`,
    pool: { max: "4", idleTimeoutMillis: "1000" },
    admin: async (statement) => {
      const client = new Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(statement);
      } finally {
        await client.end();
      }
    },
  });
}

async function createMysqlDatabase(serverUrl: string): Promise<FreshDatabase> {
  const mysql = await import("mysql2/promise");
  return createServerDatabase(serverUrl, {
    createSuffix: " character set utf8mb4",
    pool: { connectionLimit: "4" },
    admin: async (statement) => {
      const client = await mysql.createConnection(serverUrl);
      try {
        await client.query(statement);
      } finally {
        await client.end();
      }
    },
  });
}

/** Creates a randomly named database on a server, through `admin` (one statement per connection). */
async function createServerDatabase(
  serverUrl: string,
  server: {
    admin: (statement: string) => Promise<void>;
    createSuffix?: string;
    afterCreate?: (name: string) => string;
    dropSuffix?: string;
    /** URL options that keep each manager's pool small. */
    pool: Record<string, string>;
  },
): Promise<FreshDatabase> {
  const name = `sm_test_${randomBytes(6).toString("hex")}`;
  await server.admin(`create database ${name}${server.createSuffix ?? ""}`);
  if (server.afterCreate) await server.admin(server.afterCreate(name));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  // A suite makes a manager per test and closes them at its end; two suites run at once. With
  // the drivers' default pools (10 connections, kept for 10 s or more) that outgrows the
  // servers' connection limits (PostgreSQL's default is 100), so test pools stay small and short-lived.
  for (const [key, value] of Object.entries(server.pool)) if (!url.searchParams.has(key)) url.searchParams.set(key, value);
  return { url: url.toString(), drop: () => server.admin(`drop database if exists ${name}${server.dropSuffix ?? ""}`) };
}
