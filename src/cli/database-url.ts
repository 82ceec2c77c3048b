import { isSqliteUrl } from "../database/sqlite-url.js";

/** The database server a URL names, for messages: `PostgreSQL` at `db:5432`. */
export interface ServerAddress {
  /** `PostgreSQL`, `MySQL` or `MariaDB`. */
  product: string;
  /** The host as written in the URL (`localhost` when it names none). */
  host: string;
  /** The port as written, else the product's default. */
  port: number;
}

const KNOWN_SCHEMES = new Set(["sqlite", "postgres", "postgresql", "mysql", "mariadb"]);

const SERVERS: Readonly<Record<string, { product: string; port: number }>> = {
  postgres: { product: "PostgreSQL", port: 5432 },
  postgresql: { product: "PostgreSQL", port: 5432 },
  mysql: { product: "MySQL", port: 3306 },
  mariadb: { product: "MariaDB", port: 3306 },
};

// Query parameters that drivers read as a password.
const SECRET_PARAMETERS = ["password", "pass", "pwd"];

/**
 * The URL with any password replaced by `***`, fit to print: the one before the `@`, and a
 * `?password=` that a driver would read as well.
 */
export function redactDatabaseUrl(database: string): string {
  if (isSqliteUrl(database)) return database;
  try {
    const url = new URL(database);
    if (url.password !== "") url.password = "***";
    for (const name of SECRET_PARAMETERS) {
      if (url.searchParams.has(name)) url.searchParams.set(name, "***");
    }
    return url.toString();
  } catch {
    return database.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@").replace(/([?&](?:password|pass|pwd)=)[^&#]*/gi, "$1***");
  }
}

/**
 * The secrets a database URL carries, as they may appear in text: the password before the `@`
 * (decoded and as written) and any `?password=`. The CLI strikes them from what it prints, in case
 * a driver's message ever quotes one.
 */
export function databaseSecrets(database: string): string[] {
  if (isSqliteUrl(database)) return [];
  const secrets = new Set<string>();
  // As written, also when the URL is malformed or lacks its scheme (`app:pw@db/app`).
  const written = /^(?:[a-z][a-z0-9+.-]*:\/\/)?[^:/@]*:([^@/]*)@/i.exec(database)?.[1];
  if (written !== undefined) secrets.add(written).add(safeDecode(written));
  if (URL.canParse(database)) {
    const url = new URL(database);
    secrets.add(url.password).add(safeDecode(url.password));
    for (const name of SECRET_PARAMETERS) {
      for (const value of url.searchParams.getAll(name)) secrets.add(value);
    }
  }
  secrets.delete("");
  return [...secrets];
}

/** The server a `postgres://`, `mysql://`… URL names; null for SQLite and anything unreadable. */
export function serverAddress(database: string): ServerAddress | null {
  const scheme = /^([a-z0-9]+):/i.exec(database)?.[1]?.toLowerCase() ?? "";
  const server = SERVERS[scheme];
  const url = serverUrl(database);
  if (server === undefined || url === null) return null;
  return { product: server.product, host: url.hostname === "" ? "localhost" : url.hostname, port: Number(url.port || server.port) };
}

/** The user name in a server URL, decoded; null when it names none. */
export function databaseUser(database: string): string | null {
  const username = serverUrl(database)?.username ?? "";
  return username === "" ? null : safeDecode(username);
}

/** The database name in a server URL, decoded; null when it names none. */
export function databaseName(database: string): string | null {
  const name = serverUrl(database)?.pathname.replace(/^\//, "") ?? "";
  return name === "" ? null : safeDecode(name);
}

/**
 * A server URL parsed; one without a host (`postgres://app:pw@/app?host=/var/run/postgresql`,
 * which the drivers read as localhost or the socket) is read as if it named localhost.
 */
function serverUrl(database: string): URL | null {
  if (URL.canParse(database)) return new URL(database);
  const withHost = database.replace(/^([a-z0-9]+:\/\/(?:[^@/?#]*@)?)(?=[/?#]|$)/i, "$1localhost");
  return URL.canParse(withHost) ? new URL(withHost) : null;
}

/**
 * What is wrong with a `--database` value that is not a URL at all, or null when it looks like
 * one: a bare file path (`sessions.db`, `./data/app.db`, `C:\data\app.db`) is most likely a SQLite
 * file meant with `sqlite:` in front. `given` names where the value came from.
 */
export function databaseUrlProblem(database: string, given: string): string | null {
  if (/^[a-z]:[\\/]/i.test(database)) return `${given} ${JSON.stringify(database)} is not a database URL: did you mean sqlite:${database}?`;
  const scheme = /^([a-z0-9]+):/i.exec(database)?.[1]?.toLowerCase();
  // `user:pw@db/app`: a server URL without its scheme, shown without the part that may be a password.
  if (database.includes("@") && (scheme === undefined || !KNOWN_SCHEMES.has(scheme))) {
    return `${given} is not a database URL: start it with postgres://, mysql:// or mariadb://`;
  }
  if (scheme !== undefined) return null;
  // `db.internal:5432/app`: a server without a scheme, not a file.
  if (/^[^/\\]+:\d+(?:[/?]|$)/.test(database)) {
    return `${given} ${JSON.stringify(database)} is not a database URL: start it with postgres://, mysql:// or mariadb://`;
  }
  return `${given} ${JSON.stringify(database)} is not a database URL: did you mean sqlite:${database}?`;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
