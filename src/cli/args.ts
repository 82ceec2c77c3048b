import { parseArgs, type ParseArgsConfig } from "node:util";
import { commandHelp, globalHelp } from "./help.js";
import {
  COMMANDS,
  DEFAULT_BATCH_SIZE,
  GLOBAL_OPTIONS,
  MAX_BATCH_SIZE,
  SESSION_ID_PREFIX,
  isCommandName,
  type CommandName,
} from "./spec.js";

/** What the command line asks for. */
export type CommandLine =
  | { kind: "help"; text: string }
  | { kind: "version" }
  | {
      kind: "run";
      command: CommandName;
      /** The positional arguments, in the order of the command's `args`, then any of its `optionalArgs`. */
      args: string[];
      database: string | undefined;
      tablePrefix: string | undefined;
      batchSize: number;
      /** `create-user --email`. */
      email: string | undefined;
      /** `reset-link --link`, checked: an absolute http(s) URL without a `token` parameter. */
      link: URL | undefined;
      /** `list-sessions --json`. */
      json: boolean;
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

/**
 * Parses `argv` (without the node and script paths) with `util.parseArgs`. The first positional
 * is the command; options may come before or after it. Throws `UsageError`.
 */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  // A lenient first pass finds the command, whose own options decide how the rest is parsed.
  const everyOption = Object.assign(
    {},
    GLOBAL_OPTIONS,
    ...Object.values(COMMANDS).map((spec) => spec.options),
  ) as ParseArgsConfig["options"];
  const loose = parseArgs({
    args: [...argv],
    options: everyOption,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const first = loose.tokens.find((token) => token.kind === "positional");
  const name = first?.kind === "positional" ? first.value : undefined;
  if (name === "help") return helpFor(loose.positionals[1]);
  if (name !== undefined && !isCommandName(name)) throw new UsageError(`unknown command "${name}"`, null);
  const command = name ?? null;
  // Only a flag on its own counts: "-hQ2x…" is a session id starting with a dash, not -h.
  const flag = (flagName: string): boolean =>
    loose.tokens.some((token) => token.kind === "option" && token.name === flagName && argv[token.index] === token.rawName);
  if (flag("help")) return { kind: "help", text: command === null ? globalHelp() : commandHelp(command) };
  if (flag("version")) return { kind: "version" };
  if (command === null) throw new UsageError("missing command", null);

  const spec = COMMANDS[command];
  const options = { ...GLOBAL_OPTIONS, ...spec.options };
  for (const token of loose.tokens) {
    if (token.kind === "option" && !Object.hasOwn(options, token.name)) {
      // A known option of another command is a misplaced option, not a session id.
      const hint = Object.hasOwn(everyOption!, token.name) ? "" : dashedIdHint(command, argv[token.index]);
      throw new UsageError(`unknown option "${token.rawName}"${hint}`, command);
    }
  }
  const rest = [...argv];
  rest.splice(first!.index, 1);
  const parsed = strictParse(rest, options, command);
  const args = parsed.positionals;
  const most = spec.args.length + (spec.optionalArgs?.length ?? 0);
  if (args.length < spec.args.length) throw new UsageError(`missing ${spec.args[args.length]}`, command);
  if (args.length > most) throw new UsageError(`unexpected argument "${args[most]}"`, command);
  if (command === "revoke" && args[1] !== undefined && [...args[1]].length < SESSION_ID_PREFIX) {
    throw new UsageError(
      `SESSION_ID must be at least ${SESSION_ID_PREFIX} characters of a session id, as list-sessions prints it`,
      command,
    );
  }
  const values: Record<string, string | boolean | undefined> = parsed.values;
  for (const [name, option] of Object.entries(spec.options)) {
    if (option.type === "string" && option.required === true && values[name] === undefined) {
      throw new UsageError(`missing --${name} ${option.value}`, command);
    }
  }
  const link = stringOption(values, "link", command);
  return {
    kind: "run",
    command,
    args,
    database: stringOption(values, "database", command),
    tablePrefix: stringOption(values, "table-prefix", command),
    batchSize: batchSize(stringOption(values, "batch-size", command), command),
    email: stringOption(values, "email", command),
    link: link === undefined ? undefined : linkUrl(link, command),
    json: values["json"] === true,
  };
}

/**
 * Session ids are base64url, so one in 64 starts with "-" and reads as an option: for `revoke`,
 * an unknown "option" that looks like an id gets told where ids that start with a dash go.
 */
function dashedIdHint(command: CommandName, arg: string | undefined): string {
  if (command !== "revoke" || arg === undefined || !new RegExp(`^-[A-Za-z0-9_-]{${SESSION_ID_PREFIX - 1},}$`).test(arg)) return "";
  return `; if ${arg} is a session id, put it after --: session-manager revoke USERNAME -- ${arg}`;
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

/**
 * The page a reset link points to, checked as the HTTP handlers check their `link` option: the
 * token is added to it as the `token` query parameter, so it must be absolute, http(s), and
 * without a `token` parameter of its own.
 */
function linkUrl(value: string, command: CommandName): URL {
  const url = URL.canParse(value) ? new URL(value) : null;
  if (url === null || (url.protocol !== "https:" && url.protocol !== "http:")) {
    throw new UsageError("--link must be an absolute http(s) URL such as https://app.example.com/reset-password", command);
  }
  if (url.searchParams.has("token")) throw new UsageError("--link must not have a token parameter of its own", command);
  return url;
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
