import { existsSync } from "node:fs";
import { isSqliteUrl, parseSqliteUrl } from "../../database/sqlite-url.js";
import { SessionManager } from "../../session-manager.js";
import type { User } from "../../types.js";
import { CliError, type CliIo } from "../io.js";

/** What every command gets: the streams, its arguments and the database to work on. */
export interface CommandContext {
  io: CliIo;
  /** Positional arguments, as the command declares them. */
  args: string[];
  database: string;
  tablePrefix: string;
  batchSize: number;
  /** `--email`, as given. */
  email: string | undefined;
  /** `--link`, checked by the parser. */
  link: URL | undefined;
  /** `--json`. */
  json: boolean;
}

/**
 * Opens a manager on the context's database, runs `work` with it and closes it, also on failure,
 * so that no pool keeps the process alive.
 */
export async function withManager<T>(
  context: CommandContext,
  options: { autoMigrate: boolean },
  work: (manager: SessionManager) => Promise<T>,
): Promise<T> {
  const manager = new SessionManager({ database: context.database, tablePrefix: context.tablePrefix, autoMigrate: options.autoMigrate });
  try {
    return await work(manager);
  } finally {
    await manager.close();
  }
}

/** The user with this name, or a `CliError` naming it. */
export async function requireUser(manager: SessionManager, username: string): Promise<User> {
  const user = await manager.getUser(username);
  if (user === null) throw new CliError(`no user named ${JSON.stringify(username)}`);
  return user;
}

/**
 * Refuses a SQLite URL whose file does not exist. SQLite would create an empty file, so a typo in
 * the path, or running in the wrong directory, would otherwise look like "no such user".
 */
export function requireExistingDatabase(database: string): void {
  const path = sqliteFilePath(database);
  if (path !== null && !existsSync(path)) {
    throw new CliError(`no SQLite database at ${path}: check --database, or run "session-manager migrate" to create it`);
  }
}

/**
 * The file path of a `sqlite:` URL, read by the parser the core opens it with; null for other URLs
 * and `sqlite::memory:`. A malformed `sqlite:` URL throws the core's `UnsupportedDatabaseError`.
 */
export function sqliteFilePath(database: string): string | null {
  if (!isSqliteUrl(database)) return null;
  const { path } = parseSqliteUrl(database);
  return path === ":memory:" ? null : path;
}

/** "1 session", "2 sessions". */
export function plural(count: number, noun: string): string {
  return `${count.toLocaleString("en-US")} ${noun}${count === 1 ? "" : "s"}`;
}
