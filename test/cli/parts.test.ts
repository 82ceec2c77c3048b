import { PassThrough } from "node:stream";
import { DatabaseTimeoutError, UnsupportedDatabaseError, type Session } from "session-manager";
import { parseCommandLine, UsageError } from "../../src/cli/args";
import { describeDatabaseError } from "../../src/cli/database-errors";
import { databaseSecrets, databaseUrlProblem, redactDatabaseUrl } from "../../src/cli/database-url";
import { InterruptedError, CliError } from "../../src/cli/io";
import { readPassword } from "../../src/cli/password";
import { renderProgress } from "../../src/cli/progress";
import { formatTable, formatTime, truncate } from "../../src/cli/table";
import { sqliteFilePath } from "../../src/cli/commands/context";
import { sessionJson } from "../../src/cli/commands/list-sessions";
import { migrationSummary } from "../../src/cli/commands/migrate";
import { findSession } from "../../src/cli/commands/revoke";

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

  it("hides passwords, also one in the query string or in a URL that does not parse", () => {
    expect(redactDatabaseUrl("postgres://app:s3cret@db:5432/app")).toBe("postgres://app:***@db:5432/app");
    expect(redactDatabaseUrl("mysql://root@localhost/app")).toBe("mysql://root@localhost/app");
    expect(redactDatabaseUrl("postgres://app@db/app?password=s3cret&sslmode=require")).toBe(
      "postgres://app@db/app?password=***&sslmode=require",
    );
    expect(redactDatabaseUrl("postgres://app:s3cret@db:99999/app")).toBe("postgres://app:***@db:99999/app");
    expect(databaseSecrets("postgres://app:p%40ss@db/app?password=other")).toEqual(expect.arrayContaining(["p%40ss", "p@ss", "other"]));
    expect(databaseSecrets("app:s3cret@db/app")).toContain("s3cret");
    expect(databaseSecrets("mysql://root@localhost/app")).toEqual([]);
    expect(databaseSecrets("sqlite:app.db")).toEqual([]);
  });

  it("takes a bare path for a SQLite file meant with sqlite: in front, and says so", () => {
    expect(databaseUrlProblem("sessions.db", "--database")).toBe(
      '--database "sessions.db" is not a database URL: did you mean sqlite:sessions.db?',
    );
    expect(databaseUrlProblem("./data/app.db", "SESSION_DATABASE_URL")).toBe(
      'SESSION_DATABASE_URL "./data/app.db" is not a database URL: did you mean sqlite:./data/app.db?',
    );
    expect(databaseUrlProblem("/var/lib/app.db", "--database")).toContain("did you mean sqlite:/var/lib/app.db?");
    expect(databaseUrlProblem("C:\\data\\app.db", "--database")).toContain("did you mean sqlite:C:\\data\\app.db?");
    // A server without its scheme is not a file; a password in it is not shown.
    expect(databaseUrlProblem("db.internal:5432/app", "--database")).toBe(
      '--database "db.internal:5432/app" is not a database URL: start it with postgres://, mysql:// or mariadb://',
    );
    expect(databaseUrlProblem("app:s3cret@db/app", "--database")).toBe(
      "--database is not a database URL: start it with postgres://, mysql:// or mariadb://",
    );
    for (const url of ["sqlite:app.db", "sqlite::memory:", "postgres://db/app", "mysql://root:pw@db/app", "ftp://example.com/db"]) {
      expect(databaseUrlProblem(url, "--database")).toBeNull();
    }
  });
});

describe("describeDatabaseError", () => {
  const PG = "postgres://app:s3cret-pw@db.internal/app";
  const MY = "mysql://app:s3cret-pw@db.internal:3307/app";
  const coded = (code: string, message = "", fields: object = {}): Error => Object.assign(new Error(message), { code }, fields);

  // The local test servers cannot produce these (PostgreSQL trusts local connections, so a wrong
  // password succeeds there; the others need a broken network); the CLI tests cover the rest live.
  it.each([
    [
      PG,
      coded("28P01", 'password authentication failed for user "app"'),
      'authentication failed for user "app": check the user name and password',
    ],
    [
      MY,
      coded("ER_ACCESS_DENIED_ERROR", "Access denied for user 'app'@'10.0.0.2' (using password: YES)"),
      'authentication failed for user "app"',
    ],
    [
      PG,
      coded("28000", 'no pg_hba.conf entry for host "10.0.0.2", user "app", database "app", no encryption'),
      "no pg_hba.conf entry for host",
    ],
    [PG, coded("3D000", 'database "app" does not exist'), 'database "app" does not exist: create it, or check the database name'],
    [MY, coded("ER_BAD_DB_ERROR", "Unknown database 'app'"), 'database "app" does not exist: create it'],
    [
      PG,
      coded("EAI_AGAIN", "getaddrinfo EAI_AGAIN db.internal", { hostname: "db.internal" }),
      'cannot resolve host "db.internal" (the DNS lookup failed',
    ],
    [PG, coded("EHOSTUNREACH", "connect EHOSTUNREACH 10.0.0.9:5432"), "no route to db.internal:5432"],
    [MY, coded("ETIMEDOUT", "connect ETIMEDOUT"), "db.internal:3307 did not answer: is it reachable from here"],
    // Node's AggregateError over a name's several addresses, each refused.
    [
      PG,
      Object.assign(new AggregateError([coded("ECONNREFUSED", "connect ECONNREFUSED ::1:5432"), coded("ECONNREFUSED", "")], ""), {
        code: "ECONNREFUSED",
      }),
      "connection refused: is PostgreSQL running on db.internal:5432?",
    ],
    [
      "postgres://app:s3cret-pw@/app?host=/var/run/postgresql",
      coded("ECONNREFUSED", "connect ECONNREFUSED /var/run/postgresql/.s.PGSQL.5432", { address: "/var/run/postgresql/.s.PGSQL.5432" }),
      "is PostgreSQL running, with its socket at /var/run/postgresql/.s.PGSQL.5432?",
    ],
    [
      PG,
      new DatabaseTimeoutError("PostgreSQL did not answer a query within 30000 ms"),
      "PostgreSQL did not answer a query within 30000 ms: the server may be overloaded",
    ],
    [
      MY,
      new DatabaseTimeoutError("no MySQL connection within 10000 ms: the server did not answer", { cause: coded("ETIMEDOUT") }),
      "no answer from db.internal:3307 within 10000 ms: is it reachable from here, and a MySQL server?",
    ],
  ])("describes %s %p with the redacted URL and the likely fix", (url, error, expected) => {
    const line = describeDatabaseError(error, url)!;
    expect(line).toContain(expected);
    expect(line).toContain(redactDatabaseUrl(url));
    expect(line).toContain(":***@");
    expect(line).not.toContain("s3cret");
    expect(line).not.toContain("\n");
  });

  it("leaves other errors alone", () => {
    expect(describeDatabaseError(coded("42P01", 'relation "x" does not exist'), PG)).toBeNull();
    expect(describeDatabaseError(new Error("boom"), PG)).toBeNull();
    expect(describeDatabaseError(coded("ECONNREFUSED"), "sqlite:app.db")).toBeNull();
    expect(describeDatabaseError("a string", PG)).toBeNull();
  });
});

describe("migrationSummary", () => {
  const where = "postgres://app:***@db/app";
  const state = (applied: boolean[]) => applied.map((done, i) => ({ name: `m${i + 1}`, applied: done }));

  it("says whether it created the tables, upgraded them or found nothing to do", () => {
    expect(migrationSummary(state([false, false, false]), where)).toBe(`created the tables in ${where} (3 migrations applied)`);
    expect(migrationSummary(state([true, false, false]), where)).toBe(`applied 2 migrations in ${where}: m2, m3`);
    expect(migrationSummary(state([true, true, false]), where)).toBe(`applied 1 migration in ${where}: m3`);
    expect(migrationSummary(state([true, true]), where)).toBe(`schema already up to date in ${where}: nothing to apply`);
  });
});

describe("revoke's session ids", () => {
  const session = (id: string): Session => ({
    id,
    userId: 1,
    createdAt: new Date(0),
    expiresAt: new Date(1),
    lastSeenAt: null,
    ip: null,
    userAgent: null,
    authenticatedAt: new Date(0),
    persistent: true,
  });
  const sessions = [session("abcdefgh1234567890ABCD"), session("abcdefgX1234567890ABCD"), session("abcdefghZZZZ")];

  it("takes the full id or a prefix that matches exactly one session", () => {
    expect(findSession(sessions, "abcdefgX", '"alice"').id).toBe("abcdefgX1234567890ABCD");
    expect(findSession(sessions, "abcdefgh1", '"alice"').id).toBe("abcdefgh1234567890ABCD");
    // A full id that is also the start of another id is that session.
    expect(findSession([...sessions, session("abcdefghZZZZmore")], "abcdefghZZZZ", '"alice"').id).toBe("abcdefghZZZZ");
  });

  it("refuses a prefix of several ids, and one of none, ids being case-sensitive", () => {
    expect(() => findSession(sessions, "abcdefgh", '"alice"')).toThrow(
      new CliError(
        '2 live sessions of "alice" have ids starting with "abcdefgh": give more of the id (list-sessions --json shows them in full)',
      ),
    );
    expect(() => findSession(sessions, "ABCDEFGH", '"alice"')).toThrow(
      new CliError('"alice" has no live session whose id starts with "ABCDEFGH"'),
    );
    expect(() => findSession([], "abcdefgh", '"alice"')).toThrow(CliError);
  });

  it("prints the public fields of a session for --json, and nothing else", () => {
    const full = { ...session("abcdefgh1234567890ABCD"), renewed: true, tokenHash: "0".repeat(64) } as Session;
    expect(sessionJson(full)).toEqual({
      id: "abcdefgh1234567890ABCD",
      createdAt: "1970-01-01T00:00:00.000Z",
      lastSeenAt: null,
      expiresAt: "1970-01-01T00:00:00.001Z",
      authenticatedAt: "1970-01-01T00:00:00.000Z",
      ip: null,
      userAgent: null,
      persistent: true,
    });
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

  it("takes an optional SESSION_ID for revoke, of at least 8 characters, and --json for list-sessions only", () => {
    expect(parseCommandLine(["revoke", "alice"])).toMatchObject({ args: ["alice"], json: false });
    expect(parseCommandLine(["revoke", "alice", "abcdefgh"])).toMatchObject({ args: ["alice", "abcdefgh"] });
    expect(parseCommandLine(["revoke", "alice", "--", "-bcdefgh"])).toMatchObject({ args: ["alice", "-bcdefgh"] });
    expect(() => parseCommandLine(["revoke", "alice", "abcdefg"])).toThrow(
      new UsageError("SESSION_ID must be at least 8 characters of a session id, as list-sessions prints it", "revoke"),
    );
    expect(() => parseCommandLine(["revoke", "alice", "abcdefgh", "more"])).toThrow(new UsageError('unexpected argument "more"', "revoke"));
    expect(() => parseCommandLine(["delete-user", "alice", "abcdefgh"])).toThrow(
      new UsageError('unexpected argument "abcdefgh"', "delete-user"),
    );
    expect(parseCommandLine(["list-sessions", "alice", "--json"])).toMatchObject({ command: "list-sessions", json: true });
    expect(() => parseCommandLine(["revoke", "alice", "--json"])).toThrow(new UsageError('unknown option "--json"', "revoke"));
  });

  it("tells where a session id that starts with a dash goes, rather than reading it as -h or -v", () => {
    for (const id of ["-hQ2xabcdefZ", "-vQ2xabcdefZ", "--Q2xabcdefZ"]) {
      expect(() => parseCommandLine(["revoke", "alice", id])).toThrow(
        expect.objectContaining({
          message: expect.stringContaining(`; if ${id} is a session id, put it after --: session-manager revoke USERNAME -- ${id}`),
        }),
      );
    }
    // An option of another command is misplaced, not an id.
    expect(() => parseCommandLine(["revoke", "alice", "--batch-size", "10"])).toThrow(
      new UsageError('unknown option "--batch-size"', "revoke"),
    );
    expect(parseCommandLine(["revoke", "alice", "-h"])).toMatchObject({ kind: "help" });
    expect(parseCommandLine(["-v"])).toEqual({ kind: "version" });
  });
});
