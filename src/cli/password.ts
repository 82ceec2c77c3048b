import { CliError, InterruptedError, type CliInput, type CliOutput } from "./io.js";

// Far above the 1024-character limit, so a real password is never cut, but a stream of garbage is.
const MAX_LINE_LENGTH = 16 * 1024;

/**
 * Reads a password: on a terminal, prompts on `prompts` without echo, asks again when `confirm`
 * is set, and throws `InterruptedError` on Ctrl-C; otherwise the first line of `input` (without
 * its line ending). `check` runs on the first answer, so a bad password fails before the repeat.
 */
export async function readPassword(
  input: CliInput,
  prompts: CliOutput,
  options: { confirm: boolean; check?: (password: string) => void },
): Promise<string> {
  if (input.isTTY !== true || typeof input.setRawMode !== "function") {
    const line = await readFirstLine(input);
    if (line === null) throw new CliError("no password on standard input: pipe one line in, or run in a terminal to be asked");
    return line;
  }
  // Raw mode goes on before the first prompt and stays on between the two, so keys typed ahead
  // are never echoed.
  input.setRawMode(true);
  try {
    const reader = new HiddenLineReader(input, prompts);
    const password = await reader.ask("Password: ");
    options.check?.(password);
    if (options.confirm && (await reader.ask("Repeat password: ")) !== password) {
      throw new CliError("the passwords do not match");
    }
    return password;
  } finally {
    input.setRawMode(false);
    input.pause();
  }
}

/** The first line of the stream, or null when it ends before giving a single character. */
export async function readFirstLine(input: CliInput): Promise<string | null> {
  input.setEncoding("utf8");
  let text = "";
  let sawData = false;
  for await (const chunk of input) {
    sawData = true;
    text += String(chunk);
    if (text.includes("\n") || text.length > MAX_LINE_LENGTH) break;
  }
  if (!sawData) return null;
  const end = text.indexOf("\n");
  return (end === -1 ? text : text.slice(0, end)).replace(/\r$/, "");
}

/**
 * Line input from a terminal in raw mode (set by the caller), where the terminal neither echoes nor handles editing
 * keys, so backspace, Ctrl-U and Ctrl-C are handled here. Keys typed ahead of the next prompt are
 * kept for it.
 */
class HiddenLineReader {
  readonly #input: CliInput;
  readonly #prompts: CliOutput;
  #pending = "";

  constructor(input: CliInput, prompts: CliOutput) {
    this.#input = input;
    this.#prompts = prompts;
  }

  ask(prompt: string): Promise<string> {
    const input = this.#input;
    this.#prompts.write(prompt);
    input.setEncoding("utf8");
    return new Promise<string>((resolve, reject) => {
      let value = "";
      const finish = (): void => {
        input.removeListener("data", onData);
        input.removeListener("end", onEnd);
        input.pause();
        this.#prompts.write("\n");
      };
      const take = (keys: string): boolean => {
        // Arrow and function keys arrive as escape sequences; none of them belongs in a password.
        const chars = [...keys.replace(/\u001b(\[[0-9;?]*[ -/]*[@-~]|O.|.)?/g, "")];
        for (let i = 0; i < chars.length; i++) {
          const char = chars[i]!;
          if (char === "\r" || char === "\n" || (char === "\u0004" && value !== "")) {
            this.#pending = chars
              .slice(i + 1)
              .join("")
              .replace(/^\n/, "");
            finish();
            resolve(value);
            return true;
          }
          if (char === "\u0003" || char === "\u0004") {
            finish();
            reject(char === "\u0003" ? new InterruptedError() : new CliError("no password entered"));
            return true;
          }
          if (char === "\u007f" || char === "\b") value = [...value].slice(0, -1).join("");
          else if (char === "\u0015") value = "";
          else if (char >= " ") value += char;
        }
        return false;
      };
      const onData = (chunk: string | Buffer): void => {
        take(String(chunk));
      };
      const onEnd = (): void => {
        finish();
        reject(new CliError("no password entered"));
      };
      const pending = this.#pending;
      this.#pending = "";
      if (take(pending)) return;
      input.on("data", onData);
      input.on("end", onEnd);
      input.resume();
    });
  }
}
