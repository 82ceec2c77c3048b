import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { UnsupportedDatabaseError } from "../errors.js";
import { SQLITE_RESULT_CODES } from "./sqlite-result-codes.js";

/**
 * The SQLite drivers the embedded database runs on: `better-sqlite3` (Node.js), `node:sqlite`'s
 * `DatabaseSync` (Deno 2, and Node.js 22.13 or later) and `bun:sqlite` (Bun). All three are
 * synchronous and bundle SQLite 3, so one database file opens under each of them.
 */
export type SqliteDriver = "better-sqlite3" | "node:sqlite" | "bun:sqlite";

export const SQLITE_DRIVERS: readonly SqliteDriver[] = ["better-sqlite3", "node:sqlite", "bun:sqlite"];

/** A prepared statement as the library and Kysely's SQLite driver use it, whatever the driver. */
export interface SqliteStatement {
  /** True when the statement returns rows (a select, or a write with `returning`). */
  readonly reader: boolean;
  /** The first row, or undefined when there is none. */
  get(parameters: ReadonlyArray<unknown>): unknown;
  all(parameters: ReadonlyArray<unknown>): unknown[];
  run(parameters: ReadonlyArray<unknown>): { changes: number | bigint; lastInsertRowid: number | bigint };
  iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown>;
}

/** An open SQLite database, whatever the driver. */
export interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
  /** Runs one statement whose rows, if any, the caller does not need (a pragma). */
  exec(sql: string): void;
  close(): void;
}

/**
 * The driver of the runtime this process runs on: `bun:sqlite` on Bun, `node:sqlite` on Deno
 * (which cannot load better-sqlite3's addon), else `better-sqlite3`, the package's dependency.
 */
export function runtimeSqliteDriver(): SqliteDriver {
  if (typeof process.versions["bun"] === "string") return "bun:sqlite";
  if (typeof process.versions["deno"] === "string" || "Deno" in globalThis) return "node:sqlite";
  return "better-sqlite3";
}

/** Refuses, at once, a driver this runtime cannot have. */
export function checkSqliteDriver(driver: SqliteDriver): void {
  if (driver === "bun:sqlite" && typeof process.versions["bun"] !== "string") {
    throw new UnsupportedDatabaseError('the SQLite driver "bun:sqlite" exists only on Bun');
  }
}

/**
 * Opens `path` (`:memory:` for a private in-memory database) with `driver`. Driver errors carry
 * better-sqlite3's codes (`SQLITE_CONSTRAINT_UNIQUE`, `SQLITE_BUSY`…) on every driver, and a
 * missing directory is refused as better-sqlite3 refuses it, so callers see one set of errors.
 */
export async function openSqlite(driver: SqliteDriver, path: string): Promise<SqliteConnection> {
  const anonymous = path === "" || path === ":memory:";
  // better-sqlite3's own check and words, for the drivers that would only say "unable to open".
  if (!anonymous && !existsSync(dirname(path))) throw new TypeError("Cannot open database because the directory does not exist");
  switch (driver) {
    case "better-sqlite3": {
      // Bun resolves the package to a stand-in whose constructor throws: that counts as not loading.
      return load(driver, async () => new (await import("better-sqlite3")).default(path));
    }
    case "node:sqlite": {
      const { DatabaseSync } = await load(
        driver,
        () => import(NODE_SQLITE) as Promise<{ DatabaseSync: new (path: string) => NodeDatabase }>,
      );
      return new NodeSqliteConnection(translated(() => new DatabaseSync(path)));
    }
    case "bun:sqlite": {
      checkSqliteDriver(driver);
      const { Database } = await load(
        driver,
        () => import(BUN_SQLITE) as Promise<{ Database: new (path: string, options: object) => BunDatabase }>,
      );
      // strict: a statement given too few parameters throws, as better-sqlite3's does.
      return new BunSqliteConnection(new Database(path, { create: true, readwrite: true, strict: true }));
    }
  }
}

// Held in variables so that TypeScript and bundlers leave these runtime-only modules alone.
const NODE_SQLITE = "node:sqlite";
const BUN_SQLITE = "bun:sqlite";

async function load<T>(driver: SqliteDriver, loader: () => Promise<T>): Promise<T> {
  try {
    return await loader();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    // The database's own refusal (SQLITE_CANTOPEN…) is not the driver's absence.
    if (typeof code === "string" && code.startsWith("SQLITE_")) throw error;
    const hint =
      driver === "better-sqlite3" && (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND")
        ? "npm install better-sqlite3"
        : `this runtime cannot load it; its own driver is "${runtimeSqliteDriver()}" (option sqliteDriver)`;
    throw new UnsupportedDatabaseError(`the SQLite driver "${driver}" is not available: ${hint}`, { cause: error });
  }
}

/** Gives a node:sqlite error better-sqlite3's code, from SQLite's extended result code. */
function translated<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw sqliteErrorOf(error);
  }
}

/** The error better-sqlite3 would throw (`SqliteError` with a code) for a node:sqlite error. */
function sqliteErrorOf(error: unknown): unknown {
  const errcode = (error as { errcode?: unknown } | null)?.errcode;
  if (typeof errcode !== "number" || !(error instanceof Error)) return error;
  const code = SQLITE_RESULT_CODES.get(errcode) ?? `UNKNOWN_SQLITE_ERROR_${errcode}`;
  return new SqliteError(error.message, code, error);
}

/** What better-sqlite3 throws for an error SQLite reports; the other drivers' errors become one too. */
export class SqliteError extends Error {
  override readonly name = "SqliteError";
  readonly code: string;

  constructor(message: string, code: string, cause: unknown) {
    super(message, { cause });
    this.code = code;
  }
}

interface NodeStatement {
  get(...parameters: unknown[]): unknown;
  all(...parameters: unknown[]): unknown[];
  run(...parameters: unknown[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  iterate?(...parameters: unknown[]): IterableIterator<unknown>;
  columns?(): unknown[];
}

interface NodeDatabase {
  prepare(sql: string): NodeStatement;
  exec(sql: string): void;
  close(): void;
}

class NodeSqliteConnection implements SqliteConnection {
  readonly #database: NodeDatabase;

  constructor(database: NodeDatabase) {
    this.#database = database;
  }

  prepare(sql: string): SqliteStatement {
    return new NodeSqliteStatement(
      translated(() => this.#database.prepare(sql)),
      sql,
    );
  }

  // Through a statement: Deno's exec() errors lack SQLite's code (errcode), its statements' have it.
  exec(sql: string): void {
    const statement = this.prepare(sql);
    if (statement.reader) statement.all([]);
    else statement.run([]);
  }

  close(): void {
    translated(() => this.#database.close());
  }
}

class NodeSqliteStatement implements SqliteStatement {
  readonly reader: boolean;
  readonly #statement: NodeStatement;

  constructor(statement: NodeStatement, sql: string) {
    this.#statement = statement;
    // columns() came with Node.js 22.16; before it, the statement's first word and `returning` tell.
    this.reader =
      statement.columns === undefined
        ? /^\s*(select|with|values|pragma|explain)\b|\breturning\b/i.test(sql)
        : statement.columns().length > 0;
  }

  get(parameters: ReadonlyArray<unknown>): unknown {
    return translated(() => this.#statement.get(...parameters));
  }

  all(parameters: ReadonlyArray<unknown>): unknown[] {
    return translated(() => this.#statement.all(...parameters));
  }

  run(parameters: ReadonlyArray<unknown>): { changes: number | bigint; lastInsertRowid: number | bigint } {
    return translated(() => this.#statement.run(...parameters));
  }

  iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
    const statement = this.#statement;
    return translated(() => (statement.iterate === undefined ? statement.all(...parameters).values() : statement.iterate(...parameters)));
  }
}

interface BunStatement {
  readonly columnNames: string[];
  get(...parameters: unknown[]): unknown;
  all(...parameters: unknown[]): unknown[];
  run(...parameters: unknown[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  iterate(...parameters: unknown[]): IterableIterator<unknown>;
}

interface BunDatabase {
  prepare(sql: string): BunStatement;
  exec(sql: string): void;
  close(): void;
}

// bun:sqlite's errors already carry better-sqlite3's codes (SQLITE_CONSTRAINT_UNIQUE…).
class BunSqliteConnection implements SqliteConnection {
  readonly #database: BunDatabase;

  constructor(database: BunDatabase) {
    this.#database = database;
  }

  prepare(sql: string): SqliteStatement {
    return new BunSqliteStatement(this.#database.prepare(sql));
  }

  exec(sql: string): void {
    this.#database.exec(sql);
  }

  close(): void {
    this.#database.close();
  }
}

class BunSqliteStatement implements SqliteStatement {
  readonly reader: boolean;
  readonly #statement: BunStatement;

  constructor(statement: BunStatement) {
    this.#statement = statement;
    this.reader = statement.columnNames.length > 0;
  }

  get(parameters: ReadonlyArray<unknown>): unknown {
    // bun:sqlite answers null for no row; better-sqlite3 and node:sqlite undefined.
    return this.#statement.get(...parameters) ?? undefined;
  }

  all(parameters: ReadonlyArray<unknown>): unknown[] {
    return this.#statement.all(...parameters);
  }

  run(parameters: ReadonlyArray<unknown>): { changes: number | bigint; lastInsertRowid: number | bigint } {
    return this.#statement.run(...parameters);
  }

  iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
    return this.#statement.iterate(...parameters);
  }
}
