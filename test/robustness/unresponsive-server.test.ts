import { once } from "node:events";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import express, { type ErrorRequestHandler } from "express";
import { DatabaseTimeoutError, SessionManager, UnsupportedDatabaseError } from "session-manager";
import { requireUser, sessionMiddleware } from "session-manager/express";
import { FAST_PASSWORDS, describeEachDatabase, describeWith, testDatabase, uniqueName, type TestDatabase } from "../setup/databases";
import { MIGRATION_QUERY_TIMEOUT_MS, QueryTimeouts } from "../../src/database/timeouts";
import { LocalServer } from "./apps";

/**
 * Database servers that accept TCP connections and then never answer: the library must turn the
 * wait into a `DatabaseTimeoutError` (connect and query timeouts from the URL), never a hang, and
 * `close()` must not wait on them.
 */

const PASSWORD = "correct horse battery";
// The right shape for a session token, so that the lookup reaches the database.
const TOKEN = "A".repeat(32);

/** A TCP server on 127.0.0.1 that accepts connections and answers with `greet`, or nothing. */
class FakeServer {
  readonly #server: Server;
  readonly sockets = new Set<Socket>();

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(greet: (socket: Socket) => void = () => {}): Promise<FakeServer> {
    const server = createServer();
    const fake = new FakeServer(server);
    server.on("connection", (socket) => {
      fake.sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => fake.sockets.delete(socket));
      // Read and drop what the client sends, so that its closing the connection is seen.
      socket.resume();
      greet(socket);
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return fake;
  }

  url(scheme: "postgres" | "mysql", parameters: Record<string, string> = {}): string {
    const url = new URL(`${scheme}://app@127.0.0.1:${(this.#server.address() as AddressInfo).port}/app`);
    for (const [name, value] of Object.entries(parameters)) url.searchParams.set(name, value);
    return url.toString();
  }

  /** Waits a moment for the client's closed sockets to be seen here; fails if any stays open. */
  async drained(): Promise<void> {
    for (let i = 0; i < 25 && this.sockets.size > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(this.sockets.size).toBe(0);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.#server.close();
    await once(this.#server, "close");
  }
}

/**
 * Answers a PostgreSQL client's startup with AuthenticationOk and ReadyForQuery, so that the
 * connection is established, and then never answers a query.
 */
function pgHandshakeOnly(socket: Socket): void {
  let buffered = Buffer.alloc(0);
  let started = false;
  socket.on("data", (chunk: Buffer) => {
    if (started) return;
    buffered = Buffer.concat([buffered, chunk]);
    if (buffered.length < 8 || buffered.length < buffered.readInt32BE(0)) return;
    const length = buffered.readInt32BE(0);
    const code = buffered.readInt32BE(4);
    buffered = buffered.subarray(length);
    // SSLRequest: "N", no TLS; the client then sends its StartupMessage.
    if (code === 80877103) {
      socket.write("N");
      return;
    }
    started = true;
    const authenticationOk = Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0]);
    const readyForQuery = Buffer.from([0x5a, 0, 0, 0, 5, 0x49]);
    socket.write(Buffer.concat([authenticationOk, readyForQuery]));
  });
}

async function elapsed<T>(work: () => Promise<T>): Promise<{ ms: number; result: PromiseSettledResult<T> }> {
  const started = Date.now();
  const [result] = await Promise.allSettled([work()]);
  return { ms: Date.now() - started, result: result };
}

function rejection(result: PromiseSettledResult<unknown>): unknown {
  if (result.status === "fulfilled") throw new Error(`expected a rejection, got ${JSON.stringify(result.value)}`);
  return result.reason;
}

const SCHEMES = [
  { scheme: "postgres", connectTimeout: "connectionTimeoutMillis", queryTimeout: "query_timeout" },
  { scheme: "mysql", connectTimeout: "connectTimeout", queryTimeout: "queryTimeout" },
] as const;

for (const { scheme, connectTimeout } of SCHEMES) {
  describe(`${scheme}: a server that accepts connections and never answers`, () => {
    let server: FakeServer;
    beforeEach(async () => {
      server = await FakeServer.start();
    });
    afterEach(() => server.close());

    it("fails migrate(), checkSession() and login() with DatabaseTimeoutError after the URL's connect timeout", async () => {
      const sm = new SessionManager({ database: server.url(scheme, { [connectTimeout]: "300" }), password: FAST_PASSWORDS });
      try {
        const attempts = await Promise.all([
          elapsed(() => sm.migrate()),
          elapsed(() => sm.checkSession(TOKEN)),
          elapsed(() => sm.login("alice", PASSWORD)),
        ]);
        for (const { ms, result } of attempts) {
          const error = rejection(result);
          expect(error).toBeInstanceOf(DatabaseTimeoutError);
          expect(error).toMatchObject({ code: "database_timeout" });
          expect(ms).toBeGreaterThanOrEqual(250);
          expect(ms).toBeLessThan(5000);
        }
      } finally {
        await sm.close();
      }
      await server.drained();
    });

    it("close() ends a connection attempt in progress at once and leaves no socket open, with the default timeouts", async () => {
      const sm = new SessionManager({ database: server.url(scheme), password: FAST_PASSWORDS, autoMigrate: false });
      const pending = sm.checkSession(TOKEN);
      pending.catch(() => {});
      while (server.sockets.size === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      const { ms, result } = await elapsed(() => sm.close());
      expect(result.status).toBe("fulfilled");
      // The default connect timeout is 10 s; close() gives in-flight work a second, then drops it.
      expect(ms).toBeLessThan(3000);
      await expect(pending).rejects.toThrow();
      await server.drained();
    });

    it("close() resolves at once after operations have timed out", async () => {
      const sm = new SessionManager({
        database: server.url(scheme, { [connectTimeout]: "200" }),
        password: FAST_PASSWORDS,
        autoMigrate: false,
      });
      await expect(sm.checkSession(TOKEN)).rejects.toBeInstanceOf(DatabaseTimeoutError);
      const { ms, result } = await elapsed(() => sm.close());
      expect(result.status).toBe("fulfilled");
      expect(ms).toBeLessThan(500);
    });
  });
}

describe("postgres: a server that completes the handshake and never answers a query", () => {
  let server: FakeServer;
  beforeEach(async () => {
    server = await FakeServer.start(pgHandshakeOnly);
  });
  afterEach(() => server.close());

  it("fails checkSession() and login() with DatabaseTimeoutError after the URL's query_timeout", async () => {
    const sm = new SessionManager({
      database: server.url("postgres", { query_timeout: "300" }),
      password: FAST_PASSWORDS,
      autoMigrate: false,
    });
    try {
      const operations: Array<() => Promise<unknown>> = [() => sm.checkSession(TOKEN), () => sm.login("alice", PASSWORD)];
      for (const work of operations) {
        const { ms, result } = await elapsed(work);
        expect(rejection(result)).toBeInstanceOf(DatabaseTimeoutError);
        expect(ms).toBeGreaterThanOrEqual(250);
        expect(ms).toBeLessThan(5000);
      }
      // The connection that timed out was dropped, not handed to the next query to wait behind.
      await expect(sm.checkSession(TOKEN)).rejects.toBeInstanceOf(DatabaseTimeoutError);
    } finally {
      const { ms } = await elapsed(() => sm.close());
      expect(ms).toBeLessThan(3000);
    }
  });

  it("answers 500 through the Express adapter instead of hanging the request", async () => {
    const sm = new SessionManager({
      database: server.url("postgres", { query_timeout: "300" }),
      password: FAST_PASSWORDS,
      autoMigrate: false,
    });
    const errors: unknown[] = [];
    const app = express();
    app.use(sessionMiddleware({ manager: sm }));
    app.get("/me", requireUser(), (req, res) => {
      res.json({ username: req.user?.username });
    });
    const onError: ErrorRequestHandler = (error, _req, res, _next) => {
      errors.push(error);
      res.status(500).json({ error: "internal" });
    };
    app.use(onError);
    const http = await LocalServer.start(app);
    try {
      const res = await http.send({ method: "GET", path: "/me", headers: { cookie: `session=${TOKEN}` } }, 5000);
      expect(res.status).toBe(500);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(DatabaseTimeoutError);
    } finally {
      await http.close();
      await sm.close();
    }
  });
});

describe("database URL timeout options", () => {
  it.each([
    "postgres://localhost/app?connectionTimeoutMillis=abc",
    "postgres://localhost/app?query_timeout=-1",
    "postgres://localhost/app?query_timeout=1.5",
    "mysql://localhost/app?connectTimeout=",
    "mysql://localhost/app?queryTimeout=10s",
  ])("refuses %s when the manager is created", (database) => {
    expect(() => new SessionManager({ database })).toThrow(UnsupportedDatabaseError);
  });

  it.each([
    "postgres://localhost/app?connectionTimeoutMillis=0&query_timeout=0",
    "mysql://localhost/app?connectTimeout=5000&queryTimeout=0",
  ])("takes whole numbers, 0 for none: %s", async (database) => {
    const sm = new SessionManager({ database });
    await sm.close();
  });
});

describe("query timeouts of migrate()", () => {
  it("are at least ten minutes while a migration runs on the pool, and the configured one before and after", async () => {
    const timeouts = [new QueryTimeouts(30_000), new QueryTimeouts(20 * 60_000), new QueryTimeouts(0)];
    expect(timeouts.map((t) => t.current())).toEqual([30_000, 20 * 60_000, 0]);
    const inside = await Promise.all(
      timeouts.map((t) =>
        t.duringMigration(async () => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          return t.current();
        }),
      ),
    );
    expect(inside).toEqual([MIGRATION_QUERY_TIMEOUT_MS, 20 * 60_000, 0]);
    expect(timeouts.map((t) => t.current())).toEqual([30_000, 20 * 60_000, 0]);
    // A failed migration gives the timeout back too.
    await expect(timeouts[0]!.duringMigration(() => Promise.reject(new Error("failed")))).rejects.toThrow("failed");
    expect(timeouts[0]!.current()).toBe(30_000);
  });
});

// A row lock held by another connection makes the library's write wait on a real server.
describeEachDatabase(
  "a query waiting on a lock another connection holds",
  (fixture) => {
    it("ends with DatabaseTimeoutError after the query timeout, and the manager works once the lock is gone", async () => {
      const url = new URL(fixture.url);
      url.searchParams.set(fixture.database.name === "postgres" ? "query_timeout" : "queryTimeout", "500");
      const sm = fixture.manager({ database: url.toString() });
      const user = await sm.createUser(uniqueName(), PASSWORD);
      const token = await sm.createSession(user.id);

      const locked = await lockUserRow(fixture.database, fixture.url, user.id);
      try {
        const { ms, result } = await elapsed(() => sm.deleteUser(user.id));
        expect(rejection(result)).toBeInstanceOf(DatabaseTimeoutError);
        expect(ms).toBeGreaterThanOrEqual(450);
        expect(ms).toBeLessThan(5000);
        // Reads are not blocked by the row lock, and go on through the pool meanwhile.
        await expect(sm.validateSession(token)).resolves.toMatchObject({ id: user.id });
      } finally {
        await locked.release();
      }
      await expect(sm.deleteUser(user.id)).resolves.toBe(true);
      await expect(sm.validateSession(token)).resolves.toBeNull();
    });
  },
  { except: ["sqlite-memory", "sqlite-file"] },
);

describeWith(testDatabase("postgres"), "the server's own statement_timeout", (fixture) => {
  it("is reported as DatabaseTimeoutError too", async () => {
    const url = new URL(fixture.url);
    url.searchParams.set("statement_timeout", "300");
    const sm = fixture.manager({ database: url.toString() });
    const user = await sm.createUser(uniqueName(), PASSWORD);
    const locked = await lockUserRow(fixture.database, fixture.url, user.id);
    try {
      const error = await sm.deleteUser(user.id).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(DatabaseTimeoutError);
      expect((error as Error).cause).toMatchObject({ code: "57014" });
    } finally {
      await locked.release();
    }
    await expect(sm.deleteUser(user.id)).resolves.toBe(true);
  });
});

/** Locks the user's row in a transaction on a connection of its own, until `release()`. */
async function lockUserRow(database: TestDatabase, url: string, userId: number): Promise<{ release(): Promise<void> }> {
  if (database.name === "postgres") {
    const { Client } = await import("pg");
    const client = new Client({ connectionString: url });
    await client.connect();
    await client.query("begin");
    await client.query("select id from auth_users where id = $1 for update", [userId]);
    return {
      async release() {
        await client.query("rollback");
        await client.end();
      },
    };
  }
  const mysql = await import("mysql2/promise");
  const connection = await mysql.createConnection(url);
  await connection.query("begin");
  await connection.query("select id from auth_users where id = ? for update", [userId]);
  return {
    async release() {
      await connection.query("rollback");
      await connection.end();
    },
  };
}
