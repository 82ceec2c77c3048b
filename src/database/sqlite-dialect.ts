import {
  SqliteDialect,
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryCompiler,
  type SqliteDatabase,
  type TransactionSettings,
} from "kysely";

import type { RowReader } from "./row-reader.js";
import type { SqliteConnection, SqliteStatement } from "./sqlite-drivers.js";

const DONE: Promise<void> = Promise.resolve();

// What the driver's synchronous read answers when the connection is busy or not open yet.
const BUSY: unique symbol = Symbol("busy");

/**
 * Kysely's SQLite dialect with statements prepared once per connection (Kysely's driver prepares
 * each anew), a cheaper lock on its single connection, and `readOne`, which answers the
 * validation lookup synchronously when it can. Queries, transactions and savepoints still run
 * through Kysely's SQLite driver. The connection is any of the synchronous drivers of
 * `sqlite-drivers.ts` (better-sqlite3, node:sqlite, bun:sqlite), so all of this holds on each.
 */
export class PreparedSqliteDialect extends SqliteDialect {
  readonly #statements: StatementCache;
  #driver: SingleConnectionDriver | null = null;

  constructor(open: () => Promise<SqliteConnection>) {
    const statements = new StatementCache(open);
    super({ database: () => statements.open() });
    this.#statements = statements;
  }

  override createDriver(): Driver {
    this.#driver = new SingleConnectionDriver(super.createDriver(), this.#statements);
    return this.#driver;
  }

  /**
   * A `RowReader` that runs a compiled query reading at most one row with the driver's `get`,
   * at once, when the connection is open and free; otherwise `later` runs it through Kysely,
   * which opens the connection or waits its turn. Database errors are thrown (or rejected).
   */
  rowReader(later: RowReader): RowReader {
    return (query) => {
      const row = this.#driver === null ? BUSY : this.#driver.readOneNow(query);
      return row === BUSY ? later(query) : row;
    };
  }
}

/**
 * Kysely's SQLite driver prepares every statement anew; preparing costs more than running our
 * small queries, so statements are kept per connection, keyed by their SQL.
 */
class StatementCache {
  readonly #open: () => Promise<SqliteConnection>;
  #database: SqliteConnection | null = null;
  readonly #statements = new Map<string, SqliteStatement>();

  constructor(open: () => Promise<SqliteConnection>) {
    this.#open = open;
  }

  get isOpen(): boolean {
    return this.#database !== null;
  }

  async open(): Promise<SqliteDatabase> {
    const database = await this.#open();
    this.#database = database;
    const close = (): void => {
      this.#database = null;
      this.#statements.clear();
      database.close();
    };
    return { close, prepare: (sql) => this.prepare(sql) };
  }

  prepare(sql: string): SqliteStatement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#database!.prepare(sql);
      // Only the library's own queries come through here, a few dozen shapes in all.
      if (this.#statements.size < 256) this.#statements.set(sql, statement);
    }
    return statement;
  }
}

/**
 * Takes the inner driver's one connection at start-up and keeps it, handing it to one user at a
 * time: straight away when free, else in arrival order, as Kysely's lock does. Kysely's own lock
 * builds and awaits promises even when the connection is free, which costs a fair share of a
 * small indexed query.
 */
class SingleConnectionDriver implements Driver {
  readonly #inner: Driver;
  readonly #statements: StatementCache;
  #connection: DatabaseConnection | null = null;
  #free: Promise<DatabaseConnection> | null = null;
  #busy = false;
  readonly #waiting: Array<(connection: DatabaseConnection) => void> = [];

  constructor(inner: Driver, statements: StatementCache) {
    this.#inner = inner;
    this.#statements = statements;
  }

  async init(): Promise<void> {
    await this.#inner.init();
    this.#connection = await this.#inner.acquireConnection();
    this.#free = Promise.resolve(this.#connection);
  }

  acquireConnection(): Promise<DatabaseConnection> {
    if (this.#free === null) return Promise.reject(new Error("the SQLite driver is not initialized"));
    if (!this.#busy) {
      this.#busy = true;
      return this.#free;
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  releaseConnection(): Promise<void> {
    const next = this.#waiting.shift();
    // The connection passes straight to the next waiter, so a newcomer cannot jump the queue.
    if (next !== undefined) next(this.#connection!);
    else this.#busy = false;
    return DONE;
  }

  /**
   * A free connection runs the read at once: every driver is synchronous, so nothing can come
   * between taking and giving back the connection. A busy one (a transaction holds it across
   * awaits) answers `BUSY`, so that the read never sees a transaction's uncommitted rows.
   */
  readOneNow<R>(query: CompiledQuery<R>): R | undefined | typeof BUSY {
    if (this.#free === null || !this.#statements.isOpen || this.#busy) return BUSY;
    return this.#statements.prepare(query.sql).get(query.parameters) as R | undefined;
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.#inner.beginTransaction(connection, settings);
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#inner.commitTransaction(connection);
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#inner.rollbackTransaction(connection);
  }

  savepoint(connection: DatabaseConnection, name: string, compileQuery: QueryCompiler["compileQuery"]): Promise<void> {
    return this.#inner.savepoint!(connection, name, compileQuery);
  }

  rollbackToSavepoint(connection: DatabaseConnection, name: string, compileQuery: QueryCompiler["compileQuery"]): Promise<void> {
    return this.#inner.rollbackToSavepoint!(connection, name, compileQuery);
  }

  releaseSavepoint(connection: DatabaseConnection, name: string, compileQuery: QueryCompiler["compileQuery"]): Promise<void> {
    return this.#inner.releaseSavepoint!(connection, name, compileQuery);
  }

  async destroy(): Promise<void> {
    if (this.#connection !== null) await this.#inner.releaseConnection(this.#connection);
    await this.#inner.destroy();
  }
}
