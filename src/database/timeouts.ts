import type { Socket } from "node:net";

/**
 * Timeouts for database servers. A host that accepts TCP connections and never answers would
 * otherwise hang every operation, and `migrate()`, forever: neither pg nor mysql2 bounds a query,
 * and pg does not bound a connection attempt.
 */

/** A connection attempt, or a wait for a free pooled connection, fails after this long. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * A query fails after this long. The library's queries are indexed lookups and bounded batches
 * that take milliseconds; one still unanswered after 30 s belongs to a server that is gone or
 * stuck, and the request waiting on it is better answered with an error.
 */
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;

/**
 * The least time a query of `migrate()` gets: it may wait for another process's migration (the
 * migration lock) and may rewrite a whole table, which on a large one takes minutes.
 */
export const MIGRATION_QUERY_TIMEOUT_MS = 10 * 60_000;

/** How long `close()` lets queries in flight finish before it drops their connections. */
export const CLOSE_GRACE_MS = 1000;

/**
 * The query timeout of one pool: the configured one (0: none), or while `migrate()` runs on the
 * pool, at least `MIGRATION_QUERY_TIMEOUT_MS`. Kept per pool rather than per async context:
 * Node's AsyncLocalStorage, once used, makes every promise of the whole process slower. A
 * manager migrating first runs nothing else meanwhile (its operations wait for the migration),
 * so in practice only the migration's own queries get the longer timeout.
 */
export class QueryTimeouts {
  readonly #configured: number;
  #migrations = 0;

  constructor(configured: number) {
    this.#configured = configured;
  }

  /** Runs `work` with the migration's longer timeout for this pool's queries. */
  async duringMigration<T>(work: () => Promise<T>): Promise<T> {
    this.#migrations++;
    try {
      return await work();
    } finally {
      this.#migrations--;
    }
  }

  /** The timeout for a query starting now. */
  current(): number {
    if (this.#configured === 0) return 0;
    return this.#migrations > 0 ? Math.max(this.#configured, MIGRATION_QUERY_TIMEOUT_MS) : this.#configured;
  }
}

/**
 * The sockets a pool opened, so that `close()` can drop the ones a server never answers on. Both
 * drivers end a pool by waiting for every connection to finish what it is doing, which for a
 * connection attempt or a query on a silent server means until its timeout, while the socket
 * keeps the process alive.
 */
export class SocketTracker {
  readonly #open = new Set<Socket>();

  /** Registers a socket the driver is about to use; returns it. */
  track<S extends Socket>(socket: S): S {
    this.#open.add(socket);
    socket.once("close", () => this.#open.delete(socket));
    return socket;
  }

  /**
   * Ends the pool with `end`, giving connections `graceMs` to finish; after that, destroys the
   * sockets still open, which makes the driver give up on them and the pool end at once. Errors of
   * connections dropped that way are the expected result of dropping them and are not reported.
   */
  async endWithin(end: () => Promise<void>, graceMs: number): Promise<void> {
    const ending = end();
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    });
    try {
      const ended = await Promise.race([ending.then(() => true as const), graceOver]);
      if (ended) return;
    } finally {
      clearTimeout(timer);
    }
    for (const socket of this.#open) socket.destroy();
    await ending.catch(() => {});
  }
}

/** The `code` and `message` of a thrown value, whatever it is. */
export function errorFields(error: unknown): { code: unknown; message: string } {
  const fields = error as { code?: unknown; message?: unknown } | null;
  return { code: fields?.code, message: typeof fields?.message === "string" ? fields.message : "" };
}
