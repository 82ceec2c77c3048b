import type { CompiledQuery } from "kysely";

/** Runs a compiled query that reads at most one row; undefined when there is none. */
export type RowReader = <R>(query: CompiledQuery<R>) => Promise<R | undefined>;

/**
 * Runs a compiled single-row read synchronously when the connection allows it (an open SQLite
 * connection nobody holds), else answers `NOT_NOW` for the caller to use the `RowReader`.
 * Database errors are thrown.
 */
export type RowReaderNow = <R>(query: CompiledQuery<R>) => R | undefined | typeof NOT_NOW;

/**
 * The answer of a synchronous read that has to wait: take the asynchronous way instead.
 * Registered, so that the HTTP middleware of one module format recognizes it from a manager of
 * the other (the CommonJS and ESM builds would otherwise hold two different symbols).
 */
export const NOT_NOW: unique symbol = Symbol.for("session-manager.notNow");

/** For databases that are never read synchronously. */
export const neverNow: RowReaderNow = () => NOT_NOW;
