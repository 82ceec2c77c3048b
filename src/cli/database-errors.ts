import { dirname } from "node:path";
import { isSqliteUrl, parseSqliteUrl } from "../database/sqlite-url.js";
import { databaseName, databaseUser, redactDatabaseUrl, serverAddress, type ServerAddress } from "./database-url.js";

/** A driver's error, or one the library wraps, as far as messages need it. */
interface CodedError {
  code: string;
  message: string;
  /** The address a socket error was about: `127.0.0.1`, or a Unix socket's path. */
  address?: unknown;
  /** The host name a DNS error was about. */
  hostname?: unknown;
}

// What each code means, from the drivers (pg: SQLSTATE; mysql2: error names; Node: errno names),
// the library (database_timeout) and better-sqlite3.
const CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "28P01",
  "28000",
  "3D000",
  "ER_ACCESS_DENIED_ERROR",
  "ER_ACCESS_DENIED_NO_PASSWORD_ERROR",
  "ER_DBACCESS_DENIED_ERROR",
  "ER_BAD_DB_ERROR",
  "database_timeout",
  "SQLITE_CANTOPEN",
  "SQLITE_NOTADB",
]);

// better-sqlite3 throws this one as a plain TypeError, without a code.
const SQLITE_NO_DIRECTORY = "Cannot open database because the directory does not exist";

/**
 * One line about a failure to reach or open `database`, naming it (password redacted) and the
 * likely fix, such as `cannot connect to postgres://app:***@db/app: connection refused: is
 * PostgreSQL running on db:5432?`; null for any other error, which is then shown as it is. Never
 * shows a password: it builds its own text from the URL's redacted form and the error's code.
 */
export function describeDatabaseError(error: unknown, database: string): string | null {
  const found = findCoded(error, 0);
  if (isSqliteUrl(database)) return describeSqliteError(found ?? error, database);
  const server = serverAddress(database);
  if (found === null || server === null) return null;
  const where = redactDatabaseUrl(database);
  const cannot = `cannot connect to ${where}`;
  const at = `${server.host}:${server.port}`;
  const user = databaseUser(database);
  const forUser = user === null ? "" : ` for user ${JSON.stringify(user)}`;
  switch (found.code) {
    case "ECONNREFUSED": {
      const socket = typeof found.address === "string" && found.address.startsWith("/") ? found.address : null;
      return socket === null
        ? `${cannot}: connection refused: is ${server.product} running on ${at}?`
        : `${cannot}: connection refused: is ${server.product} running, with its socket at ${socket}?`;
    }
    case "ENOTFOUND":
      return `${cannot}: cannot resolve host ${JSON.stringify(hostOf(found, server))}: check the host name`;
    case "EAI_AGAIN":
      return `${cannot}: cannot resolve host ${JSON.stringify(hostOf(found, server))} (the DNS lookup failed, perhaps for now): check the host name and this machine's network`;
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `${cannot}: no route to ${at}: check the host, and this machine's network`;
    case "ETIMEDOUT":
      return `${cannot}: ${at} did not answer: is it reachable from here (a firewall may drop the packets)?`;
    case "28P01":
    case "ER_ACCESS_DENIED_ERROR":
    case "ER_ACCESS_DENIED_NO_PASSWORD_ERROR":
      return `${cannot}: authentication failed${forUser}: check the user name and password`;
    case "28000":
      // PostgreSQL's "role does not exist" and "no pg_hba.conf entry": its message says which.
      return `${cannot}: ${oneLine(found.message)}: check the user name, and that the server accepts it from this host`;
    case "ER_DBACCESS_DENIED_ERROR":
      return `${cannot}: ${oneLine(found.message)}: grant the user access to the database, or check the names`;
    case "3D000":
    case "ER_BAD_DB_ERROR": {
      const name = databaseName(database);
      const missing = name === null ? oneLine(found.message) : `database ${JSON.stringify(name)} does not exist`;
      return `${cannot}: ${missing}: create it, or check the database name`;
    }
    case "database_timeout":
      return describeTimeout(found, where, server);
    default:
      return null;
  }
}

/**
 * The library's timeouts: a connection attempt nobody answered (a host that drops packets, or a
 * port where something else listens), or a query.
 */
function describeTimeout(error: CodedError, where: string, server: ServerAddress): string {
  const connecting = /^no \S+ connection within (\d+) ms/.exec(error.message);
  if (connecting !== null) {
    return (
      `cannot connect to ${where}: no answer from ${server.host}:${server.port} within ${connecting[1]} ms: ` +
      `is it reachable from here, and a ${server.product} server?`
    );
  }
  return `${where}: ${oneLine(error.message)}: the server may be overloaded, or a lock held by another session; try again`;
}

function describeSqliteError(error: unknown, database: string): string | null {
  let path: string;
  try {
    path = parseSqliteUrl(database).path;
  } catch {
    return null;
  }
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof message !== "string") return null;
  if (message === SQLITE_NO_DIRECTORY) return `cannot open ${database}: the directory ${dirname(path)} does not exist`;
  if (code === "SQLITE_CANTOPEN") {
    return `cannot open ${database}: ${oneLine(message)}: check the path, and that this user may read and write it and its directory`;
  }
  if (code === "SQLITE_NOTADB") return `cannot open ${database}: the file is not a SQLite database: check the path`;
  return null;
}

/** The first error with a known code in `error`, the errors it aggregates, and its causes. */
function findCoded(error: unknown, depth: number): CodedError | null {
  if (depth > 4 || typeof error !== "object" || error === null) return null;
  const { code, message, address, hostname } = error as { code?: unknown; message?: unknown; address?: unknown; hostname?: unknown };
  if (typeof code === "string" && CODES.has(code)) {
    return { code, message: typeof message === "string" ? message : "", address, hostname };
  }
  // Node reports a connection to a name with several addresses as an AggregateError of one per address.
  const inner = [...(error instanceof AggregateError ? (error.errors as unknown[]) : []), (error as { cause?: unknown }).cause];
  for (const candidate of inner) {
    const found = findCoded(candidate, depth + 1);
    if (found !== null) return found;
  }
  return null;
}

function hostOf(error: CodedError, server: ServerAddress): string {
  return typeof error.hostname === "string" && error.hostname !== "" ? error.hostname : server.host;
}

function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, " ").trim();
}
