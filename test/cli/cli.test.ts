import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { SessionManager, type User } from "session-manager";
import { connect } from "../../src/database/connect";
import { createMigrator } from "../../src/database/migrations";
import { DatabaseFixture, describeEachDatabase, describeSkipped, testDatabase, uniqueName } from "../setup/databases";
import { FIRST_RELEASE, firstReleaseDatabase } from "../setup/first-release";
import { appCode } from "../setup/totp";

/**
 * Runs the built `bin/session-manager.js` as a child process, the way users run it, against every
 * database a second process can reach. Terminal behaviour (the hidden password prompt, the
 * progress bar) runs under util-linux `script`, which gives the child a pseudo-terminal.
 */

const ROOT = join(__dirname, "..", "..");
const BIN = join(ROOT, "bin", "session-manager.js");
const VERSION: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
const DAY_MS = 24 * 60 * 60 * 1000;
const PASSWORD = "correct horse battery";
const LINK_ERROR = "--link must be an absolute http(s) URL such as https://app.example.com/reset-password";
const HAS_SCRIPT = spawnSync("script", ["--version"]).status === 0;
const postgresUrl = process.env["SESSION_TEST_POSTGRES_URL"];
const mysqlUrl = process.env["SESSION_TEST_MYSQL_URL"];

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  /** Written to stdin, which is then closed; stdin is closed at once without it. */
  input?: string;
  env?: Record<string, string>;
  cwd?: string;
}

/** The environment without the variables the CLI reads, so the caller's shell cannot leak in. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && name !== "SESSION_DATABASE_URL" && name !== "SESSION_TABLE_PREFIX") env[name] = value;
  }
  return env;
}

function run(args: string[], options: RunOptions = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env: { ...baseEnv(), ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}

/**
 * Runs the CLI on a pseudo-terminal. Each step waits until the terminal output holds `when`
 * (counted from after the previous step's match), then types `type`.
 */
function runInTerminal(args: string[], steps: { when: string; type: string }[] = []): Promise<Result> {
  const command = [process.execPath, BIN, ...args].map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["--quiet", "--flush", "--return", "--command", command, "/dev/null"], {
      cwd: ROOT,
      env: { ...baseEnv(), COLUMNS: "100", LINES: "40" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let output = "";
    let searchFrom = 0;
    let step = 0;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
      while (step < steps.length) {
        const at = output.indexOf(steps[step]!.when, searchFrom);
        if (at === -1) break;
        searchFrom = at + steps[step]!.when.length;
        child.stdin.write(steps[step]!.type);
        step++;
      }
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      // The terminal turns each "\n" into "\r\n"; tests compare plain lines.
      resolve({ code, stdout: output.replace(/\r\n/g, "\n"), stderr: "" });
    });
  });
}

/** `text` with the characters that mean something in a regular expression escaped. */
function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A one-line error on stderr and nothing that looks like a stack trace. */
function expectOneLineError(result: Result, code: number, message: string | RegExp): void {
  expect(result.code).toBe(code);
  expect(result.stdout).toBe("");
  const lines = result.stderr.split("\n").filter((line) => line !== "");
  const first = lines[0] ?? "";
  if (typeof message === "string") expect(first).toBe(`error: ${message}`);
  else expect(first).toMatch(message);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  if (code === 1) expect(lines).toHaveLength(1);
}

/** The names of the library's migrations, in order, as a fresh database lists them. */
async function migrationNames(): Promise<string[]> {
  const { db, kind } = connect("sqlite::memory:", "");
  try {
    return (await createMigrator(db, kind, "").getMigrations()).map((migration) => migration.name);
  } finally {
    await db.destroy();
  }
}

/** What `migrate` prints on a database without the library's tables. */
async function createdLine(where: string): Promise<string> {
  return `created the tables in ${where} (${(await migrationNames()).length} migrations applied)\n`;
}

/** A TCP server that accepts connections and never says a word: a database that does not answer. */
async function silentServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

beforeAll(() => {
  // `npm test` builds first; a lone `npx jest test/cli` on a clean checkout builds here.
  if (!existsSync(join(ROOT, "dist", "cjs", "src", "cli", "main.js"))) {
    execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" });
  }
}, 120_000);

describe("session-manager CLI: help, version and usage errors", () => {
  it("prints the global help on --help and -h, naming every command", async () => {
    for (const flag of ["--help", "-h"]) {
      const result = await run([flag]);
      expect(result.code).toBe(0);
      expect(result.stderr).toBe("");
      expect(result.stdout).toMatch(/^usage: session-manager <command> \[options\]/);
      for (const command of [
        "migrate",
        "create-user USERNAME",
        "delete-user USERNAME",
        "list-sessions USERNAME",
        "revoke USERNAME [SESSION_ID]",
        "reset-link USERNAME_OR_EMAIL",
        "disable-totp USERNAME",
        "cleanup",
      ]) {
        expect(result.stdout).toContain(`  ${command} `);
      }
      expect(result.stdout).toContain("--database URL");
      expect(result.stdout).toContain("exit codes: 0 done, 1 error");
    }
  });

  it.each([
    ["migrate", "usage: session-manager migrate [--database URL]"],
    ["create-user", "usage: session-manager create-user USERNAME [--database URL] [--email ADDRESS]"],
    ["delete-user", "usage: session-manager delete-user USERNAME [--database URL]"],
    ["list-sessions", "usage: session-manager list-sessions USERNAME [--database URL] [--json]"],
    ["revoke", "usage: session-manager revoke USERNAME [SESSION_ID] [--database URL]"],
    ["reset-link", "usage: session-manager reset-link USERNAME_OR_EMAIL --link URL [--database URL]"],
    ["disable-totp", "usage: session-manager disable-totp USERNAME [--database URL]"],
    ["cleanup", "usage: session-manager cleanup [--database URL] [--batch-size N]"],
  ])("prints the help of %s with --help and help", async (command, usage) => {
    const results = await Promise.all([run([command, "--help"]), run(["help", command])]);
    for (const result of results) {
      expect(result.code).toBe(0);
      expect(result.stderr).toBe("");
      expect(result.stdout.split("\n")[0]).toBe(usage);
      expect(result.stdout).toContain("examples:");
    }
    expect(results[1].stdout).toBe(results[0].stdout);
  });

  it("takes -h before or after a command, and mentions --batch-size only in the help of cleanup", async () => {
    const [cleanup, revoke] = await Promise.all([run(["-h", "cleanup"]), run(["revoke", "-h"])]);
    expect(cleanup.stdout).toMatch(/^usage: session-manager cleanup /);
    expect(cleanup.stdout).toContain("--batch-size N");
    expect(revoke.stdout).toMatch(/^usage: session-manager revoke /);
    expect(revoke.stdout).not.toContain("--batch-size");
  });

  it("prints the package version on --version and -v", async () => {
    for (const flag of ["--version", "-v"]) {
      expect(await run([flag])).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: "" });
    }
  });

  it.each([
    [[], "missing command", "usage: session-manager <command> [options]"],
    [["frobnicate"], 'unknown command "frobnicate"', "usage: session-manager <command> [options]"],
    [["help", "frobnicate"], 'unknown command "frobnicate"', "usage: session-manager <command> [options]"],
    [["migrate", "--frob"], 'unknown option "--frob"', "usage: session-manager migrate [--database URL]"],
    [
      ["revoke", "alice", "--batch-size", "10"],
      'unknown option "--batch-size"',
      "usage: session-manager revoke USERNAME [SESSION_ID] [--database URL]",
    ],
    [
      ["revoke", "alice", "9f2c41d"],
      "SESSION_ID must be at least 8 characters of a session id, as list-sessions prints it",
      "usage: session-manager revoke USERNAME [SESSION_ID] [--database URL]",
    ],
    [["revoke", "alice", "9f2c41d0", "x"], 'unexpected argument "x"', "usage: session-manager revoke USERNAME [SESSION_ID]"],
    [
      ["revoke", "alice", "-hQ2x41d0"],
      'unknown option "-Q"; if -hQ2x41d0 is a session id, put it after --: session-manager revoke USERNAME -- -hQ2x41d0',
      "usage: session-manager revoke USERNAME [SESSION_ID]",
    ],
    [["revoke", "alice", "--json"], 'unknown option "--json"', "usage: session-manager revoke USERNAME [SESSION_ID]"],
    [["list-sessions", "alice", "--json=yes"], "option '--json' does not take an argument", "usage: session-manager list-sessions"],
    [["create-user"], "missing USERNAME", "usage: session-manager create-user USERNAME [--database URL] [--email ADDRESS]"],
    [["create-user", "alice", "--email"], "option '--email <value>' argument missing", "usage: session-manager create-user"],
    [["revoke", "alice", "--email", "a@example.com"], 'unknown option "--email"', "usage: session-manager revoke USERNAME"],
    [["reset-link", "alice"], "missing --link URL", "usage: session-manager reset-link USERNAME_OR_EMAIL --link URL [--database URL]"],
    [["reset-link", "--link", "https://app.example.com/reset"], "missing USERNAME_OR_EMAIL", "usage: session-manager reset-link"],
    [["reset-link", "alice", "--link="], "--link needs a value", "usage: session-manager reset-link"],
    [["reset-link", "alice", "--link", "/reset-password"], LINK_ERROR, "usage: session-manager reset-link"],
    [["reset-link", "alice", "--link", "app.example.com/reset"], LINK_ERROR, "usage: session-manager reset-link"],
    [["reset-link", "alice", "--link", "ftp://app.example.com/reset"], LINK_ERROR, "usage: session-manager reset-link"],
    [["reset-link", "alice", "--link", "javascript:alert(1)"], LINK_ERROR, "usage: session-manager reset-link"],
    [
      ["reset-link", "alice", "--link", "https://app.example.com/reset?token=x"],
      "--link must not have a token parameter of its own",
      "usage: session-manager reset-link",
    ],
    [["list-sessions", "alice", "--link", "https://app.example.com/"], 'unknown option "--link"', "usage: session-manager list-sessions"],
    [["delete-user", "alice", "bob"], 'unexpected argument "bob"', "usage: session-manager delete-user USERNAME [--database URL]"],
    [["migrate", "now"], 'unexpected argument "now"', "usage: session-manager migrate [--database URL]"],
    [["cleanup", "--batch-size", "0"], "--batch-size must be a whole number from 1 to 100000", "usage: session-manager cleanup"],
    [["cleanup", "--batch-size", "ten"], "--batch-size must be a whole number from 1 to 100000", "usage: session-manager cleanup"],
    [["cleanup", "--batch-size", "100001"], "--batch-size must be a whole number from 1 to 100000", "usage: session-manager cleanup"],
    [["migrate", "--database"], "option '--database <value>' argument missing", "usage: session-manager migrate"],
    [["migrate", "--database="], "--database needs a value", "usage: session-manager migrate"],
  ])("exits 2 with usage on stderr for %j", async (args, message, usage) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines[0]).toBe(`error: ${message}`);
    expect(lines[1]!.startsWith(usage)).toBe(true);
    expect(lines[2]).toMatch(/^run "session-manager (\S+ )?--help" for details$/);
    expect(lines).toHaveLength(3);
  });

  it("reports an unknown database URL scheme on one line with exit 1", async () => {
    const result = await run(["migrate", "--database", "ftp://example.com/db"]);
    expectOneLineError(result, 1, /^error: unsupported database URL scheme "ftp": use sqlite:/);
  });
});

describe("session-manager CLI: database selection", () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "session-manager-cli-"));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("defaults to sqlite:sessions.db in the working directory", async () => {
    const result = await run(["migrate"], { cwd: dir });
    expect(result).toEqual({ code: 0, stdout: await createdLine("sqlite:sessions.db"), stderr: "" });
    expect(existsSync(join(dir, "sessions.db"))).toBe(true);
  });

  it("refuses a bare path, suggesting the sqlite: URL it most likely means, and creates nothing", async () => {
    mkdirSync(join(dir, "data"));
    const [bare, dotted, fromEnv] = await Promise.all([
      run(["migrate", "--database", "sessions.db"], { cwd: dir }),
      run(["list-sessions", "alice", "--database", "./data/app.db"], { cwd: dir }),
      run(["create-user", "alice"], { cwd: dir, env: { SESSION_DATABASE_URL: "data/app.db" }, input: `${PASSWORD}\n` }),
    ]);
    expectOneLineError(bare, 1, '--database "sessions.db" is not a database URL: did you mean sqlite:sessions.db?');
    expectOneLineError(dotted, 1, '--database "./data/app.db" is not a database URL: did you mean sqlite:./data/app.db?');
    expectOneLineError(fromEnv, 1, 'SESSION_DATABASE_URL "data/app.db" is not a database URL: did you mean sqlite:data/app.db?');
    expect([...readdirSync(dir), ...readdirSync(join(dir, "data"))]).toEqual(["data"]);
    // What it suggests works.
    expect(await run(["migrate", "--database", "sqlite:sessions.db"], { cwd: dir })).toEqual({
      code: 0,
      stdout: await createdLine("sqlite:sessions.db"),
      stderr: "",
    });
  });

  it("refuses a server URL without its scheme without showing what may be its password", async () => {
    const result = await run(["migrate", "--database", "app:hunter2-made-up@db.internal/app"], { cwd: dir });
    expectOneLineError(result, 1, "--database is not a database URL: start it with postgres://, mysql:// or mariadb://");
    expect(result.stderr).not.toContain("hunter2");
  });

  it("says when a sqlite: URL names something that is not a SQLite database, or cannot be opened", async () => {
    writeFileSync(join(dir, "notes.txt"), "not a database, but long enough to have a header's worth of bytes in it\n".repeat(4));
    const notes = `sqlite:${join(dir, "notes.txt")}`;
    const directory = `sqlite:${dir}`;
    const [notDatabase, listed, isDirectory] = await Promise.all([
      run(["migrate", "--database", notes]),
      run(["list-sessions", "alice", "--database", notes]),
      run(["migrate", "--database", directory]),
    ]);
    expectOneLineError(notDatabase, 1, `cannot open ${notes}: the file is not a SQLite database: check the path`);
    expectOneLineError(listed, 1, `cannot open ${notes}: the file is not a SQLite database: check the path`);
    expectOneLineError(
      isDirectory,
      1,
      `cannot open ${directory}: unable to open database file: check the path, and that this user may read and write it and its directory`,
    );
  });

  it("uses SESSION_DATABASE_URL when --database is not given, and --database over it", async () => {
    const fromEnv = `sqlite:${join(dir, "from-env.db")}`;
    const fromFlag = `sqlite:${join(dir, "from-flag.db")}`;
    const created = await run(["create-user", "erin"], { cwd: dir, env: { SESSION_DATABASE_URL: fromEnv }, input: `${PASSWORD}\n` });
    expect(created.code).toBe(0);
    expect(existsSync(join(dir, "from-env.db"))).toBe(true);
    expect(existsSync(join(dir, "sessions.db"))).toBe(false);
    const migrated = await run(["migrate", "--database", fromFlag], { cwd: dir, env: { SESSION_DATABASE_URL: fromEnv } });
    expect(migrated.stdout).toBe(await createdLine(fromFlag));
    expect(existsSync(join(dir, "from-flag.db"))).toBe(true);
    const listed = await run(["list-sessions", "erin"], { cwd: dir, env: { SESSION_DATABASE_URL: fromEnv } });
    expect(listed).toEqual({ code: 0, stdout: 'no active sessions for "erin"\n', stderr: "" });
  });

  it("refuses a SQLite file that does not exist for the commands that read, rather than create it", async () => {
    const url = `sqlite:${join(dir, "missing.db")}`;
    const commands = [
      ["list-sessions", "alice"],
      ["revoke", "alice"],
      ["delete-user", "alice"],
      ["reset-link", "alice", "--link", "https://app.example.com/reset"],
      ["cleanup"],
    ];
    for (const result of await Promise.all(commands.map((args) => run([...args, "--database", url])))) {
      expectOneLineError(
        result,
        1,
        `no SQLite database at ${join(dir, "missing.db")}: check --database, or run "session-manager migrate" to create it`,
      );
    }
    expect(existsSync(join(dir, "missing.db"))).toBe(false);
  });

  it("takes the documented sqlite:PATH?busyTimeout=MS form in every command, as the library does", async () => {
    const url = `sqlite:${join(dir, "app.db")}?busyTimeout=100`;
    expect(await run(["migrate", "--database", url])).toEqual({ code: 0, stdout: await createdLine(url), stderr: "" });
    expect(existsSync(join(dir, "app.db"))).toBe(true);
    expect(existsSync(join(dir, "app.db?busyTimeout=100"))).toBe(false);
    expect((await run(["create-user", "alice", "--database", url], { input: `${PASSWORD}\n` })).code).toBe(0);
    const sm = new SessionManager({ database: url });
    try {
      const user = (await sm.getUser("alice"))!;
      await sm.createSession(user.id);
      await sm.createSession(user.id);
    } finally {
      await sm.close();
    }

    const listed = await run(["list-sessions", "alice", "--database", url]);
    expect({ code: listed.code, stderr: listed.stderr, rows: listed.stdout.trimEnd().split("\n").length }).toEqual({
      code: 0,
      stderr: "",
      rows: 3,
    });
    expect(await run(["revoke", "alice", "--database", url])).toEqual({
      code: 0,
      stdout: expect.stringContaining("2 sessions"),
      stderr: "",
    });
    const cleaned = await run(["cleanup", "--database", url]);
    expect({ code: cleaned.code, stderr: cleaned.stderr }).toEqual({ code: 0, stderr: "" });
    expect(await run(["delete-user", "alice", "--database", url])).toEqual({
      code: 0,
      stdout: expect.stringContaining("alice"),
      stderr: "",
    });
    expect(await run(["list-sessions", "alice", "--database", url])).toEqual({
      code: 1,
      stdout: "",
      stderr: 'error: no user named "alice"\n',
    });
  });

  it("refuses a sqlite: URL with an unknown query parameter on one line with exit 1", async () => {
    const url = `sqlite:${join(dir, "app.db")}?mode=ro`;
    for (const result of await Promise.all([["migrate"], ["list-sessions", "alice"]].map((args) => run([...args, "--database", url])))) {
      expectOneLineError(result, 1, "a sqlite: URL takes only ?busyTimeout=MILLISECONDS (a whole number)");
    }
  });

  it("reports a SQLite path in a directory that does not exist, naming both", async () => {
    const url = `sqlite:${join(dir, "no-such-dir", "sessions.db")}`;
    const message = `cannot open ${url}: the directory ${join(dir, "no-such-dir")} does not exist`;
    expectOneLineError(await run(["migrate", "--database", url]), 1, message);
    expectOneLineError(await run(["create-user", "alice", "--database", url], { input: `${PASSWORD}\n` }), 1, message);
  });

  const servers = [
    { name: "PostgreSQL", url: postgresUrl, database: testDatabase("postgres"), connectTimeout: "connectionTimeoutMillis" },
    { name: "MySQL", url: mysqlUrl, database: testDatabase("mysql"), connectTimeout: "connectTimeout" },
  ];
  for (const server of servers) {
    if (server.database.skipReason !== null) {
      describeSkipped(`${server.name}: CLI connection error tests`, server.database.skipReason);
      continue;
    }

    describe(server.name, () => {
      const MADE_UP_PASSWORD = "hunter2-made-up";

      /** The server's URL with `change` applied, and the form the CLI must print: password redacted. */
      function serverUrl(change: (url: URL) => void): { url: string; shown: string } {
        const url = new URL(server.url!);
        change(url);
        const shown = new URL(url);
        if (shown.password !== "") shown.password = "***";
        return { url: url.toString(), shown: shown.toString() };
      }

      /** A one-line error that names the database without its password. */
      function expectConnectionError(result: Result, message: string | RegExp, password = MADE_UP_PASSWORD): void {
        expectOneLineError(result, 1, message);
        expect(result.stderr).not.toContain(password);
      }

      it("reports a database that does not exist, naming it, with exit 1", async () => {
        const name = `does_not_exist_${randomBytes(4).toString("hex")}`;
        const { url, shown } = serverUrl((url) => (url.pathname = `/${name}`));
        const commands = [["migrate"], ["list-sessions", "alice"], ["cleanup"]];
        for (const result of await Promise.all(commands.map((args) => run([...args, "--database", url])))) {
          expectConnectionError(
            result,
            `cannot connect to ${shown}: database "${name}" does not exist: create it, or check the database name`,
            new URL(server.url!).password || MADE_UP_PASSWORD,
          );
        }
      });

      it("reports a server that refuses connections: is it running on that host and port?", async () => {
        const { url, shown } = serverUrl((url) => {
          url.host = "127.0.0.1:1";
          url.password = MADE_UP_PASSWORD;
        });
        expectConnectionError(
          await run(["migrate", "--database", url]),
          `cannot connect to ${shown}: connection refused: is ${server.name} running on 127.0.0.1:1?`,
        );
      });

      it("reports a host name that does not resolve", async () => {
        const { url, shown } = serverUrl((url) => {
          url.hostname = "nonexistent.invalid";
          url.password = MADE_UP_PASSWORD;
        });
        // ENOTFOUND, or EAI_AGAIN where this machine has no DNS at all.
        expectConnectionError(
          await run(["migrate", "--database", url]),
          new RegExp(
            `^error: cannot connect to ${escape(shown)}: cannot resolve host "nonexistent\\.invalid"( \\(the DNS lookup failed, perhaps for now\\))?: check the host name`,
          ),
        );
      });

      it("reports a server that accepts the connection and never answers, within the URL's connect timeout", async () => {
        const silent = await silentServer();
        try {
          const { url, shown } = serverUrl((url) => {
            url.host = `127.0.0.1:${silent.port}`;
            url.password = MADE_UP_PASSWORD;
            url.searchParams.set(server.connectTimeout, "300");
          });
          const started = Date.now();
          const results = await Promise.all([run(["migrate", "--database", url]), run(["revoke", "alice", "--database", url])]);
          expect(Date.now() - started).toBeLessThan(15_000);
          for (const result of results) {
            expectConnectionError(
              result,
              `cannot connect to ${shown}: no answer from 127.0.0.1:${silent.port} within 300 ms: is it reachable from here, and a ${server.name} server?`,
            );
          }
        } finally {
          await silent.close();
        }
      });

      it("reports a wrong password (or, where the server trusts this host, the missing database), never showing the password", async () => {
        // A database that does not exist: servers check the password first, and a server that
        // does not check it (trust) then answers that, rather than the test creating tables.
        const name = `does_not_exist_${randomBytes(4).toString("hex")}`;
        const { url, shown } = serverUrl((url) => {
          url.password = MADE_UP_PASSWORD;
          url.pathname = `/${name}`;
        });
        const result = await run(["migrate", "--database", url]);
        const user = decodeURIComponent(new URL(url).username);
        if (result.stderr.includes(`database "${name}" does not exist`)) {
          // The local PostgreSQL trusts connections from here, so only the redaction is checked on
          // this server; parts.test.ts checks the message of 28P01 itself.
          process.stderr.write(
            `NOTE ${server.name}: the server does not check passwords from this host; the wrong-password message is checked in parts.test.ts\n`,
          );
          expectConnectionError(result, /^error: cannot connect to .*:\*\*\*@/);
          return;
        }
        expectConnectionError(
          result,
          `cannot connect to ${shown}: authentication failed for user "${user}": check the user name and password`,
        );
      });
    });
  }
});

// The binary runs in its own process, which cannot see an in-memory database; MySQL gets the
// same SQL as PostgreSQL through the library, whose own suite runs over it.
describeEachDatabase(
  "session-manager CLI",
  (fixture) => {
    const cli = (args: string[], options: RunOptions = {}): Promise<Result> => run([...args, "--database", fixture.url], options);
    const pastManager = (days: number): SessionManager => fixture.manager({ clock: () => new Date(Date.now() - days * DAY_MS) });

    async function userWithSessions(count: number, meta: { ip?: string; userAgent?: string } = {}) {
      const manager = fixture.manager();
      const user = await manager.createUser(uniqueName(), PASSWORD);
      const tokens: string[] = [];
      for (let i = 0; i < count; i++) tokens.push(await manager.createSession(user.id, meta));
      return { manager, user, tokens };
    }

    it("migrate creates the tables, says so, and is idempotent, saying so too", async () => {
      const prefix = DatabaseFixture.prefix();
      const first = await cli(["migrate", "--table-prefix", prefix]);
      expect(first).toEqual({ code: 0, stdout: await createdLine(fixture.url), stderr: "" });
      expect(await cli(["migrate", "--table-prefix", prefix])).toEqual({
        code: 0,
        stdout: `schema already up to date in ${fixture.url}: nothing to apply\n`,
        stderr: "",
      });
      // Without autoMigrate the library only finds its tables when the CLI made them.
      const manager = fixture.manager({ tablePrefix: prefix, autoMigrate: false });
      await expect(manager.getUser("nobody")).resolves.toBeNull();
    });

    it("migrate re-keys a first-release database and warns, every time, about users it cannot re-key", async () => {
      const prefix = DatabaseFixture.prefix();
      const ids = await firstReleaseDatabase(fixture, prefix, ["Straße", "STRASSE", "Maß", "ad\u200Bmin\u202E\u001b[31m"]);
      const conflict = `warning: users ${ids.get("Straße")} "Straße" and ${ids.get("STRASSE")} "STRASSE" are one name under the current rules; each keeps its old key and still signs in as before: delete or rename all but one\n`;
      const refused = `warning: user ${ids.get("ad\u200Bmin\u202E\u001b[31m")} "ad\\u{200B}min\\u{202E}\\u001b[31m" has a name the current rules refuse (invisible, control or format characters); it can no longer sign in by name\n`;
      const first = await cli(["migrate", "--table-prefix", prefix]);
      const upgrades = (await migrationNames()).filter((name) => name !== FIRST_RELEASE);
      expect(first).toEqual({
        code: 0,
        stdout: `applied ${upgrades.length} migrations in ${fixture.url}: ${upgrades.join(", ")}\n1 username re-keyed for the current comparison rules\n`,
        stderr: conflict + refused,
      });
      const again = await cli(["migrate", "--table-prefix", prefix]);
      expect(again).toEqual({
        code: 0,
        stdout: `schema already up to date in ${fixture.url}: nothing to apply\n`,
        stderr: conflict + refused,
      });
      expect((await fixture.manager({ tablePrefix: prefix }).getUser("MASS"))?.id).toBe(ids.get("Maß"));
    });

    it("create-user takes the first line of stdin as the password and prints the user", async () => {
      const name = uniqueName("Alice");
      const result = await cli(["create-user", name], { input: `${PASSWORD}\r\nsecond line\n` });
      const user = await fixture.manager().getUser(name);
      expect(user).not.toBeNull();
      expect(result).toEqual({ code: 0, stdout: `created user "${name}" with id ${user!.id}\n`, stderr: "" });
      await expect(fixture.manager().authenticateUser(name.toLowerCase(), PASSWORD)).resolves.toMatchObject({ id: user!.id });
    });

    it("create-user takes stdin without a final newline", async () => {
      const name = uniqueName();
      expect((await cli(["create-user", name], { input: PASSWORD })).code).toBe(0);
      await expect(fixture.manager().authenticateUser(name, PASSWORD)).resolves.not.toBeNull();
    });

    it("create-user refuses a taken username before reading any password", async () => {
      const { user } = await userWithSessions(0);
      // No stdin at all: reading it would have failed with "no password on standard input".
      expectOneLineError(await cli(["create-user", user.username.toUpperCase()]), 1, "username is already taken");
    });

    it("create-user refuses an invalid username, a short password and an empty stdin", async () => {
      const name = uniqueName();
      const [badName, shortPassword, noInput] = await Promise.all([
        cli(["create-user", "a\u0007b"], { input: `${PASSWORD}\n` }),
        cli(["create-user", name], { input: "short\n" }),
        cli(["create-user", name]),
      ]);
      expectOneLineError(badName, 1, "username must be 1 to 64 characters without invisible, control or format characters");
      expectOneLineError(shortPassword, 1, "password must be 8 to 1024 characters");
      expectOneLineError(noInput, 1, "no password on standard input: pipe one line in, or run in a terminal to be asked");
      await expect(fixture.manager().getUser(name)).resolves.toBeNull();
    });

    it("create-user honours --table-prefix", async () => {
      const prefix = DatabaseFixture.prefix();
      const name = uniqueName();
      expect((await cli(["create-user", name, "--table-prefix", prefix], { input: `${PASSWORD}\n` })).code).toBe(0);
      await expect(fixture.manager({ tablePrefix: prefix }).getUser(name)).resolves.not.toBeNull();
      await expect(fixture.manager().getUser(name)).resolves.toBeNull();
    });

    it("create-user --email gives the user that address, unverified, and prints it", async () => {
      const name = uniqueName();
      const email = `${name}@Example.com`;
      const result = await cli(["create-user", name, "--email", email], { input: `${PASSWORD}\n` });
      const user = await fixture.manager().getUserByEmail(email.toLowerCase());
      expect(user).toMatchObject({ username: name, email, emailVerified: false });
      expect(result).toEqual({
        code: 0,
        stdout: `created user "${name}" with id ${user!.id} and email "${email}" (unverified)\n`,
        stderr: "",
      });
    });

    it("create-user refuses a malformed or taken address before reading any password", async () => {
      const { user, email } = await userWithEmail();
      const name = uniqueName();
      // No stdin at all: reading it would have failed with "no password on standard input".
      const [malformed, taken] = await Promise.all([
        cli(["create-user", name, "--email", "not an address"]),
        cli(["create-user", name, "--email", email.toUpperCase()]),
      ]);
      expectOneLineError(malformed, 1, "email must be 3 to 254 characters with one @ and no whitespace or invisible characters");
      expectOneLineError(taken, 1, "email is already taken");
      await expect(fixture.manager().getUser(name)).resolves.toBeNull();
      await expect(fixture.manager().getUserByEmail(email)).resolves.toMatchObject({ id: user.id });
    });

    it("disable-totp turns off a user's two-factor authentication and signs it out everywhere, with no TOTP key", async () => {
      const manager = fixture.manager({ totp: { issuer: "Example App", secretKey: randomBytes(32) } });
      const user = await manager.createUser(uniqueName("Alice"), PASSWORD);
      const { secret } = await manager.beginTotpSetup(user.id);
      expect(await manager.confirmTotpSetup(user.id, appCode(secret, new Date()))).toHaveLength(10);
      const sessions = [await manager.createSession(user.id), await manager.createSession(user.id)];
      await expect(manager.login(user.username, PASSWORD)).rejects.toMatchObject({ code: "two_factor_required" });
      const result = await cli(["disable-totp", user.username.toUpperCase()]);
      expect(result).toEqual({
        code: 0,
        stdout: `turned off two-factor authentication for "${user.username}" (id ${user.id}): secret and recovery codes deleted, every session revoked\n`,
        stderr: "",
      });
      expect(await manager.hasTotp(user.id)).toBe(false);
      for (const token of sessions) expect(await manager.validateSession(token)).toBeNull();
      expect(await manager.login(user.username, PASSWORD)).toEqual(expect.any(String));
      expectOneLineError(
        await cli(["disable-totp", user.username]),
        1,
        `"${user.username}" does not have two-factor authentication enabled`,
      );
      expectOneLineError(await cli(["disable-totp", uniqueName()]), 1, /^error: no user named "/);
    });

    /** A user with an address, made by the library, and the link page the CLI is given. */
    async function userWithEmail(): Promise<{ manager: SessionManager; user: User; email: string }> {
      const manager = fixture.manager();
      const name = uniqueName();
      const email = `${name}@example.com`;
      const user = await manager.createUser(name, PASSWORD, { email });
      return { manager, user, email };
    }

    /** The token of a printed link, which must be `page` with only `token` added. */
    function tokenOf(stdout: string, page: string): string {
      const lines = stdout.split("\n");
      expect(lines).toHaveLength(2);
      expect(lines[1]).toBe("");
      const url = new URL(lines[0]!);
      const token = url.searchParams.get("token")!;
      expect(token).toMatch(/^[A-Za-z0-9_-]{22,}$/);
      const expected = new URL(page);
      expected.searchParams.set("token", token);
      expect(url.href).toBe(expected.href);
      return token;
    }

    it("reset-link prints a link that resets the password once, and nothing secret besides", async () => {
      const { manager, user, email } = await userWithEmail();
      const session = await manager.createSession(user.id);
      const page = "https://app.example.com/account/reset?lang=en#form";
      const result = await cli(["reset-link", user.username.toUpperCase(), "--link", page]);
      expect(result.code).toBe(0);
      const token = tokenOf(result.stdout, page);
      expect(result.stdout.startsWith("https://app.example.com/account/reset?lang=en&token=")).toBe(true);
      expect(result.stderr).toMatch(
        new RegExp(
          `^one-time password reset link for "${user.username}" \\(id ${user.id}, "${email}"\\), valid until \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\dZ; earlier reset links of this user no longer work\n$`,
        ),
      );
      // Neither the password, nor its hash, nor anything that looks like one is shown.
      const { password_hash: hash } = await fixture
        .raw()
        .selectFrom("auth_users")
        .select("password_hash")
        .where("id", "=", user.id)
        .executeTakeFirstOrThrow();
      for (const text of [result.stdout, result.stderr]) {
        expect(text).not.toContain(hash);
        expect(text).not.toContain(hash.split("$").pop()!);
        expect(text).not.toContain("$argon2");
        expect(text).not.toContain(PASSWORD);
      }
      // The CLI set no password: the old one still works until the link is followed.
      await expect(manager.authenticateUser(user.username, PASSWORD)).resolves.toMatchObject({ id: user.id });

      const newPassword = "a brand new passphrase";
      await expect(manager.resetPassword(token, newPassword)).resolves.toMatchObject({ id: user.id, email, emailVerified: true });
      await expect(manager.resetPassword(token, "yet another passphrase")).resolves.toBeNull();
      await expect(manager.authenticateUser(user.username, newPassword)).resolves.toMatchObject({ id: user.id });
      await expect(manager.authenticateUser(user.username, PASSWORD)).resolves.toBeNull();
      await expect(manager.validateSession(session)).resolves.toBeNull();
    });

    it("reset-link finds the user by address, case-insensitively, and voids the links issued before", async () => {
      const { manager, user, email } = await userWithEmail();
      const page = "http://localhost:3000/reset-password";
      const first = await cli(["reset-link", email.toUpperCase(), "--link", page]);
      const second = await cli(["reset-link", email, "--link", page]);
      expect([first.code, second.code]).toEqual([0, 0]);
      expect(second.stderr).toContain(`for "${user.username}" (id ${user.id}, "${email}")`);
      const [earlier, latest] = [tokenOf(first.stdout, page), tokenOf(second.stdout, page)];
      expect(latest).not.toBe(earlier);
      await expect(manager.resetPassword(earlier, "a brand new passphrase")).resolves.toBeNull();
      await expect(manager.resetPassword(latest, "a brand new passphrase")).resolves.toMatchObject({ id: user.id });
    });

    it("reset-link says which case it is when no link can be issued", async () => {
      const page = "https://app.example.com/reset";
      const manager = fixture.manager();
      const withoutEmail = await manager.createUser(uniqueName(), PASSWORD);
      const limited = await userWithEmail();
      const issuedFrom = Date.now();
      for (let i = 0; i < 5; i++) expect(await limited.manager.createPasswordResetToken(limited.user.username)).not.toBeNull();
      const [unknown, unknownAddress, noEmail, pastLimit] = await Promise.all([
        cli(["reset-link", "nobody-here", "--link", page]),
        cli(["reset-link", "nobody@example.com", "--link", page]),
        cli(["reset-link", withoutEmail.username, "--link", page]),
        cli(["reset-link", limited.email, "--link", page]),
      ]);
      expectOneLineError(unknown, 1, 'no user named "nobody-here" or with that email address');
      expectOneLineError(unknownAddress, 1, 'no user named "nobody@example.com" or with that email address');
      expectOneLineError(
        noEmail,
        1,
        `user "${withoutEmail.username}" has no email address, and a reset link is bound to the account's address: none can be issued until it has one`,
      );
      expectOneLineError(
        pastLimit,
        1,
        new RegExp(
          `^error: 5 password reset links were issued for "${limited.user.username}" within the last hour, the most allowed: try again after (\\S+)$`,
        ),
      );
      // An hour after the first of the five, rounded up to the minute.
      const retry = Date.parse(/after (\S+)$/.exec(pastLimit.stderr.trim())![1]!.replace("Z", ":00Z"));
      expect(retry).toBeGreaterThanOrEqual(issuedFrom + 60 * 60_000);
      expect(retry).toBeLessThanOrEqual(Date.now() + 61 * 60_000);
      // None of the refusals issued a token.
      const rows = await fixture
        .raw()
        .selectFrom("auth_one_time_tokens")
        .select((eb) => eb.fn.countAll<number | string>().as("count"))
        .where("user_id", "in", [withoutEmail.id, limited.user.id])
        .executeTakeFirstOrThrow();
      expect(Number(rows.count)).toBe(5);
    });

    it("list-sessions prints a table of the live sessions, newest first, without expired ones", async () => {
      const agent = `Mozilla/5.0 (X11; Linux x86_64) ${"AppleWebKit/537.36 ".repeat(8)}`;
      const { manager, user } = await userWithSessions(1, { ip: "203.0.113.7", userAgent: agent });
      await new Promise((resolve) => setTimeout(resolve, 5));
      await manager.createSession(user.id, { ip: "2001:db8::1", userAgent: "curl/8.5.0" });
      await pastManager(40).createSession(user.id, { ip: "198.51.100.9", userAgent: "expired" });
      const sessions = await manager.listSessions(user.id);
      expect(sessions).toHaveLength(2);

      const result = await cli(["list-sessions", user.username]);
      expect(result.code).toBe(0);
      expect(result.stderr).toBe("");
      const lines = result.stdout.trimEnd().split("\n");
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatch(/^ID\s+CREATED\s+LAST SEEN\s+EXPIRES\s+IP\s+USER AGENT$/);
      const iso = (date: Date | null): string => `${date!.toISOString().slice(0, 16)}Z`;
      sessions.forEach((session, index) => {
        const cells = lines[index + 1]!.split(/ {2,}/);
        expect(cells.slice(0, 5)).toEqual([
          session.id.slice(0, 8),
          iso(session.createdAt),
          iso(session.lastSeenAt),
          iso(session.expiresAt),
          session.ip,
        ]);
        expect(lines[index + 1]).not.toContain(session.id.slice(8, 16));
      });
      expect(lines[1]).toContain("curl/8.5.0");
      const agentCell = lines[2]!.split(/ {2,}/)[5]!;
      expect(agentCell.endsWith("…")).toBe(true);
      expect([...agentCell]).toHaveLength(60);
      expect(agent.startsWith(agentCell.slice(0, -1))).toBe(true);
      expect(result.stdout).not.toContain("198.51.100.9");
      // Columns line up: every row starts its IP cell where the header's IP starts.
      const ipColumn = lines[0]!.indexOf("IP");
      expect(lines[1]!.slice(ipColumn).startsWith("2001:db8::1")).toBe(true);
      expect(lines[2]!.slice(ipColumn).startsWith("203.0.113.7")).toBe(true);
    });

    it("list-sessions says so when there are no active sessions", async () => {
      const { user } = await userWithSessions(0);
      expect(await cli(["list-sessions", user.username])).toEqual({
        code: 0,
        stdout: `no active sessions for "${user.username}"\n`,
        stderr: "",
      });
    });

    it("list-sessions --json prints every live session with its full id and public fields, and never a token or digest", async () => {
      const manager = fixture.manager();
      const user = await manager.createUser(uniqueName(), PASSWORD);
      const remembered = await manager.login(user.username, PASSWORD, { ip: "203.0.113.7", userAgent: "Firefox" });
      await new Promise((resolve) => setTimeout(resolve, 5));
      const forgotten = await manager.login(user.username, PASSWORD, {
        ip: "2001:db8::1",
        userAgent: 'quote " and \\ in it',
        remember: false,
      });
      await pastManager(40).createSession(user.id, { ip: "198.51.100.9", userAgent: "expired" });
      const sessions = await manager.listSessions(user.id);
      expect(sessions).toHaveLength(2);

      const result = await cli(["list-sessions", user.username, "--json"]);
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
      const printed: unknown = JSON.parse(result.stdout);
      expect(printed).toEqual(
        sessions.map((session) => ({
          id: session.id,
          createdAt: session.createdAt.toISOString(),
          lastSeenAt: session.lastSeenAt?.toISOString() ?? null,
          expiresAt: session.expiresAt.toISOString(),
          authenticatedAt: session.authenticatedAt.toISOString(),
          ip: session.ip,
          userAgent: session.userAgent,
          persistent: session.persistent,
        })),
      );
      // Newest first, the unchecked "remember me" one not persistent, the ids in full.
      expect(printed).toMatchObject([
        { ip: "2001:db8::1", userAgent: 'quote " and \\ in it', persistent: false },
        { ip: "203.0.113.7", persistent: true },
      ]);
      expect((printed as { id: string }[]).map((session) => session.id.length)).toEqual([22, 22]);
      const digests = await fixture.raw().selectFrom("auth_sessions").select("token_hash").where("user_id", "=", user.id).execute();
      for (const secret of [remembered!, forgotten!, ...digests.map((row) => row.token_hash)]) expect(result.stdout).not.toContain(secret);
      expect(result.stdout).not.toContain("198.51.100.9");

      // The table is as before: the start of each id.
      const table = await cli(["list-sessions", user.username]);
      expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+CREATED\s+LAST SEEN\s+EXPIRES\s+IP\s+USER AGENT$/);
      expect(table.stdout.split("\n")[1]!.split(/ {2,}/)[0]).toBe(sessions[0]!.id.slice(0, 8));
    });

    it("list-sessions --json prints an empty array for a user without sessions", async () => {
      const { user } = await userWithSessions(0);
      expect(await cli(["list-sessions", user.username, "--json"])).toEqual({ code: 0, stdout: "[]\n", stderr: "" });
    });

    it("list-sessions, revoke and delete-user report an unknown user with exit 1", async () => {
      await fixture.manager().migrate();
      const commands = [["list-sessions"], ["list-sessions", "--json"], ["revoke"], ["revoke", "abcdefgh"], ["delete-user"]];
      const results = await Promise.all(commands.map(([command, ...rest]) => cli([command!, "nobody-here", ...rest])));
      for (const result of results) expectOneLineError(result, 1, 'no user named "nobody-here"');
    });

    /** The session ids of the user, newest first, as list-sessions --json prints them. */
    async function printedIds(username: string): Promise<string[]> {
      const result = await cli(["list-sessions", username, "--json"]);
      expect(result.code).toBe(0);
      return (JSON.parse(result.stdout) as { id: string }[]).map((session) => session.id);
    }

    /** Gives a session the id `id`, as if it had been drawn so. */
    async function renameSession(from: string, id: string): Promise<void> {
      await fixture.raw().updateTable("auth_sessions").set({ id }).where("id", "=", from).execute();
    }

    /** `revoke USERNAME -- SESSION_ID`: one id in 64 starts with a dash. */
    const revokeOne = (username: string, id: string): Promise<Result> => run(["revoke", "--database", fixture.url, username, "--", id]);

    it("revoke USERNAME SESSION_ID ends only that session, taking the full id or the start list-sessions prints", async () => {
      const { manager, user, tokens } = await userWithSessions(3);
      const [newest, middle, oldest] = await printedIds(user.username);
      expect(await revokeOne(user.username, middle!)).toEqual({
        code: 0,
        stdout: `revoked session ${middle} of "${user.username}"\n`,
        stderr: "",
      });
      // As the table prints it: its first 8 characters.
      const shown = (await cli(["list-sessions", user.username])).stdout.split("\n")[2]!.split(" ")[0]!;
      expect(shown).toBe(oldest!.slice(0, 8));
      expect(await revokeOne(user.username.toUpperCase(), shown)).toEqual({
        code: 0,
        stdout: `revoked session ${oldest} of "${user.username}"\n`,
        stderr: "",
      });
      expect(await printedIds(user.username)).toEqual([newest]);
      const alive = await Promise.all(tokens.map(async (token) => (await manager.validateSession(token)) !== null));
      expect(alive.filter(Boolean)).toHaveLength(1);
      // Gone now: a second revoke finds nothing to end.
      expectOneLineError(
        await revokeOne(user.username, middle!),
        1,
        `"${user.username}" has no live session whose id starts with "${middle}"`,
      );
    });

    it("revoke USERNAME SESSION_ID refuses another user's session, an expired one and an ambiguous start, ending nothing", async () => {
      const { manager, user, tokens } = await userWithSessions(2);
      const other = await userWithSessions(1);
      const [otherId] = await printedIds(other.user.username);
      const live = await printedIds(user.username);
      await pastManager(40).createSession(user.id);
      const stored = await fixture.raw().selectFrom("auth_sessions").select("id").where("user_id", "=", user.id).execute();
      const expired = stored.map((row) => row.id).filter((id) => !live.includes(id));
      expect(expired).toHaveLength(1);
      // The user's two live sessions get ids that share their first 8 characters.
      const shared = `s${randomBytes(6).toString("base64url").slice(0, 7)}`;
      const [first, second] = [`${shared}A${randomBytes(10).toString("base64url")}`, `${shared}B${randomBytes(10).toString("base64url")}`];
      await renameSession(live[0]!, first);
      await renameSession(live[1]!, second);

      const [ofOther, ofExpired, ambiguous, unknown] = await Promise.all([
        revokeOne(user.username, otherId!),
        revokeOne(user.username, expired[0]!),
        revokeOne(user.username, shared),
        revokeOne(user.username, "zzzzzzzzzzzz"),
      ]);
      expectOneLineError(ofOther, 1, `"${user.username}" has no live session whose id starts with "${otherId}"`);
      expectOneLineError(ofExpired, 1, `"${user.username}" has no live session whose id starts with "${expired[0]}"`);
      expectOneLineError(
        ambiguous,
        1,
        `2 live sessions of "${user.username}" have ids starting with "${shared}": give more of the id (list-sessions --json shows them in full)`,
      );
      expectOneLineError(unknown, 1, `"${user.username}" has no live session whose id starts with "zzzzzzzzzzzz"`);
      for (const token of [...tokens, ...other.tokens]) await expect(manager.validateSession(token)).resolves.not.toBeNull();

      // One more character settles it.
      expect((await revokeOne(user.username, `${shared}A`)).stdout).toBe(`revoked session ${first} of "${user.username}"\n`);
      expect(await printedIds(user.username)).toEqual([second]);
      expect(await printedIds(other.user.username)).toEqual([otherId]);
    });

    it("revoke takes a session id that starts with a dash after --", async () => {
      const { user } = await userWithSessions(1);
      const [id] = await printedIds(user.username);
      const dashed = `-${id!.slice(1)}`;
      await renameSession(id!, dashed);
      const bare = await cli(["revoke", user.username, dashed]);
      expect(bare.code).toBe(2);
      expect(bare.stderr).toContain(`; if ${dashed} is a session id, put it after --: session-manager revoke USERNAME -- ${dashed}`);
      expect(await printedIds(user.username)).toEqual([dashed]);
      expect(await revokeOne(user.username, dashed.slice(0, 8))).toEqual({
        code: 0,
        stdout: `revoked session ${dashed} of "${user.username}"\n`,
        stderr: "",
      });
    });

    it("revoke ends every session of the user and counts the live ones", async () => {
      const { manager, user, tokens } = await userWithSessions(2);
      const other = await userWithSessions(1);
      const result = await cli(["revoke", user.username.toUpperCase()]);
      expect(result).toEqual({ code: 0, stdout: `revoked 2 sessions of "${user.username}"\n`, stderr: "" });
      for (const token of tokens) await expect(manager.validateSession(token)).resolves.toBeNull();
      await expect(manager.validateSession(other.tokens[0]!)).resolves.not.toBeNull();
      expect((await cli(["revoke", user.username])).stdout).toBe(`revoked 0 sessions of "${user.username}"\n`);
    });

    it("delete-user deletes the user and its sessions", async () => {
      const { manager, user, tokens } = await userWithSessions(1);
      const result = await cli(["delete-user", user.username]);
      expect(result).toEqual({ code: 0, stdout: `deleted user "${user.username}" (id ${user.id}) and 1 live session\n`, stderr: "" });
      await expect(manager.getUser(user.username)).resolves.toBeNull();
      await expect(manager.validateSession(tokens[0]!)).resolves.toBeNull();
    });

    /** Tables of their own, so other tests' expired sessions do not change the counts. */
    async function expiredSessions(count: number): Promise<{ prefix: string; liveToken: string; manager: SessionManager }> {
      const prefix = DatabaseFixture.prefix();
      const manager = fixture.manager({ tablePrefix: prefix });
      const user = await manager.createUser(uniqueName(), PASSWORD);
      const liveToken = await manager.createSession(user.id);
      const old = fixture.manager({ tablePrefix: prefix, clock: () => new Date(Date.now() - 40 * DAY_MS) });
      for (let i = 0; i < count; i++) await old.createSession(user.id);
      return { prefix, liveToken, manager };
    }

    it("cleanup deletes expired sessions in batches and prints only a summary when not on a terminal", async () => {
      const { prefix, liveToken, manager } = await expiredSessions(5);
      const result = await cli(["cleanup", "--batch-size", "2", "--table-prefix", prefix]);
      expect(result).toEqual({ code: 0, stdout: "deleted 5 expired sessions\n", stderr: "" });
      // The rows are gone, not merely hidden: a second run finds none.
      expect(await cli(["cleanup", "--table-prefix", prefix])).toEqual({ code: 0, stdout: "deleted 0 expired sessions\n", stderr: "" });
      await expect(manager.validateSession(liveToken)).resolves.not.toBeNull();
    });

    // Only server URLs carry passwords.
    if (fixture.database.name === "postgres" || fixture.database.name === "mysql") {
      it("never prints the password of a database URL", async () => {
        const url = new URL(fixture.url);
        url.password ||= "hunter2-made-up";
        const result = await run(["migrate", "--database", url.toString()]);
        expect(`${result.stdout}${result.stderr}`).not.toContain(url.password);
        // A server that checks passwords refuses the made-up one; the error must not show it either.
        if (result.code === 0) expect(result.stdout).toContain(":***@");
      });
    }

    const terminalIt = HAS_SCRIPT ? it : it.skip;
    if (!HAS_SCRIPT) process.stderr.write(`SKIPPED ${fixture.database.name}: CLI terminal tests: util-linux "script" is not installed\n`);

    terminalIt("cleanup draws a progress bar on a terminal", async () => {
      const { prefix } = await expiredSessions(5);
      const result = await runInTerminal(["cleanup", "--batch-size", "2", "--table-prefix", prefix, "--database", fixture.url]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("\r[########################################] 100% 5/5 expired sessions deleted");
      expect(result.stdout.endsWith("\ndeleted 5 expired sessions\n")).toBe(true);
    });

    terminalIt("create-user asks twice on a terminal without echo, with backspace", async () => {
      const name = uniqueName();
      const typed = "correct horsf\u007fe battery";
      const result = await runInTerminal(
        ["create-user", name, "--database", fixture.url],
        [
          { when: "Password: ", type: `${typed}\r` },
          { when: "Repeat password: ", type: `${PASSWORD}\r` },
        ],
      );
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^Password: \\nRepeat password: \\ncreated user "${name}" with id \\d+\\n$`));
      expect(result.stdout).not.toContain("horse");
      await expect(fixture.manager().authenticateUser(name, PASSWORD)).resolves.not.toBeNull();
    });

    terminalIt("create-user on a terminal fails when the passwords differ, and exits 130 on Ctrl-C", async () => {
      const name = uniqueName();
      const args = ["create-user", name, "--database", fixture.url];
      const [mismatch, tooShort, interrupted] = await Promise.all([
        runInTerminal(args, [
          { when: "Password: ", type: `${PASSWORD}\r` },
          { when: "Repeat password: ", type: "something else\r" },
        ]),
        runInTerminal(args, [{ when: "Password: ", type: "short\r" }]),
        runInTerminal(args, [{ when: "Password: ", type: "corr\u0003" }]),
      ]);
      expect(mismatch.code).toBe(1);
      expect(mismatch.stdout).toBe("Password: \nRepeat password: \nerror: the passwords do not match\n");
      expect(tooShort.code).toBe(1);
      expect(tooShort.stdout).toBe("Password: \nerror: password must be 8 to 1024 characters\n");
      expect(interrupted.code).toBe(130);
      expect(interrupted.stdout).toBe("Password: \n");
      await expect(fixture.manager().getUser(name)).resolves.toBeNull();
    });
  },
  { except: ["sqlite-memory", "mysql"] },
);
