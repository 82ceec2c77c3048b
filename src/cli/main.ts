import { SessionManagerError } from "../errors.js";
import { parseCommandLine, UsageError, type CommandLine } from "./args.js";
import { usageLine } from "./help.js";
import type { CommandName } from "./spec.js";
import type { CommandContext } from "./commands/context.js";
import { describeDatabaseError } from "./database-errors.js";
import { databaseSecrets, databaseUrlProblem } from "./database-url.js";
import { CliError, InterruptedError, type CliIo } from "./io.js";

export type { CliIo, CliInput, CliOutput } from "./io.js";

/** Exit codes of `session-manager`. */
export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

type Command = (context: CommandContext) => Promise<void>;

// Loaded on use: help and usage errors then answer without loading database drivers or argon2.
const RUNNERS: Readonly<Record<CommandName, () => Promise<Command>>> = {
  migrate: async () => (await import("./commands/migrate.js")).migrateCommand,
  "create-user": async () => (await import("./commands/create-user.js")).createUserCommand,
  "delete-user": async () => (await import("./commands/delete-user.js")).deleteUserCommand,
  "list-sessions": async () => (await import("./commands/list-sessions.js")).listSessionsCommand,
  revoke: async () => (await import("./commands/revoke.js")).revokeCommand,
  "reset-link": async () => (await import("./commands/reset-link.js")).resetLinkCommand,
  "disable-totp": async () => (await import("./commands/disable-totp.js")).disableTotpCommand,
  cleanup: async () => (await import("./commands/cleanup.js")).cleanupCommand,
};

/**
 * Runs the `session-manager` command line and resolves to its exit code: 0 done, 1 an error
 * reported on one line of stderr, 2 a usage error, 130 Ctrl-C at a prompt. Never rejects, and
 * never prints a stack trace.
 *
 * ### Examples
 *
 * ```sh
 * npx session-manager list-sessions alice --database postgres://localhost/app
 * ```
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let commandLine: CommandLine;
  try {
    commandLine = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) return reportError(io, error);
    const help = error.command === null ? "session-manager --help" : `session-manager ${error.command} --help`;
    io.stderr.write(`error: ${error.message}\n${usageLine(error.command)}\nrun "${help}" for details\n`);
    return EXIT_USAGE;
  }
  if (commandLine.kind === "help") {
    io.stdout.write(commandLine.text);
    return EXIT_OK;
  }
  if (commandLine.kind === "version") {
    io.stdout.write(`${io.version ?? "unknown"}\n`);
    return EXIT_OK;
  }
  const fromEnv = nonEmpty(io.env["SESSION_DATABASE_URL"]);
  const context: CommandContext = {
    io,
    args: commandLine.args,
    database: commandLine.database ?? fromEnv ?? "sqlite:sessions.db",
    tablePrefix: commandLine.tablePrefix ?? nonEmpty(io.env["SESSION_TABLE_PREFIX"]) ?? "",
    batchSize: commandLine.batchSize,
    email: commandLine.email,
    link: commandLine.link,
    json: commandLine.json,
  };
  try {
    const problem = databaseUrlProblem(context.database, commandLine.database === undefined ? "SESSION_DATABASE_URL" : "--database");
    if (problem !== null) throw new CliError(problem);
    const command = await RUNNERS[commandLine.command]();
    await command(context);
    return EXIT_OK;
  } catch (error) {
    if (error instanceof InterruptedError) return EXIT_INTERRUPTED;
    return reportError(io, error, context.database);
  }
}

/**
 * Writes the one `error:` line. A failure to reach the database is described with its redacted
 * URL and the likely fix. Any other message comes from elsewhere (a driver, the server), so the
 * URL's password is struck from it, should it ever quote one.
 */
function reportError(io: CliIo, error: unknown, database?: string): number {
  const described = database === undefined ? null : describeDatabaseError(error, database);
  let line = described ?? describeError(error);
  if (described === null && database !== undefined) {
    for (const secret of databaseSecrets(database)) line = line.split(secret).join("***");
  }
  io.stderr.write(`error: ${line}\n`);
  return EXIT_ERROR;
}

/**
 * One line about any thrown value. The library's own errors carry messages written for users;
 * driver errors are shown by their message, and a network error with an empty one (Node's
 * AggregateError over several addresses) by its first inner error.
 */
export function describeError(error: unknown): string {
  if (error instanceof SessionManagerError) return oneLine(error.message);
  if (error instanceof AggregateError && error.message === "" && error.errors.length > 0) {
    return describeError(error.errors[0]);
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    if (error.message !== "") return oneLine(error.message);
    return typeof code === "string" ? code : error.name;
  }
  return oneLine(String(error));
}

function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, " ").trim();
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
