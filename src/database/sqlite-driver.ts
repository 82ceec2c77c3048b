import { SqliteDialect, type DatabaseConnection, type Driver, type QueryCompiler, type TransactionSettings } from "kysely";

const DONE: Promise<void> = Promise.resolve();

/**
 * Kysely's SQLite dialect with a cheaper lock on its single connection. Every query takes the
 * connection and gives it back; Kysely's own lock builds and awaits promises even when the
 * connection is free, which costs a fair share of a small indexed query. Queries, transactions
 * and savepoints still run through Kysely's SQLite driver.
 */
export class FastLockSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    return new SingleConnectionDriver(super.createDriver());
  }
}

/**
 * Takes the inner driver's one connection at start-up and keeps it, handing it to one user at a
 * time: straight away when free, else in arrival order, as Kysely's lock does.
 */
class SingleConnectionDriver implements Driver {
  readonly #inner: Driver;
  #connection: DatabaseConnection | null = null;
  #free: Promise<DatabaseConnection> | null = null;
  #busy = false;
  readonly #waiting: Array<(connection: DatabaseConnection) => void> = [];

  constructor(inner: Driver) {
    this.#inner = inner;
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
