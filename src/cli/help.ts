import { BIN, COMMANDS, type CommandName } from "./spec.js";

const GLOBAL_OPTION_HELP = [
  "  --database URL          sqlite:PATH, postgres://…, postgresql://…, mysql://… or mariadb://…",
  "                          (default: $SESSION_DATABASE_URL, else sqlite:sessions.db)",
  "  --table-prefix PREFIX   the tablePrefix your application uses",
  "                          (default: $SESSION_TABLE_PREFIX, else none)",
  "  -h, --help              show help",
];

/** The one-line synopsis of a command, or of the whole program. */
export function usageLine(command: CommandName | null): string {
  if (command === null) return `usage: ${BIN} <command> [options]  (commands: ${Object.keys(COMMANDS).join(", ")})`;
  const spec = COMMANDS[command];
  const options = Object.entries(spec.options).map(([name, option]) => ({
    text: option.type === "string" ? `--${name} ${option.value}` : `--${name}`,
    required: option.type === "string" && option.required === true,
  }));
  const required = options.filter((option) => option.required).map((option) => option.text);
  const optional = options.filter((option) => !option.required).map((option) => `[${option.text}]`);
  const args = [...spec.args, ...(spec.optionalArgs ?? []).map((arg) => `[${arg}]`)];
  return `usage: ${BIN} ${[command, ...args, ...required, "[--database URL]", ...optional].join(" ")}`;
}

/** A command with its arguments, as the command list of the global help shows it: `revoke USERNAME [SESSION_ID]`. */
function synopsis(command: CommandName): string {
  const spec = COMMANDS[command];
  return [command, ...spec.args, ...(spec.optionalArgs ?? []).map((arg) => `[${arg}]`)].join(" ");
}

/** The help of the whole program. */
export function globalHelp(): string {
  const names = (Object.keys(COMMANDS) as CommandName[]).map(synopsis);
  const width = Math.max(24, ...names.map((name) => name.length + 2));
  const commands = (Object.keys(COMMANDS) as CommandName[]).map((name, i) => `  ${names[i]!.padEnd(width)}${COMMANDS[name].summary}`);
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

/** The help of one command. */
export function commandHelp(command: CommandName): string {
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
