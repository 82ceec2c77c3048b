import { UnsupportedDatabaseError } from "../errors.js";

/** What a `sqlite:` URL names: the file (or `:memory:`) and the busy timeout it asks for. */
export interface SqliteUrl {
  /** A file path as given (relative to the working directory), or `:memory:`. */
  path: string;
  /** Milliseconds from `?busyTimeout=`, or null when the URL does not set it. */
  busyTimeout: number | null;
}

/** Whether a database URL is a `sqlite:` one, whatever the case of its scheme. */
export function isSqliteUrl(url: string): boolean {
  return /^sqlite:/i.test(url);
}

/**
 * Reads a `sqlite:` URL: `sqlite:data/app.db`, `sqlite://data/app.db`, `sqlite:///abs/app.db`,
 * `sqlite::memory:`, each optionally followed by `?busyTimeout=MS`. The core opens what this
 * returns and the command line checks that very file exists, so both must read URLs alike.
 * Any other query parameter is refused rather than silently becoming part of the file name.
 */
export function parseSqliteUrl(url: string): SqliteUrl {
  if (!isSqliteUrl(url)) throw new UnsupportedDatabaseError(`not a sqlite: URL: ${url}`);
  const rest = url.slice("sqlite:".length);
  const question = rest.indexOf("?");
  const location = question === -1 ? rest : rest.slice(0, question);
  const busyTimeout = question === -1 ? null : readBusyTimeout(rest.slice(question + 1));
  if (location === ":memory:" || location === "//:memory:") return { path: ":memory:", busyTimeout };
  const path = location.startsWith("//") ? location.slice(2) : location;
  if (path === "") throw new UnsupportedDatabaseError("sqlite: URL names no file: use sqlite:PATH or sqlite::memory:");
  return { path: decodeURIComponent(path), busyTimeout };
}

function readBusyTimeout(query: string): number | null {
  let busyTimeout: number | null = null;
  for (const [name, value] of new URLSearchParams(query)) {
    const number = Number(value);
    if (name !== "busyTimeout" || !/^\d+$/.test(value) || !Number.isSafeInteger(number)) {
      throw new UnsupportedDatabaseError("a sqlite: URL takes only ?busyTimeout=MILLISECONDS (a whole number)");
    }
    busyTimeout = number;
  }
  return busyTimeout;
}
