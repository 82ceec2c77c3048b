/** A readable stream as the CLI needs it: `process.stdin`, or a test's stand-in. */
export interface CliInput extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

/** A writable stream as the CLI needs it: `process.stdout` / `process.stderr`, or a stand-in. */
export interface CliOutput {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Everything the CLI touches outside itself, passed in so that nothing is read at module load. */
export interface CliIo {
  stdin: CliInput;
  stdout: CliOutput;
  stderr: CliOutput;
  env: Readonly<Record<string, string | undefined>>;
  /** The package version printed by `--version`. */
  version?: string;
}

/** A failure to report on one line with exit code 1. */
export class CliError extends Error {
  override readonly name = "CliError";
}

/** The user pressed Ctrl-C at a prompt; exits with 130 as a shell does for SIGINT. */
export class InterruptedError extends Error {
  override readonly name = "InterruptedError";

  constructor() {
    super("interrupted");
  }
}

/** The width of a terminal, or 80 when it reports none (a pseudo-terminal may say 0). */
export function terminalColumns(out: CliOutput): number {
  return out.columns !== undefined && out.columns > 0 ? out.columns : 80;
}
