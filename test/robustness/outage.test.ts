import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Client } from "pg";
import { SessionManager, UnsupportedDatabaseError } from "session-manager";
import { FAST_PASSWORDS, describeWith, testDatabase, uniqueName } from "../setup/databases";
import { SELF, cookieValuesSet } from "../setup/http";
import { ADAPTERS, LocalServer, createApp, jsonOf, type AdapterName } from "./apps";

const ROOT = join(__dirname, "..", "..");
const PASSWORD = "correct horse battery";

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `condition` holds; fails at once with the first of `wrong` when any turns up meanwhile. */
async function waitFor(what: string, condition: () => boolean, timeoutMs: number, wrong: readonly string[] = []): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (wrong.length > 0) throw new Error(`while waiting for ${what}: ${wrong[0]}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

interface SignedIn {
  username: string;
  cookie: string;
}

interface Observation {
  adapter: AdapterName;
  user: SignedIn;
  route: string;
  phase: "before" | "down" | "after";
  status: number;
  username: unknown;
  setCookies: string[];
}

/**
 * Runs requests with real session cookies through every adapter while `block` takes the
 * database away and `unblock` gives it back, and checks every answer: the right user, or a
 * 5xx that leaves the cookie alone. Never anonymous, never someone else, never a 401.
 */
async function trafficThroughOutage(sm: SessionManager, block: () => Promise<void>, unblock: () => Promise<void>): Promise<void> {
  const servers = new Map<AdapterName, LocalServer>();
  for (const adapter of ADAPTERS) servers.set(adapter, await LocalServer.start(createApp(adapter, sm)));
  try {
    const users: SignedIn[] = [];
    for (let i = 0; i < 2; i++) {
      const username = uniqueName(`outage${i}`);
      await sm.createUser(username, PASSWORD);
      users.push({ username, cookie: `session=${(await sm.login(username, PASSWORD))!}` });
    }
    const observations: Observation[] = [];
    const wrong: string[] = [];
    let phase: Observation["phase"] = "before";
    let running = true;
    const routes = [
      { method: "GET", path: "/me" },
      { method: "GET", path: "/whoami" },
      { method: "POST", path: "/action", origin: SELF },
    ];

    async function loop(adapter: AdapterName, user: SignedIn): Promise<void> {
      const server = servers.get(adapter)!;
      for (let i = 0; running; i++) {
        const route = routes[i % routes.length]!;
        const sentIn = phase;
        const headers: Record<string, string> = { cookie: user.cookie };
        if (route.origin !== undefined) headers["origin"] = route.origin;
        const res = await server.send({ method: route.method, path: route.path, headers, body: route.method === "GET" ? undefined : "" });
        // An answer to a request sent before the switch may still belong to the old phase.
        const settled = sentIn === phase ? phase : "down";
        const observation: Observation = {
          adapter,
          user,
          route: `${route.method} ${route.path}`,
          phase: settled,
          status: res.status,
          username: (jsonOf(res) as { username?: unknown } | undefined)?.username,
          setCookies: cookieValuesSet(res),
        };
        observations.push(observation);
        const fine = (observation.status === 200 && observation.username === user.username) || observation.status === 500;
        if (!fine || observation.setCookies.length > 0)
          wrong.push(`${adapter} ${observation.route} in phase ${settled} answered ${JSON.stringify(observation)}`);
        await sleep(5);
      }
    }

    const loops = ADAPTERS.flatMap((adapter) => users.map((user) => loop(adapter, user)));
    try {
      await waitFor("answers before the outage", () => observations.length >= 12, 10_000, wrong);
      // Requests already in flight when the connections die belong to the outage.
      phase = "down";
      await block();
      const failedIn = (adapter: AdapterName): number =>
        observations.filter((o) => o.adapter === adapter && o.phase === "down" && o.status >= 500).length;
      await waitFor("server errors from every adapter", () => ADAPTERS.every((adapter) => failedIn(adapter) >= 6), 15_000, wrong);
      // A login needs the database too: it fails closed, with no cookie.
      const login = await servers.get("express")!.send({
        method: "POST",
        path: "/login",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: users[0]!.username, password: PASSWORD }),
      });
      expect({ status: login.status, cookies: cookieValuesSet(login) }).toEqual({ status: 500, cookies: [] });
      await unblock();
      phase = "after";
      const recovered = (adapter: AdapterName, user: SignedIn): boolean =>
        observations.some((o) => o.adapter === adapter && o.user === user && o.phase === "after" && o.status === 200);
      await waitFor(
        "recovery on every adapter",
        () => ADAPTERS.every((adapter) => users.every((user) => recovered(adapter, user))),
        20_000,
        wrong,
      );
    } finally {
      running = false;
      await Promise.all(loops);
    }

    for (const o of observations) {
      const seen = { adapter: o.adapter, route: o.route, phase: o.phase, status: o.status, username: o.username, setCookies: o.setCookies };
      if (o.status === 200) {
        // Signed in as exactly this request's user: not anonymous, not the other one.
        expect(seen).toEqual({ ...seen, username: o.user.username, setCookies: [] });
      } else {
        // The only other answer is the app's 500: no 401 that would log the user out, no cookie change.
        expect(seen).toEqual({ ...seen, status: 500, setCookies: [] });
        expect(o.phase).not.toBe("before");
      }
    }
    // Once back, every adapter answers as before, on the same manager: nothing was restarted.
    for (const adapter of ADAPTERS) {
      for (const user of users) {
        const res = await servers.get(adapter)!.send({ method: "GET", path: "/me", headers: { cookie: user.cookie } });
        expect({ adapter, status: res.status, username: (jsonOf(res) as { username?: unknown }).username }).toEqual({
          adapter,
          status: 200,
          username: user.username,
        });
      }
    }
    const login = await servers.get("koa")!.send({
      method: "POST",
      path: "/login",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: users[1]!.username, password: PASSWORD }),
    });
    expect(login.status).toBe(200);
  } finally {
    for (const server of servers.values()) await server.close();
  }
}

describeWith(testDatabase("postgres"), "database outage", (fixture) => {
  it("fails closed with 5xx while the database refuses connections, and recovers by itself", async () => {
    const name = new URL(fixture.url).pathname.slice(1);
    const admin = new Client({ connectionString: process.env["SESSION_TEST_POSTGRES_URL"] });
    await admin.connect();
    try {
      const sm = fixture.manager();
      await trafficThroughOutage(
        sm,
        async () => {
          // Only this test's own database goes away; other suites on the server carry on.
          await admin.query(`alter database ${name} allow_connections false`);
          await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()", [
            name,
          ]);
        },
        async () => {
          await admin.query(`alter database ${name} allow_connections true`);
        },
      );
    } finally {
      await admin.query(`alter database ${name} allow_connections true`);
      await admin.end();
    }
  });
});

describeWith(testDatabase("mysql"), "database outage", (fixture) => {
  it("fails closed with 5xx while the app's account is locked and its connections killed, and recovers by itself", async () => {
    const mysql = await import("mysql2/promise");
    const admin = await mysql.createConnection(process.env["SESSION_TEST_MYSQL_URL"]!);
    const url = new URL(fixture.url);
    const database = url.pathname.slice(1);
    const account = `smo_${randomBytes(4).toString("hex")}`;
    const password = randomBytes(12).toString("hex");
    // A user of its own, so that locking it out disturbs nobody else on the server.
    await admin.query(`create user '${account}'@'%' identified by '${password}'`);
    try {
      await admin.query(`grant all on ${database}.* to '${account}'@'%'`);
      url.username = account;
      url.password = password;
      const sm = new SessionManager({ database: url.toString(), password: FAST_PASSWORDS });
      try {
        await trafficThroughOutage(
          sm,
          async () => {
            await admin.query(`alter user '${account}'@'%' account lock`);
            const [rows] = await admin.query(`select id from information_schema.processlist where user = ?`, [account]);
            for (const { id } of rows as Array<{ id: number }>) await admin.query(`kill connection ${Number(id)}`).catch(() => {});
          },
          async () => {
            await admin.query(`alter user '${account}'@'%' account unlock`);
          },
        );
      } finally {
        await sm.close();
      }
    } finally {
      await admin.query(`drop user if exists '${account}'@'%'`);
      await admin.end();
    }
  });
});

/** Another process holding SQLite's write lock on a file until told to let go. */
class LockHolder {
  readonly #child: ChildProcessWithoutNullStreams;

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child;
  }

  static async hold(file: string): Promise<LockHolder> {
    const script = `
      const db = new (require("better-sqlite3"))(process.argv[1]);
      db.pragma("journal_mode = WAL");
      db.exec("begin immediate");
      process.stdout.write("locked\\n");
      process.stdin.once("data", () => { db.exec("commit"); db.close(); process.exit(0); });
    `;
    const child = spawn(process.execPath, ["-e", script, file], { cwd: ROOT, stdio: "pipe" });
    const [line] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
    if (line !== "locked") throw new Error(`lock holder said ${line}`);
    return new LockHolder(child);
  }

  async release(): Promise<void> {
    const exit = once(this.#child, "exit");
    this.#child.stdin.write("go\n");
    const [code] = (await exit) as [number | null];
    expect(code).toBe(0);
  }
}

describe("sqlite-file: a database locked by another process", () => {
  const BUSY_TIMEOUT_MS = 400;
  let dir: string;
  let sm: SessionManager;
  let server: LocalServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "session-manager-lock-"));
    sm = new SessionManager({ database: `sqlite:${join(dir, "sessions.db")}?busyTimeout=${BUSY_TIMEOUT_MS}`, password: FAST_PASSWORDS });
    await sm.migrate();
    server = await LocalServer.start(createApp("express", sm));
  });
  afterAll(async () => {
    await server.close();
    await sm.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("waits for the busy timeout, then fails writes with SQLITE_BUSY while reads go on, and works again after", async () => {
    const username = uniqueName();
    const user = await sm.createUser(username, PASSWORD);
    const token = (await sm.login(username, PASSWORD))!;
    const lock = await LockHolder.hold(join(dir, "sessions.db"));
    try {
      // WAL: readers are not blocked by another process's writer.
      expect(await sm.validateSession(token)).toMatchObject({ id: user.id });
      const me = await server.send({ method: "GET", path: "/me", headers: { cookie: `session=${token}` } });
      expect({ status: me.status, username: (jsonOf(me) as { username?: unknown }).username }).toEqual({ status: 200, username });

      const started = Date.now();
      await expect(sm.createUser(uniqueName(), PASSWORD)).rejects.toMatchObject({ code: "SQLITE_BUSY" });
      // It waited for the lock rather than failing at once (a lower bound only: never flaky).
      expect(Date.now() - started).toBeGreaterThanOrEqual(BUSY_TIMEOUT_MS * 0.9);
      await expect(sm.revokeSessions(user.id)).rejects.toMatchObject({ code: "SQLITE_BUSY" });
      await expect(sm.login(username, PASSWORD)).rejects.toMatchObject({ code: "SQLITE_BUSY" });

      // Over HTTP a write that cannot happen is the app's 500, and the session cookie stays.
      const login = await server.send({
        method: "POST",
        path: "/login",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username, password: PASSWORD }),
      });
      expect({ status: login.status, cookies: cookieValuesSet(login) }).toEqual({ status: 500, cookies: [] });
      const logout = await server.send({ method: "POST", path: "/logout", headers: { cookie: `session=${token}` } });
      expect({ status: logout.status, cookies: cookieValuesSet(logout) }).toEqual({ status: 500, cookies: [] });
    } finally {
      await lock.release();
    }
    // The failed transactions were rolled back and the connection is usable again.
    expect(await sm.validateSession(token)).toMatchObject({ id: user.id });
    expect(await sm.createUser(uniqueName(), PASSWORD)).toMatchObject({ id: expect.any(Number) });
    const login = await server.send({
      method: "POST",
      path: "/login",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password: PASSWORD }),
    });
    expect(login.status).toBe(200);
    expect(await sm.revokeSessions(user.id)).toBe(2);
  });

  it("reads the busy timeout from the URL and refuses any other query parameter", () => {
    expect(() => new SessionManager({ database: "sqlite::memory:?busyTimeout=abc" })).toThrow(UnsupportedDatabaseError);
    expect(() => new SessionManager({ database: "sqlite:app.db?busyTimeout=-1" })).toThrow(UnsupportedDatabaseError);
    expect(() => new SessionManager({ database: "sqlite:app.db?mode=ro" })).toThrow(UnsupportedDatabaseError);
    expect(() => new SessionManager({ database: "sqlite::memory:?busyTimeout=250" })).not.toThrow();
  });
});
