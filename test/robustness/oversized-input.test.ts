import { Agent, request } from "node:http";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { InvalidPasswordError, InvalidUsernameError, SessionManager, type AuthEvent } from "session-manager";
import type { Database } from "../../src/database/schema";
import { FAST_PASSWORDS, uniqueName } from "../setup/databases";
import { HOST } from "../setup/http";
import { ADAPTERS, LocalServer, createApp, jsonOf } from "./apps";

// A require, not an import: the library calls these through the module object, so spying on it counts every hash.
const argon2 = require("@node-rs/argon2") as typeof import("@node-rs/argon2");

const MiB = 1024 * 1024;
const PASSWORD = "correct horse battery";

/** A manager on a fresh in-memory database that counts the queries it sends and the events it emits. */
function countingManager(): { sm: SessionManager; queries: { count: number }; events: AuthEvent[]; close(): Promise<void> } {
  const queries = { count: 0 };
  const events: AuthEvent[] = [];
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: new BetterSqlite3(":memory:") }),
    log: () => {
      queries.count++;
    },
  });
  const sm = new SessionManager({ database: db, password: FAST_PASSWORDS, onEvent: (event) => events.push(event) });
  return { sm, queries, events, close: async () => (await sm.close(), await db.destroy()) };
}

/** Counts argon2 hashes and verifications from here on. */
function countHashing(): { readonly count: number; restore(): void } {
  const hash = jest.spyOn(argon2, "hash");
  const verify = jest.spyOn(argon2, "verify");
  return {
    get count() {
      return hash.mock.calls.length + verify.mock.calls.length;
    },
    restore() {
      hash.mockRestore();
      verify.mockRestore();
    },
  };
}

/** 1 MiB inputs, among them ones that would be valid once trimmed and ones that NFKC would blow up. */
const HUGE: Array<[string, string]> = [
  ["1 MiB of letters", "a".repeat(MiB)],
  ["a valid name padded with 1 MiB of spaces", `${" ".repeat(MiB)}alice`],
  ["1 MiB of a ligature NFKC triples", "ﬃ".repeat(MiB)],
  ["1 MiB of combining marks", `a${"\u0301".repeat(MiB)}`],
  ["1 MiB of emoji", "🦊".repeat(MiB / 2)],
];

describe("oversized input to the core", () => {
  let fixture: ReturnType<typeof countingManager>;
  let hashing: ReturnType<typeof countHashing>;
  let keeper: { id: number; username: string };

  beforeAll(async () => {
    fixture = countingManager();
    const username = uniqueName();
    keeper = { id: (await fixture.sm.createUser(username, PASSWORD)).id, username };
  });
  afterAll(() => fixture.close());
  beforeEach(() => {
    hashing = countHashing();
    fixture.queries.count = 0;
    fixture.events.length = 0;
  });
  afterEach(() => hashing.restore());

  it("counts hashing, queries and events where there is work to do", async () => {
    // The control for the test below: a plain wrong password hashes, queries and is reported.
    expect(await fixture.sm.authenticateUser(keeper.username, "wrong password")).toBeNull();
    expect(hashing.count).toBe(1);
    expect(fixture.queries.count).toBeGreaterThan(0);
    expect(fixture.events.map((event) => event.type)).toEqual(["login_failed"]);
  });

  it.each(HUGE)("refuses %s as username or password without hashing, querying or counting a failure", async (_, huge) => {
    const { sm } = fixture;
    expect(await sm.authenticateUser(huge, PASSWORD)).toBeNull();
    expect(await sm.authenticateUser(keeper.username, huge)).toBeNull();
    expect(await sm.authenticateUser(huge, huge)).toBeNull();
    expect(await sm.login(huge, PASSWORD)).toBeNull();
    expect(await sm.login(keeper.username, huge)).toBeNull();
    expect(await sm.getUser(huge)).toBeNull();
    expect(await sm.validateSession(huge)).toBeNull();
    expect(await sm.revokeSession(huge)).toBe(false);
    await expect(sm.createUser(huge, PASSWORD)).rejects.toBeInstanceOf(InvalidUsernameError);
    await expect(sm.createUser(uniqueName(), huge)).rejects.toBeInstanceOf(InvalidPasswordError);
    await expect(sm.changePassword(keeper.id, huge)).rejects.toBeInstanceOf(InvalidPasswordError);
    expect(hashing.count).toBe(0);
    expect(fixture.queries.count).toBe(0);
    expect(fixture.events).toEqual([]);
  });
});

const keepAlive = new Agent({ keepAlive: true });
afterAll(() => keepAlive.destroy());

interface StreamedAnswer {
  status: number;
  body: unknown;
  /** Bytes of the body the client had written when the answer arrived. */
  writtenBeforeAnswer: number;
}

/**
 * Posts a body of `total` bytes in 64 KiB pieces, pausing between them, and stops writing as
 * soon as the answer arrives: an app that waited for the whole body would never answer early.
 * With `whole`, writes every byte without pausing, answer or not, as a flood would.
 */
function postSlowly(port: number, path: string, headers: Record<string, string>, total: number, whole = false): Promise<StreamedAnswer> {
  return new Promise((resolve, reject) => {
    const piece = Buffer.alloc(64 * 1024, "a");
    let written = 0;
    let answered = false;
    const outgoing = request({
      host: "127.0.0.1",
      port,
      method: "POST",
      path,
      agent: whole ? keepAlive : false,
      headers: { host: HOST, ...headers },
      timeout: 20_000,
    });
    outgoing.on("timeout", () => outgoing.destroy(new Error("no answer")));
    outgoing.on("error", (error) => {
      if (!answered) reject(error);
    });
    outgoing.on("response", (res) => {
      answered = true;
      const writtenBeforeAnswer = written;
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const answer = {
          status: res.statusCode ?? 0,
          body: jsonOf({ status: 0, headers: {}, text: Buffer.concat(chunks).toString("utf8") }),
          writtenBeforeAnswer,
        };
        if (!whole) {
          outgoing.destroy();
          resolve(answer);
          return;
        }
        // A flood is over when its last byte is out, or when the server stops reading it.
        let seen = -1;
        const watch = setInterval(() => {
          if (!outgoing.writableFinished && !outgoing.closed && seen !== written) {
            seen = written;
            return;
          }
          clearInterval(watch);
          outgoing.destroy();
          resolve(answer);
        }, 50);
      });
    });
    const next = (): void => {
      if ((answered && !whole) || outgoing.destroyed) return;
      if (written >= total) {
        outgoing.end();
        return;
      }
      written += piece.length;
      outgoing.write(piece, () => (whole ? setImmediate(next) : setTimeout(next, 5)));
    };
    next();
  });
}

function collectGarbage(): () => void {
  setFlagsFromString("--expose_gc");
  return runInNewContext("gc") as () => void;
}

describe.each(ADAPTERS)("oversized input over HTTP: %s", (adapter) => {
  let fixture: ReturnType<typeof countingManager>;
  let server: LocalServer;
  let bigHeaders: LocalServer;
  let hashing: ReturnType<typeof countHashing>;
  let cookie: string;
  let login: jest.SpiedFunction<SessionManager["login"]>;
  let check: jest.SpiedFunction<SessionManager["checkSession"]>;

  beforeAll(async () => {
    fixture = countingManager();
    const username = uniqueName();
    await fixture.sm.createUser(username, PASSWORD);
    cookie = `session=${(await fixture.sm.login(username, PASSWORD))!}`;
    server = await LocalServer.start(createApp(adapter, fixture.sm));
    // An app that raised Node's 16 KiB header limit: the middleware itself must then cope with huge cookies.
    bigHeaders = await LocalServer.start(createApp(adapter, fixture.sm), { maxHeaderSize: 4 * MiB });
  });
  afterAll(async () => {
    await server.close();
    await bigHeaders.close();
    await fixture.close();
  });
  beforeEach(() => {
    hashing = countHashing();
    login = jest.spyOn(fixture.sm, "login");
    check = jest.spyOn(fixture.sm, "checkSession");
  });
  afterEach(() => {
    hashing.restore();
    login.mockRestore();
    check.mockRestore();
  });

  it("answers a declared 10 MiB body with 413 before it is sent", async () => {
    const answer = await postSlowly(
      server.port,
      "/login",
      { "content-type": "application/json", "content-length": String(10 * MiB), cookie },
      10 * MiB,
    );
    expect(answer).toMatchObject({ status: 413, body: { error: "payload_too_large" } });
    expect(answer.writtenBeforeAnswer).toBeLessThan(MiB);
    expect(login).not.toHaveBeenCalled();
    expect(hashing.count).toBe(0);
  });

  it("answers a chunked 10 MiB body with 413 as soon as it passes 16 KiB", async () => {
    for (const path of ["/login", "/register"]) {
      const answer = await postSlowly(
        server.port,
        path,
        { "content-type": "application/x-www-form-urlencoded", "transfer-encoding": "chunked" },
        10 * MiB,
      );
      expect(answer).toMatchObject({ status: 413, body: { error: "payload_too_large" } });
      expect(answer.writtenBeforeAnswer).toBeLessThan(MiB);
    }
    expect(login).not.toHaveBeenCalled();
    expect(hashing.count).toBe(0);
  });

  it("answers a 1 MiB Cookie header with 431 from Node.js by default, before the app sees it", async () => {
    const res = await server.send({ method: "GET", path: "/me", headers: { cookie: `${cookie}; pad=${"x".repeat(MiB)}` } });
    expect(res.status).toBe(431);
    expect(check).not.toHaveBeenCalled();
  });

  it("treats a 1 MiB Cookie header as anonymous without a query when the header limit is raised", async () => {
    fixture.queries.count = 0;
    for (const header of [
      `session=${"A".repeat(MiB)}`,
      `pad=${"x".repeat(MiB)}`,
      `${"a=b; ".repeat(MiB / 5)}session=${"%".repeat(1000)}`,
    ]) {
      const res = await bigHeaders.send({ method: "GET", path: "/me", headers: { cookie: header } });
      expect({ status: res.status, body: jsonOf(res) }).toEqual({ status: 401, body: { error: "unauthorized" } });
    }
    expect(fixture.queries.count).toBe(0);
    // The real session still gets through next to a megabyte of other cookies.
    const res = await bigHeaders.send({ method: "GET", path: "/me", headers: { cookie: `${cookie}; pad=${"x".repeat(MiB)}` } });
    expect(res.status).toBe(200);
  });

  it("refuses a username or password just under the body limit without hashing", async () => {
    const long = "n".repeat(15 * 1024);
    const wrong = await server.send({
      method: "POST",
      path: "/login",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: long, password: PASSWORD }),
    });
    expect({ status: wrong.status, body: jsonOf(wrong) }).toEqual({ status: 401, body: { error: "invalid_credentials" } });
    const register = await server.send({
      method: "POST",
      path: "/register",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "bob", password: long }),
    });
    expect({ status: register.status, body: jsonOf(register) }).toEqual({ status: 400, body: { error: "invalid_password" } });
    const huge = await server.send({
      method: "POST",
      path: "/login",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "a".repeat(MiB), password: PASSWORD }),
    });
    expect(huge.status).toBe(413);
    expect(hashing.count).toBe(0);
  });

  it("keeps memory flat over many oversized requests", async () => {
    // Spies keep every argument they see: a megabyte per call here.
    check.mockRestore();
    login.mockRestore();
    const gc = collectGarbage();
    const used = (): number => {
      gc();
      const { heapUsed, arrayBuffers } = process.memoryUsage();
      return heapUsed + arrayBuffers;
    };
    // One round first, so that lazily built framework state is not counted as growth.
    await postSlowly(server.port, "/login", { "content-type": "application/json", "transfer-encoding": "chunked" }, MiB);
    const before = used();
    for (let i = 0; i < 8; i++) {
      const answer = await postSlowly(
        server.port,
        "/login",
        { "content-type": "application/json", "transfer-encoding": "chunked" },
        10 * MiB,
        true,
      );
      expect(answer.status).toBe(413);
      await bigHeaders.send({ method: "GET", path: "/whoami", headers: { cookie: `session=${"B".repeat(MiB)}` } });
    }
    // Up to 8 × 11 MiB went in; once the sockets have settled, what stays is below one request's worth.
    let after = used();
    for (let i = 0; i < 10 && after - before >= 8 * MiB; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      after = Math.min(after, used());
    }
    expect(after - before).toBeLessThan(8 * MiB);
  });
});
