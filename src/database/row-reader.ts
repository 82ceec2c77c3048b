import type { CompiledQuery } from "kysely";

/**
 * Runs a compiled query that reads at most one row: the row (undefined when there is none) at
 * once when the connection allows a synchronous read (the library's own SQLite connection, free),
 * else a promise of it. Database errors are thrown or rejected, never turned into "no row".
 */
export type RowReader = <R>(query: CompiledQuery<R>) => R | undefined | Promise<R | undefined>;
