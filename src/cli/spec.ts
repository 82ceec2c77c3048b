/** The commands and options of `session-manager`, from which parsing and help are both made. */

/** The subcommands of `session-manager`. */
export type CommandName =
  "migrate" | "create-user" | "delete-user" | "list-sessions" | "revoke" | "reset-link" | "disable-totp" | "cleanup";

/** An option of one command: one taking a value, or a flag. */
export type OptionSpec =
  | {
      readonly type: "string";
      /** The value's name in usage lines: `--link URL`. */
      readonly value: string;
      /** A required option is shown without brackets, and its absence is a usage error. */
      readonly required?: boolean;
    }
  | { readonly type: "boolean" };

export interface CommandSpec {
  /** Positional argument names, all required. */
  readonly args: readonly string[];
  /** Positional arguments that may follow the required ones, in this order. */
  readonly optionalArgs?: readonly string[];
  readonly summary: string;
  readonly description: string;
  /** Options of this command only, besides the global ones. */
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly optionHelp: readonly string[];
  readonly examples: readonly string[];
}

export const BIN = "session-manager";
export const DEFAULT_BATCH_SIZE = 1000;
export const MAX_BATCH_SIZE = 100_000;
/** `list-sessions` shows this much of each session id, and `revoke` takes a prefix at least this long. */
export const SESSION_ID_PREFIX = 8;

export const COMMANDS: Readonly<Record<CommandName, CommandSpec>> = {
  migrate: {
    args: [],
    summary: "create or upgrade the tables",
    description:
      "Creates the tables the library uses, or upgrades them to this version. Safe to run again,\n" +
      "and safe while applications using the same database start up. Also checks every stored\n" +
      "username against the current rules, and warns on stderr about users that are now one name\n" +
      "or whose name is now refused (neither is changed).",
    options: {},
    optionHelp: [],
    examples: [`${BIN} migrate --database postgres://app@db.internal/app`],
  },
  "create-user": {
    args: ["USERNAME"],
    summary: "create a user (password from a prompt or stdin)",
    description:
      "Creates a user. On a terminal the password is asked twice without echo; otherwise the first\n" +
      "line of standard input is the password. Passwords are 8 to 1024 characters. With --email the\n" +
      "user gets that address, unverified until a link sent to it is followed; password reset links\n" +
      "go only to it.",
    options: { email: { type: "string", value: "ADDRESS" } },
    optionHelp: ["  --email ADDRESS         the user's email address (unique, compared case-insensitively)"],
    examples: [
      `${BIN} create-user alice`,
      `${BIN} create-user alice --email alice@example.com`,
      `printf '%s\\n' "$ALICE_PASSWORD" | ${BIN} create-user alice`,
    ],
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
      `Shows the user's live sessions, newest first: the first ${SESSION_ID_PREFIX} characters of the session id\n` +
      "(enough for revoke), when it was created, last seen and when it expires (UTC), its IP address\n" +
      "and user agent. With --json, prints a JSON array instead: each session with its full id, the\n" +
      "times in ISO 8601, when its user last entered the password (authenticatedAt) and whether its\n" +
      "cookie outlives the browser session (persistent); never a token.",
    options: { json: { type: "boolean" } },
    optionHelp: ["  --json                  print the sessions as a JSON array, with full ids"],
    examples: [`${BIN} list-sessions alice`, `${BIN} list-sessions alice --json | jq -r '.[].id'`],
  },
  revoke: {
    args: ["USERNAME"],
    optionalArgs: ["SESSION_ID"],
    summary: "end every session of a user, or one",
    description:
      "Ends every session of the user, signing it out everywhere; with SESSION_ID, ends only that\n" +
      "session. SESSION_ID is the id as list-sessions prints it: the full id, or its first\n" +
      `${SESSION_ID_PREFIX} characters or more, which must match exactly one live session of the user. An id\n` +
      'that starts with "-" goes after "--". The account stays.',
    options: {},
    optionHelp: [],
    examples: [`${BIN} revoke alice`, `${BIN} revoke alice 9f2c41d0`, `${BIN} revoke alice -- -Jq7TbZw`],
  },
  "reset-link": {
    args: ["USERNAME_OR_EMAIL"],
    summary: "print a one-time password reset link for a user",
    description:
      "Prints a one-time password reset link on standard output (what it is for, and until when it\n" +
      "works, go to stderr), for an operator to hand to a user who cannot receive the app's mail.\n" +
      "It is --link with ?token=… added, as the password reset request handler builds it; the page\n" +
      "there sends the token and a new password to the password reset handler. Sets no password.\n" +
      "\n" +
      "The link works once, for an hour, and only while the account keeps its email address: reset\n" +
      "links are bound to that address, so a user without one cannot get a link. It replaces any\n" +
      "reset link issued before, and counts toward the limit of 5 per user per hour. Following it\n" +
      "signs the user out everywhere and marks the address verified: give it only to the\n" +
      "account's owner, best by mail to that address.",
    options: { link: { type: "string", value: "URL", required: true } },
    optionHelp: ["  --link URL              the absolute http(s) URL of your app's password reset page"],
    examples: [
      `${BIN} reset-link alice --link https://app.example.com/reset-password`,
      `${BIN} reset-link alice@example.com --link https://app.example.com/reset-password`,
    ],
  },
  "disable-totp": {
    args: ["USERNAME"],
    summary: "turn off two-factor authentication for a user",
    description:
      "Turns off two-factor authentication (TOTP) for a user who lost both the authenticator app and\n" +
      "the recovery codes: deletes the secret, the recovery codes and any sign-in waiting for a code,\n" +
      "and signs the user out everywhere. The password alone signs in again afterwards, so make sure\n" +
      "first that the person asking owns the account. Needs no TOTP key.",
    options: {},
    optionHelp: [],
    examples: [`${BIN} disable-totp alice`],
  },
  cleanup: {
    args: [],
    summary: "delete expired sessions in batches",
    description:
      "Deletes expired sessions a batch at a time, so that no lock on the sessions table is held for\n" +
      "long, even with millions of rows. Shows a progress bar on a terminal and prints a summary line.\n" +
      "Run it daily from cron or a systemd timer.",
    options: { "batch-size": { type: "string", value: "N" } },
    optionHelp: [`  --batch-size N          sessions deleted per statement (default ${DEFAULT_BATCH_SIZE}, at most ${MAX_BATCH_SIZE})`],
    examples: [`${BIN} cleanup`, `${BIN} cleanup --batch-size 5000`],
  },
};

export const GLOBAL_OPTIONS = {
  database: { type: "string" },
  "table-prefix": { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
} as const;

/** True when `value` names a command. */
export function isCommandName(value: string): value is CommandName {
  return Object.hasOwn(COMMANDS, value);
}
