import { connect as connectSocket, type Socket } from "node:net";
import type { MysqlPool, MysqlPoolConnection, MysqlQueryResult, MysqlStream, MysqlStreamOptions } from "kysely";
import type { Pool, PoolOptions } from "mysql2";
import { DatabaseTimeoutError } from "../errors.js";
import { CLOSE_GRACE_MS, SocketTracker, errorFields, type QueryTimeouts } from "./timeouts.js";

/** The pool settings the library reads from a `mysql://` URL, each a whole number. */
export interface MysqlPoolSettings {
  uri: string;
  connectionLimit?: number;
  queueLimit?: number;
  /** Bounds a connection attempt; 0: none. */
  connectTimeout: number;
  /** Bounds each query, measured by the client; 0: none. */
  queryTimeout: QueryTimeouts;
}

/** A mysql2 pool connection as this module uses it; mysql2's own overloads are too loose to implement against. */
interface RawConnection {
  query(options: QueryOptions, callback: (error: Error | null, result: MysqlQueryResult) => void): void;
  execute(options: QueryOptions, callback: (error: Error | null, result: MysqlQueryResult) => void): void;
  release(): void;
  destroy(): void;
}

interface QueryOptions {
  sql: string;
  values: unknown[];
  timeout?: number;
}

/** mysql2's connection settings that say how to reach the server. */
interface SocketSettings {
  socketPath?: string;
  host?: string;
  port?: number;
  enableKeepAlive?: boolean;
  keepAliveInitialDelay?: number;
}

/** Kysely's view of a mysql2 pool, and the validation lookup's own way to it. */
export interface GuardedMysqlPool extends MysqlPool {
  /**
   * Runs a query that reads at most one row as a server-side prepared statement, which mysql2
   * prepares once per connection and keeps, and past Kysely's executor. Same timeouts and errors
   * as Kysely's queries.
   */
  readRow<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<R | undefined>;
}

/**
 * Opens a mysql2 pool for Kysely whose connection attempts and queries end with
 * `DatabaseTimeoutError` when the server does not answer in time, and whose `end()` does not wait
 * on a silent server. Kysely runs queries as `connection.query(sql, parameters, callback)`, and
 * mysql2 takes a timeout only per query, so each connection handed to Kysely adds it.
 */
export function openMysqlPool(createPool: (options: PoolOptions) => Pool, settings: MysqlPoolSettings): GuardedMysqlPool {
  const sockets = new SocketTracker();
  const { queryTimeout, ...options } = settings;
  const pool = createPool({
    ...options,
    charset: "utf8mb4",
    // mysql2 opens the socket itself unless given a factory; this one does what it would do, and
    // keeps the socket for `end()`.
    stream: ({ config }: { config: SocketSettings }) => sockets.track(openSocket(config)),
  });
  pool.on("connection", (connection) => connection.on("error", () => {}));
  const guarded = new WeakMap<object, GuardedConnection>();
  const getConnection = (callback: (error: Error | null, connection: GuardedConnection) => void): void => {
    pool.getConnection((error, connection) => {
      if (error) {
        const timedOut = errorFields(error).code === "ETIMEDOUT";
        const reported = timedOut
          ? new DatabaseTimeoutError(`no MySQL connection within ${settings.connectTimeout} ms: the server did not answer`, {
              cause: error,
            })
          : error;
        callback(reported, undefined as unknown as GuardedConnection);
        return;
      }
      // One wrapper per mysql2 connection, so that Kysely, which keys its connections by it, reuses them.
      let wrapper = guarded.get(connection);
      if (wrapper === undefined) {
        wrapper = new GuardedConnection(connection, queryTimeout);
        guarded.set(connection, wrapper);
      }
      callback(null, wrapper);
    });
  };
  return {
    getConnection,
    readRow<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<R | undefined> {
      return new Promise((resolve, reject) => {
        getConnection((error, connection) => {
          if (error) return reject(error);
          connection.run("execute", sql, [...parameters], (error, result) => {
            connection.release();
            if (error) reject(error);
            else resolve((result as R[])[0]);
          });
        });
      });
    },
    end(callback: (error: unknown) => void): void {
      const end = (): Promise<void> => new Promise((resolve, reject) => pool.end((error) => (error ? reject(error) : resolve())));
      sockets.endWithin(end, CLOSE_GRACE_MS).then(() => callback(null), callback);
    },
  };
}

function openSocket(config: SocketSettings): Socket {
  if (config.socketPath) return connectSocket(config.socketPath);
  const socket = connectSocket(config.port ?? 3306, config.host ?? "localhost");
  if (config.enableKeepAlive !== false) socket.on("connect", () => socket.setKeepAlive(true, config.keepAliveInitialDelay ?? 0));
  // Packets go out at once rather than waiting to fill a segment.
  socket.setNoDelay(true);
  return socket;
}

/** A pooled mysql2 connection whose queries time out, and which leaves the pool once one has. */
class GuardedConnection implements MysqlPoolConnection {
  readonly #raw: RawConnection;
  readonly #queryTimeout: QueryTimeouts;
  #timedOut = false;

  constructor(raw: RawConnection, queryTimeout: QueryTimeouts) {
    this.#raw = raw;
    this.#queryTimeout = queryTimeout;
  }

  query(sql: string, parameters: Array<unknown>): { stream: <T>(options: MysqlStreamOptions) => MysqlStream<T> };
  query(sql: string, parameters: Array<unknown>, callback: (error: unknown, result: MysqlQueryResult) => void): void;
  query(
    sql: string,
    parameters: Array<unknown>,
    callback?: (error: unknown, result: MysqlQueryResult) => void,
  ): { stream: <T>(options: MysqlStreamOptions) => MysqlStream<T> } | void {
    // Kysely calls without a callback only to stream, which the library never does.
    if (callback === undefined) throw new TypeError("session-manager does not stream MySQL queries");
    this.run("query", sql, parameters, callback);
  }

  /** Runs a query as text (`query`) or as a prepared statement mysql2 keeps per connection (`execute`). */
  run(
    how: "query" | "execute",
    sql: string,
    parameters: Array<unknown>,
    callback: (error: Error | null, result: MysqlQueryResult) => void,
  ): void {
    if (this.#timedOut) {
      // Kysely still rolls back the transaction the timed-out query was part of; the server does
      // that itself for a connection that is gone.
      callback(new DatabaseTimeoutError("MySQL connection dropped after a query timed out"), []);
      return;
    }
    const timeout = this.#queryTimeout.current();
    const options: QueryOptions = { sql, values: parameters };
    if (timeout > 0) options.timeout = timeout;
    this.#raw[how](options, (error, result) => {
      if (error && errorFields(error).code === "PROTOCOL_SEQUENCE_TIMEOUT") {
        // mysql2 keeps the unanswered query as the connection's current command, so every later
        // query on it would wait behind it, without a timer of its own: the connection goes.
        this.#timedOut = true;
        this.#raw.destroy();
        callback(new DatabaseTimeoutError(`MySQL did not answer a query within ${timeout} ms`, { cause: error }), result);
        return;
      }
      callback(error, result);
    });
  }

  release(): void {
    this.#raw.release();
  }
}
