import { Kysely, MysqlDialect, PostgresDialect, type Dialect } from "kysely";
// Types only: the drivers themselves are loaded when a URL names them.
import type * as Mysql2 from "mysql2";
import type * as Pg from "pg";
import { UnsupportedDatabaseError } from "../errors.js";
import { dialectKindOf, type DialectKind } from "./dialect.js";
import type { RowReader } from "./row-reader.js";
import type { Database } from "./schema.js";
import { openMysqlPool } from "./mysql-pool.js";
import { openPostgresPool } from "./postgres-pool.js";
import { PreparedSqliteDialect } from "./sqlite-dialect.js";
import { checkSqliteDriver, openSqlite, runtimeSqliteDriver, type SqliteDriver } from "./sqlite-drivers.js";
import { parseSqliteUrl } from "./sqlite-url.js";
import { TablePrefixPlugin } from "./table-prefix-plugin.js";
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_QUERY_TIMEOUT_MS, QueryTimeouts } from "./timeouts.js";

/** The driver under a database the library opened from a URL. */
export type DatabaseDriver = SqliteDriver | "pg" | "mysql2";

/** A Kysely instance ready for the library's queries, and whether the library owns its connections. */
export interface Connection {
  db: Kysely<Database>;
  kind: DialectKind;
  /** The driver the library opened the database with; null for a caller's Kysely instance. */
  driver: DatabaseDriver | null;
  /** True when the library opened the connections and so must close them. */
  owned: boolean;
  /** Runs a compiled query that reads at most one row: the validation lookup's way to the database. */
  readOne: RowReader;
  /** Runs `migrate()`'s work with the longer query timeout of migrations, where queries have one. */
  duringMigration: <T>(work: () => Promise<T>) => Promise<T>;
}

const noTimeouts = <T>(work: () => Promise<T>): Promise<T> => work();

// Waits this long for another process's write lock on a shared SQLite file before failing;
// `sqlite:PATH?busyTimeout=MS` changes it.
const SQLITE_BUSY_TIMEOUT_MS = 5000;

// Up to 64 MiB of database pages kept in memory per connection.
const SQLITE_CACHE_KIB = 64 * 1024;

/**
 * Opens a database from a URL, or adopts a caller's Kysely instance without owning it. A
 * `sqlite:` URL opens with `sqliteDriver`, by default the runtime's (`runtimeSqliteDriver`).
 */
export function connect(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely types migrations and foreign instances as Kysely<any>
  database: string | Kysely<any>,
  tablePrefix: string,
  sqliteDriver: SqliteDriver = runtimeSqliteDriver(),
): Connection {
  const plugins = tablePrefix === "" ? [] : [new TablePrefixPlugin(tablePrefix)];
  if (typeof database !== "string") {
    // The caller's plugins (CamelCasePlugin, WithSchemaPlugin…) would rewrite our column names.
    const own = database.withoutPlugins() as Kysely<Database>;
    const db = plugins.length === 0 ? own : own.withPlugin(plugins[0]!);
    return { db, kind: dialectKindOf(db), driver: null, owned: false, readOne: throughKysely(db), duringMigration: noTimeouts };
  }
  const { dialect, kind, driver, timeouts, pool } = dialectFromUrl(database, sqliteDriver);
  const db = new Kysely<Database>({ dialect, plugins });
  const viaKysely = throughKysely(db);
  // Our own SQLite connection runs the read with `get`, past Kysely's executor, whose promise chain
  // costs about as much as the indexed read itself; when the connection is busy or not open yet,
  // Kysely's way waits its turn or opens it. On a server, the read is a prepared statement on our
  // own pool once Kysely has opened it (so that Kysely also closes it). The table-prefix plugin
  // rewrites queries only, so no result transform is skipped.
  const readOne: RowReader =
    dialect instanceof PreparedSqliteDialect
      ? dialect.rowReader(viaKysely)
      : pool === null
        ? viaKysely
        : (query) => (pool.opened === null ? viaKysely(query) : pool.opened.readRow(query.sql, query.parameters));
  const duringMigration = timeouts === null ? noTimeouts : <T>(work: () => Promise<T>): Promise<T> => timeouts.duringMigration(work);
  return { db, kind, driver, owned: true, readOne, duringMigration };
}

function throughKysely(db: Kysely<Database>): RowReader {
  return async (query) => (await db.executeQuery(query)).rows[0];
}

/** A server's pool, once Kysely has opened it; its `readRow` runs prepared statements. */
interface OpenedPool {
  opened: { readRow<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<R | undefined> } | null;
}

/** Parses a database URL into a Kysely dialect; drivers are loaded only when a connection opens. */
export function dialectFromUrl(
  url: string,
  sqliteDriver: SqliteDriver = runtimeSqliteDriver(),
): {
  dialect: Dialect;
  kind: DialectKind;
  driver: DatabaseDriver;
  timeouts: QueryTimeouts | null;
  pool: OpenedPool | null;
} {
  const scheme = /^([a-z0-9]+):/i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case "sqlite": {
      const { path, busyTimeout } = parseSqliteUrl(url);
      checkSqliteDriver(sqliteDriver);
      const dialect = sqliteDialect(sqliteDriver, path, busyTimeout ?? SQLITE_BUSY_TIMEOUT_MS);
      return { dialect, kind: "sqlite", driver: sqliteDriver, timeouts: null, pool: null };
    }
    case "postgres":
    case "postgresql":
      return { ...postgresDialect(url), kind: "postgres", driver: "pg" };
    case "mysql":
    case "mariadb":
      return { ...mysqlDialect(url), kind: "mysql", driver: "mysql2" };
    default:
      throw new UnsupportedDatabaseError(
        `unsupported database URL scheme "${scheme ?? ""}": use sqlite:, postgres://, postgresql://, mysql:// or mariadb://`,
      );
  }
}

function sqliteDialect(driver: SqliteDriver, path: string, busyTimeout: number): PreparedSqliteDialect {
  return new PreparedSqliteDialect(async () => {
    const database = await openSqlite(driver, path);
    // The same settings on every driver, as pragmas, so that a file behaves alike under each.
    database.exec(`pragma busy_timeout = ${busyTimeout}`);
    // WAL lets readers in other processes go on while one process writes.
    if (path !== ":memory:") database.exec("pragma journal_mode = WAL");
    database.exec("pragma foreign_keys = ON");
    database.exec("pragma synchronous = NORMAL");
    // SQLite's default 2 MiB page cache holds little of a large sessions table, and a page it
    // misses is a read from the file. Pages are kept only once read, so a small database stays small.
    database.exec(`pragma cache_size = -${SQLITE_CACHE_KIB}`);
    return database;
  });
}

function postgresDialect(url: string): { dialect: Dialect; timeouts: QueryTimeouts; pool: OpenedPool } {
  // Read now, so that a malformed option fails `new SessionManager()` rather than the first request.
  const { connectionString, options } = splitPoolOptions(url, {
    max: null,
    idleTimeoutMillis: null,
    connectionTimeoutMillis: DEFAULT_CONNECT_TIMEOUT_MS,
    query_timeout: DEFAULT_QUERY_TIMEOUT_MS,
  });
  const { query_timeout: queryTimeout, connectionTimeoutMillis, ...rest } = options;
  const timeouts = new QueryTimeouts(queryTimeout!);
  const pool: OpenedPool = { opened: null };
  const dialect = new PostgresDialect({
    pool: async () => {
      const pg = await loadPeer<typeof Pg>("pg", "PostgreSQL", () => import("pg"));
      const Pool = pg.Pool ?? (pg as unknown as { default: typeof Pg }).default.Pool;
      return (pool.opened = openPostgresPool(Pool, {
        connectionString,
        ...rest,
        connectionTimeoutMillis: connectionTimeoutMillis!,
        queryTimeout: timeouts,
      }));
    },
  });
  return { dialect, timeouts, pool };
}

function mysqlDialect(url: string): { dialect: Dialect; timeouts: QueryTimeouts; pool: OpenedPool } {
  const { connectionString, options } = splitPoolOptions(url.replace(/^mariadb:/i, "mysql:"), {
    connectionLimit: null,
    queueLimit: null,
    connectTimeout: DEFAULT_CONNECT_TIMEOUT_MS,
    queryTimeout: DEFAULT_QUERY_TIMEOUT_MS,
  });
  const { queryTimeout, connectTimeout, ...rest } = options;
  const timeouts = new QueryTimeouts(queryTimeout!);
  const pool: OpenedPool = { opened: null };
  const dialect = new MysqlDialect({
    pool: async () => {
      const mysql = await loadPeer<typeof Mysql2>("mysql2", "MySQL/MariaDB", () => import("mysql2"));
      const createPool = mysql.createPool ?? (mysql as unknown as { default: typeof Mysql2 }).default.createPool;
      return (pool.opened = openMysqlPool(createPool, {
        uri: connectionString,
        ...rest,
        connectTimeout: connectTimeout!,
        queryTimeout: timeouts,
      }));
    },
  });
  return { dialect, timeouts, pool };
}

/**
 * Takes the library's numeric settings out of a server URL's query string, with their defaults
 * (null: the driver's own); the rest of the query string stays for the driver to read.
 */
function splitPoolOptions<Name extends string>(
  url: string,
  defaults: Record<Name, number | null>,
): { connectionString: string; options: Partial<Record<Name, number>> } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new UnsupportedDatabaseError("the database URL is malformed", { cause: error });
  }
  const options: Partial<Record<Name, number>> = {};
  for (const name of Object.keys(defaults) as Name[]) {
    const value = parsed.searchParams.get(name);
    if (value === null) {
      if (defaults[name] !== null) options[name] = defaults[name];
      continue;
    }
    const number = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(number)) {
      throw new UnsupportedDatabaseError(`database URL option ${name} must be a whole number`);
    }
    options[name] = number;
    parsed.searchParams.delete(name);
  }
  return { connectionString: parsed.toString(), options };
}

export async function loadPeer<T>(name: string, what: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if ((error as { code?: string }).code === "ERR_MODULE_NOT_FOUND" || (error as { code?: string }).code === "MODULE_NOT_FOUND") {
      throw new UnsupportedDatabaseError(`${what} needs the "${name}" package: npm install ${name}`, { cause: error });
    }
    throw error;
  }
}
