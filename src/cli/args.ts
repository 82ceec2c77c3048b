import { parseArgs } from "node:util";

/** The subcommands of `session-manager`. */
export type CommandName = "migrate" | "create-user" | "delete-user" | "list-sessions" | "revoke" | "cleanup";

interface CommandSpec {
  /** Positional argument names, all required. */
  readonly args: readonly string[];
  readonly summary: string;
  readonly description: string;
  /** Options of this command only, besides the global ones. */
  readonly options: Readonly<Record<string, { type: "string" }>>;
  readonly optionHelp: readonly string[];
  readonly examples: readonly string[];
}

const BIN = "session-manager";
export const DEFAULT_BATCH_SIZE = 1000;
const MAX_BATCH_SIZE = 100_000;

const COMMANDS: Readonly<Record<CommandName, CommandSpec>> = {
  migrate: {
    args: [],
    summary: "create or upgrade the tables",
    description:
      "Creates the tables the library uses, or upgrades them to this version. Safe to run again,\n" +
      "and safe while applications using the same database start up.",
    options: {},
    optionHelp: [],
    examples: [`${BIN} migrate --database postgres://app@db.internal/app`],
  },
  "create-user": {
    args: ["USERNAME"],
    summary: "create a user (password from a prompt or stdin)",
    description:
      "Creates a user. On a terminal the password is asked twice without echo; otherwise the first\n" +
      "line of standard input is the password. Passwords are 8 to 1024 characters.",
    options: {},
    optionHelp: [],
    examples: [`${BIN} create-user alice`, `printf '%s\\n' "$ALICE_PASSWORD" | ${BIN} create-user alice`],
  },
  "delete-user": {
    args: ["USERNAME"],
    summary: "delete a user and all of its sessions",
    description: "Deletes the user and every session of it. There is no undo.",
    options: {},
    optionHelp: [],
    examples: [`${BIN} delete-user alice`],
  },
  "list-sessions": {
    args: ["USERNAME"],
    summary: "show a user's live sessions",
    description:
      "Shows the user's live sessions, newest first: the start of the session id, when it was\n" +
      "created, last seen and when it expires (UTC), its IP address and user agent.",
    options: {},
    optionHelp: [],
    examples: [`${BIN} list-sessions alice`],
  },
  revoke: {
    args: ["USERNAME"],
    summary: "end every session of a user",
    description: "Ends every session of the user, signing it out everywhere. The account stays.",
    options: {},
    optionHelp: [],
    examples: [`${BIN} revoke alice`],
  },
  cleanup: {
    args: [],
    summary: "delete expired sessions in batches",
    description:
      "Deletes expired sessions a batch at a time, so that no lock on the sessions table is held for\n" +
      "long, even with millions of rows. Shows a progress bar on a terminal and prints a summary line.\n" +
      "Run it daily from cron or a systemd timer.",
    options: { "batch-size": { type: "string" } },
    optionHelp: [`  --batch-size N          sessions deleted per statement (default ${DEFAULT_BATCH_SIZE}, at most ${MAX_BATCH_SIZE})`],
    examples: [`${BIN} cleanup`, `${BIN} cleanup --batch-size 5000`],
  },
};

const GLOBAL_OPTIONS = {
  database: { type: "string" },
  "table-prefix": { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
} as const;

const GLOBAL_OPTION_HELP = [
  "  --database URL          sqlite:PATH, postgres://…, postgresql://…, mysql://… or mariadb://…",
  "                          (default: $SESSION_DATABASE_URL, else sqlite:sessions.db)",
  "  --table-prefix PREFIX   the tablePrefix your application uses",
  "                          (default: $SESSION_TABLE_PREFIX, else none)",
  "  -h, --help              show help",
];

/** What the command line asks for. */
export type CommandLine =
  | { kind: "help"; text: string }
  | { kind: "version" }
  | {
      kind: "run";
      command: CommandName;
      /** The positional arguments, in the order of the command's `args`. */
      args: string[];
      database: string | undefined;
      tablePrefix: string | undefined;
      batchSize: number;
    };

/** A command line that does not fit the usage; exits with 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  readonly command: CommandName | null;

  constructor(message: string, command: CommandName | null) {
    super(message);
    this.command = command;
  }
}

function isCommandName(value: string): value is CommandName {
  return Object.hasOwn(COMMANDS, value);
}

/**
 * Parses `argv` (without the node and script paths) with `util.parseArgs`. The first positional
 * is the command; options may come before or after it. Throws `UsageError`.
 */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  // A lenient first pass finds the command, whose own options decide how the rest is parsed.
  const loose = parseArgs({
    args: [...argv],
    options: { ...GLOBAL_OPTIONS, "batch-size": { type: "string" } },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const first = loose.tokens.find((token) => token.kind === "positional");
  const name = first?.kind === "positional" ? first.value : undefined;
  if (name === "help") return helpFor(loose.positionals[1]);
  if (name !== undefined && !isCommandName(name)) throw new UsageError(`unknown command "${name}"`, null);
  const command = name ?? null;
  if (loose.values["help"] === true) return { kind: "help", text: command === null ? globalHelp() : commandHelp(command) };
  if (loose.values["version"] === true) return { kind: "version" };
  if (command === null) throw new UsageError("missing command", null);

  const spec = COMMANDS[command];
  const options = { ...GLOBAL_OPTIONS, ...spec.options };
  for (const token of loose.tokens) {
    if (token.kind === "option" && !Object.hasOwn(options, token.name)) {
      throw new UsageError(`unknown option "${token.rawName}"`, command);
    }
  }
  const rest = [...argv];
  rest.splice(first!.index, 1);
  const parsed = strictParse(rest, options, command);
  const args = parsed.positionals;
  if (args.length < spec.args.length) throw new UsageError(`missing ${spec.args[args.length]}`, command);
  if (args.length > spec.args.length) throw new UsageError(`unexpected argument "${args[spec.args.length]}"`, command);
  const values: Record<string, string | boolean | undefined> = parsed.values;
  return {
    kind: "run",
    command,
    args,
    database: stringOption(values, "database", command),
    tablePrefix: stringOption(values, "table-prefix", command),
    batchSize: batchSize(stringOption(values, "batch-size", command), command),
  };
}

function strictParse(
  args: string[],
  options: Record<string, { type: "string" | "boolean"; short?: string }>,
  command: CommandName,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(parseErrorMessage(error), command);
  }
}

function stringOption(values: Record<string, string | boolean | undefined>, name: string, command: CommandName): string | undefined {
  const value = values[name];
  if (value === "") throw new UsageError(`--${name} needs a value`, command);
  return typeof value === "string" ? value : undefined;
}

function batchSize(value: string | undefined, command: CommandName): number {
  if (value === undefined) return DEFAULT_BATCH_SIZE;
  const size = /^\d{1,7}$/.test(value) ? Number(value) : NaN;
  if (!(size >= 1 && size <= MAX_BATCH_SIZE)) {
    throw new UsageError(`--batch-size must be a whole number from 1 to ${MAX_BATCH_SIZE}`, command);
  }
  return size;
}

/** Node's messages name the option; only their first sentence is kept, so they stay one line. */
function parseErrorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const sentence = /^.*?[.](?=\s|$)/.exec(message)?.[0] ?? message;
  return sentence.replace(/\.$/, "").replace(/^./, (letter) => letter.toLowerCase());
}

function helpFor(topic: string | undefined): CommandLine {
  if (topic === undefined) return { kind: "help", text: globalHelp() };
  if (!isCommandName(topic)) throw new UsageError(`unknown command "${topic}"`, null);
  return { kind: "help", text: commandHelp(topic) };
}

/** The one-line synopsis of a command, or of the whole program. */
export function usageLine(command: CommandName | null): string {
  if (command === null) return `usage: ${BIN} <command> [options]  (commands: ${Object.keys(COMMANDS).join(", ")})`;
  const spec = COMMANDS[command];
  const extra = Object.keys(spec.options).map((option) => ` [--${option} N]`).join("");
  return `usage: ${BIN} ${[command, ...spec.args].join(" ")} [--database URL]${extra}`;
}

function globalHelp(): string {
  const commands = (Object.keys(COMMANDS) as CommandName[]).map((name) => {
    const spec = COMMANDS[name];
    return `  ${[name, ...spec.args].join(" ").padEnd(24)}${spec.summary}`;
  });
  return [
    `usage: ${BIN} <command> [options]`,
    "",
    "Manages the users and sessions of a session-manager database.",
    "",
    "commands:",
    ...commands,
    "",
    "options:",
    ...GLOBAL_OPTION_HELP,
    "  -v, --version           print the version",
    "",
    `Run "${BIN} <command> --help" for a command's details.`,
    "",
    "exit codes: 0 done, 1 error (one line on stderr), 2 usage error, 130 interrupted",
    "",
  ].join("\n");
}

function commandHelp(command: CommandName): string {
  const spec = COMMANDS[command];
  return [
    usageLine(command),
    "",
    spec.description,
    "",
    "options:",
    ...spec.optionHelp,
    ...GLOBAL_OPTION_HELP,
    "",
    "examples:",
    ...spec.examples.map((example) => `  ${example}`),
    "",
  ].join("\n");
}
