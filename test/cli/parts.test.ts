import { PassThrough } from "node:stream";
import { UnsupportedDatabaseError } from "session-manager";
import { parseCommandLine, UsageError } from "../../src/cli/args";
import { InterruptedError, CliError } from "../../src/cli/io";
import { readPassword } from "../../src/cli/password";
import { renderProgress } from "../../src/cli/progress";
import { formatTable, formatTime, truncate } from "../../src/cli/table";
import { redactDatabaseUrl, sqliteFilePath } from "../../src/cli/commands/context";

/**
 * The pieces of the CLI that the binary tests reach only through a terminal or only in part:
 * raw-mode key handling, layout, and option parsing corners.
 */

/** A stand-in for a terminal's stdin that records raw-mode switches. */
class FakeTerminal extends PassThrough {
  readonly isTTY = true;
  readonly rawModes: boolean[] = [];

  setRawMode(mode: boolean): this {
    this.rawModes.push(mode);
    return this;
  }
}

function collector(): { write(chunk: string): boolean; text: () => string } {
  let text = "";
  return {
    write(chunk: string): boolean {
      text += chunk;
      return true;
    },
    text: () => text,
  };
}

describe("readPassword on a terminal", () => {
  it("takes both answers typed ahead in one chunk, drops escape sequences, and restores the mode", async () => {
    const input = new FakeTerminal();
    const prompts = collector();
    const answer = readPassword(input, prompts, { confirm: true });
    input.write("pass\u001b[Dword1\u001bOA\rpass");
    input.write("word1\r");
    await expect(answer).resolves.toBe("password1");
    expect(prompts.text()).toBe("Password: \nRepeat password: \n");
    expect(input.rawModes).toEqual([true, false]);
  });

  it("handles backspace and Ctrl-U, and answers Ctrl-C with InterruptedError, leaving raw mode", async () => {
    const input = new FakeTerminal();
    const answer = readPassword(input, collector(), { confirm: false });
    input.write("wrong\u0015passworx\u007fd\r");
    await expect(answer).resolves.toBe("password");

    const interrupted = new FakeTerminal();
    const cancelled = readPassword(interrupted, collector(), { confirm: true });
    interrupted.write("pass\u0003");
    await expect(cancelled).rejects.toBeInstanceOf(InterruptedError);
    expect(interrupted.rawModes).toEqual([true, false]);
  });

  it("checks the first answer before asking again, and refuses an empty Ctrl-D", async () => {
    const input = new FakeTerminal();
    const prompts = collector();
    const answer = readPassword(input, prompts, {
      confirm: true,
      check: (password) => {
        if (password.length < 8) throw new CliError("too short");
      },
    });
    input.write("short\r");
    await expect(answer).rejects.toThrow("too short");
    expect(prompts.text()).toBe("Password: \n");

    const eof = new FakeTerminal();
    const nothing = readPassword(eof, collector(), { confirm: false });
    eof.write("\u0004");
    await expect(nothing).rejects.toThrow("no password entered");
  });
});

describe("readPassword from a pipe", () => {
  it("reads the first line across chunks and stops there", async () => {
    const input = new PassThrough();
    const answer = readPassword(input, collector(), { confirm: true });
    input.write("pass");
    input.write("word one\r\nignored\n");
    await expect(answer).resolves.toBe("password one");
  });

  it("refuses an input that ends before any character", async () => {
    const input = new PassThrough();
    const answer = readPassword(input, collector(), { confirm: false });
    input.end();
    await expect(answer).rejects.toThrow("no password on standard input");
  });
});

describe("layout", () => {
  it("aligns columns without trailing blanks", () => {
    expect(
      formatTable(
        ["A", "LONG"],
        [
          ["wide cell", "x"],
          ["b", "yy"],
        ],
      ),
    ).toBe("A          LONG\nwide cell  x\nb          yy");
  });

  it("truncates by characters with an ellipsis", () => {
    expect(truncate("abcdef", 4)).toBe("abc…");
    expect(truncate("abcd", 4)).toBe("abcd");
    expect(truncate("😀😀😀", 2)).toBe("😀…");
  });

  it("prints times as ISO 8601 UTC to the minute", () => {
    expect(formatTime(new Date(Date.UTC(2026, 0, 31, 9, 5, 59)))).toBe("2026-01-31T09:05Z");
    expect(formatTime(null)).toBe("-");
  });

  it("draws a bar with a total, a count without one, within the width", () => {
    expect(renderProgress(500, 1000, "done", 100)).toBe(`[${"#".repeat(20)}${"-".repeat(20)}]  50% 500/1,000 done`);
    expect(renderProgress(1200, null, "done", 60)).toBe("1,200 done");
    expect(renderProgress(0, 0, "done", 80)).toContain("100%");
    expect(renderProgress(500, 1000, "done", 60)).toHaveLength(59);
    expect(renderProgress(3, 10, "expired sessions deleted", 30).length).toBeLessThanOrEqual(29);
  });
});

describe("database URLs", () => {
  it("reads SQLite paths as the core does", () => {
    expect(sqliteFilePath("sqlite:data/app.db")).toBe("data/app.db");
    expect(sqliteFilePath("sqlite:///var/lib/app.db")).toBe("/var/lib/app.db");
    expect(sqliteFilePath("sqlite:my%20app.db")).toBe("my app.db");
    expect(sqliteFilePath("sqlite::memory:")).toBeNull();
    expect(sqliteFilePath("postgres://localhost/app")).toBeNull();
  });

  it("takes the busy timeout off a SQLite URL, as the core does, rather than reading it as part of the file name", () => {
    expect(sqliteFilePath("sqlite:app.db?busyTimeout=100")).toBe("app.db");
    expect(sqliteFilePath("sqlite:///var/lib/app.db?busyTimeout=0")).toBe("/var/lib/app.db");
    expect(sqliteFilePath("sqlite::memory:?busyTimeout=100")).toBeNull();
    expect(() => sqliteFilePath("sqlite:app.db?mode=ro")).toThrow(UnsupportedDatabaseError);
  });

  it("hides passwords", () => {
    expect(redactDatabaseUrl("postgres://app:s3cret@db:5432/app")).toBe("postgres://app:***@db:5432/app");
    expect(redactDatabaseUrl("mysql://root@localhost/app")).toBe("mysql://root@localhost/app");
  });
});

describe("parseCommandLine", () => {
  it("accepts options before or after the command, and -- before a username starting with a dash", () => {
    expect(parseCommandLine(["--database", "sqlite:x.db", "revoke", "alice"])).toMatchObject({
      command: "revoke",
      args: ["alice"],
      database: "sqlite:x.db",
    });
    expect(parseCommandLine(["revoke", "--database=sqlite:x.db", "--", "-alice"])).toMatchObject({ command: "revoke", args: ["-alice"] });
    expect(parseCommandLine(["cleanup"])).toMatchObject({ batchSize: 1000 });
  });

  it("reads --email for create-user and a checked --link for reset-link, and neither for other commands", () => {
    expect(parseCommandLine(["create-user", "alice", "--email", "alice@example.com"])).toMatchObject({
      email: "alice@example.com",
      link: undefined,
    });
    const line = parseCommandLine(["reset-link", "alice", "--link", "https://app.example.com/reset?lang=en#form"]);
    expect(line).toMatchObject({ command: "reset-link", args: ["alice"], email: undefined });
    expect(line.kind === "run" && line.link?.href).toBe("https://app.example.com/reset?lang=en#form");
    expect(() => parseCommandLine(["reset-link", "alice"])).toThrow(new UsageError("missing --link URL", "reset-link"));
    expect(() => parseCommandLine(["revoke", "alice", "--link", "https://app.example.com/"])).toThrow(
      new UsageError('unknown option "--link"', "revoke"),
    );
  });

  it("throws UsageError naming the command", () => {
    expect(() => parseCommandLine(["revoke", "-x", "alice"])).toThrow(new UsageError('unknown option "-x"', "revoke"));
  });
});
