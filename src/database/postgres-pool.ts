import { Socket } from "node:net";
import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from "kysely";
import type { Pool, PoolClient, PoolConfig, QueryConfig } from "pg";
import { DatabaseTimeoutError } from "../errors.js";
import { CLOSE_GRACE_MS, SocketTracker, errorFields, type QueryTimeouts } from "./timeouts.js";

/** The pool settings the library reads from a `postgres://` URL, each a whole number. */
export interface PostgresPoolSettings {
  connectionString: string;
  max?: number;
  idleTimeoutMillis?: number;
  /** Bounds a connection attempt and the wait for a free pooled connection; 0: none. */
  connectionTimeoutMillis: number;
  /** Bounds each query, measured by the client, so that it also ends on a server that never answers; 0: none. */
  queryTimeout: QueryTimeouts;
}

/** Kysely's view of a pg pool, and the validation lookup's own way to it. */
export interface GuardedPostgresPool extends PostgresPool {
  /**
   * Runs a query that reads at most one row as a named prepared statement: PostgreSQL parses and
   * plans it once per connection rather than on every request, and the call skips Kysely's
   * executor. Same timeouts and errors as Kysely's queries.
   */
  readRow<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<R | undefined>;
}

// Distinct statements a pool names. Only the library's fixed lookups ask, so this bounds a mistake.
const MAX_NAMED_STATEMENTS = 64;

/**
 * Opens a pg pool for Kysely whose connection attempts and queries end with
 * `DatabaseTimeoutError` when the server does not answer in time, and whose `end()` does not wait
 * on a silent server.
 */
export function openPostgresPool(PoolClass: typeof Pool, settings: PostgresPoolSettings): GuardedPostgresPool {
  const sockets = new SocketTracker();
  const { queryTimeout, ...options } = settings;
  const config: PoolConfig = { ...options, stream: () => sockets.track(new Socket()) };
  const pool = new PoolClass(config);
  // A client whose server went away emits 'error', idle (the pool re-emits it) or checked out
  // (the client itself, besides failing its query); without a listener that would crash the
  // process. The query's own error still reaches the caller, and the pool drops the client.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  // One wrapper per pg client, so that Kysely, which keys its connections by client, reuses them.
  const guarded = new WeakMap<PoolClient, GuardedClient>();
  // pg keeps a named statement per connection under its name, which must always mean one text.
  const names = new Map<string, string>();
  const nameOf = (sql: string): string | undefined => {
    let name = names.get(sql);
    if (name === undefined && names.size < MAX_NAMED_STATEMENTS) {
      name = `session_manager_${names.size + 1}`;
      names.set(sql, name);
    }
    return name;
  };
  const connect = async (): Promise<GuardedClient> => {
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw isConnectTimeout(error)
        ? new DatabaseTimeoutError(
            `no PostgreSQL connection within ${settings.connectionTimeoutMillis} ms: the server did not answer, or every pooled connection stayed busy`,
            { cause: error },
          )
        : error;
    }
    let wrapper = guarded.get(client);
    if (wrapper === undefined) {
      wrapper = new GuardedClient(client, queryTimeout);
      guarded.set(client, wrapper);
    }
    return wrapper;
  };
  return {
    connect,
    async readRow<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<R | undefined> {
      const client = await connect();
      try {
        return (await client.run<R>(sql, parameters, nameOf(sql))).rows[0];
      } finally {
        client.release();
      }
    },
    end(): Promise<void> {
      return sockets.endWithin(() => pool.end(), CLOSE_GRACE_MS);
    },
  };
}

/** A pooled pg client whose queries time out, and which leaves the pool once one has. */
class GuardedClient implements PostgresPoolClient {
  readonly #client: PoolClient;
  readonly #queryTimeout: QueryTimeouts;
  #timedOut = false;

  constructor(client: PoolClient, queryTimeout: QueryTimeouts) {
    this.#client = client;
    this.#queryTimeout = queryTimeout;
  }

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(sql: string | PostgresCursor<R>, parameters?: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    // Kysely passes a cursor only when its dialect is given a cursor class, which ours never is.
    if (typeof sql !== "string") throw new TypeError("session-manager does not stream PostgreSQL queries");
    return this.run<R>(sql, parameters ?? []);
  }

  /** Runs a query, as a named prepared statement when given a name. */
  async run<R>(sql: string, parameters: ReadonlyArray<unknown>, name?: string): Promise<PostgresQueryResult<R>> {
    // Kysely still rolls back the transaction the timed-out query was part of; that would queue
    // behind the unanswered query. The server rolls back by itself when the connection goes.
    if (this.#timedOut) throw new DatabaseTimeoutError("PostgreSQL connection dropped after a query timed out");
    const timeout = this.#queryTimeout.current();
    // pg reads `query_timeout` per query as well as per client; per query lets `migrate()` wait longer.
    const config: QueryConfig & { query_timeout?: number } = { text: sql, values: [...parameters] };
    if (name !== undefined) config.name = name;
    if (timeout > 0) config.query_timeout = timeout;
    try {
      return (await this.#client.query(config)) as unknown as PostgresQueryResult<R>;
    } catch (error) {
      const { code, message } = errorFields(error);
      if (message === "Query read timeout") {
        // The query is still running, or the server is gone: this connection's next query would
        // queue behind it. It is dropped on release.
        this.#timedOut = true;
        throw new DatabaseTimeoutError(`PostgreSQL did not answer a query within ${timeout} ms`, { cause: error });
      }
      // The server's own `statement_timeout`, when the URL sets one.
      if (code === "57014" && /statement timeout/i.test(message)) {
        throw new DatabaseTimeoutError(`PostgreSQL cancelled a query at its statement_timeout`, { cause: error });
      }
      throw error;
    }
  }

  release(destroy?: boolean): void {
    this.#client.release(destroy === true || this.#timedOut);
  }
}

/** pg-pool's and pg's messages for a connection attempt or pool wait that ran out of time. */
function isConnectTimeout(error: unknown): boolean {
  const { code, message } = errorFields(error);
  return (
    code === "ETIMEDOUT" ||
    message === "timeout exceeded when trying to connect" ||
    message === "Connection terminated due to connection timeout" ||
    message === "timeout expired"
  );
}
