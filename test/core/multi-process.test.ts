import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { sql } from "kysely";
import { DatabaseFixture, describeEachDatabase, uniqueName } from "../setup/databases";

const ROOT = join(__dirname, "..", "..");

/** One app process with its own SessionManager, answering requests over stdin/stdout. */
class AppProcess {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  readonly #exit: Promise<number | null>;
  #next = 0;

  constructor(database: string, tablePrefix: string) {
    this.#child = spawn(process.execPath, [join(ROOT, "test/setup/worker.cjs"), database, tablePrefix], { stdio: "pipe" });
    this.#exit = new Promise((resolve) => this.#child.on("exit", (code) => resolve(code)));
    createInterface({ input: this.#child.stdout }).on("line", (line) => {
      const { id, result, error } = JSON.parse(line) as { id: number; result?: unknown; error?: { code: string | null; message: string } };
      const pending = this.#pending.get(id)!;
      this.#pending.delete(id);
      if (error) pending.reject(Object.assign(new Error(error.message), { code: error.code }));
      else pending.resolve(result);
    });
  }

  call<T>(op: string, ...args: unknown[]): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#child.stdin.write(JSON.stringify({ id, op, args }) + "\n");
    });
  }

  /** Ends the process's input, which closes its manager; resolves to its exit code. Safe to call again. */
  stop(): Promise<number | null> {
    this.#child.stdin.end();
    return this.#exit;
  }
}

beforeAll(() => {
  if (!existsSync(join(ROOT, "dist/cjs/src/index.js"))) throw new Error("run `npm run build` first (npm test does)");
});

// An in-memory SQLite database lives inside one process, so that row does not apply here.
describeEachDatabase(
  "several app processes on one database",
  (fixture) => {
    let apps: AppProcess[] = [];
    const prefix = DatabaseFixture.prefix();
    beforeAll(() => {
      apps = Array.from({ length: 3 }, () => new AppProcess(fixture.url, prefix));
    });
    // Their exit codes are checked by the last test; this only cleans up when it did not run.
    afterAll(() => Promise.all(apps.map((app) => app.stop())));

    async function appliedMigrations(tablePrefix: string): Promise<string[]> {
      const { rows } = await sql<{ name: string }>`select name from ${sql.table(`${tablePrefix}auth_migrations`)} order by name`.execute(
        fixture.raw(),
      );
      return rows.map((row) => row.name);
    }

    it("migrates a fresh database from every process at the same moment", async () => {
      await Promise.all(apps.map((app) => app.call("migrate")));
      await Promise.all(apps.map((app) => app.call("migrate")));
      // Each migration is recorded once, and none is missing: the list one manager alone records.
      const alone = DatabaseFixture.prefix();
      await fixture.manager({ tablePrefix: alone }).migrate();
      const expected = await appliedMigrations(alone);
      expect(expected.length).toBeGreaterThan(0);
      expect(await appliedMigrations(prefix)).toEqual(expected);
      // The schema works from every process: a user created in each signs in from all of them.
      const names = apps.map(() => uniqueName());
      await Promise.all(apps.map((app, i) => app.call("createUser", names[i], "password123")));
      for (const app of apps) {
        for (const name of names) expect(await app.call("authenticate", name, "password123")).toMatchObject({ username: name });
      }
    });

    it("validates in one process a session created in another, and refuses it everywhere once revoked", async () => {
      const [a, b, c] = apps as [AppProcess, AppProcess, AppProcess];
      const name = uniqueName();
      await a.call("createUser", name, "password123");
      const token = await a.call<string>("login", name, "password123");
      expect(await b.call("validate", token)).toMatchObject({ username: name });
      expect(await c.call("validate", token)).toMatchObject({ username: name });
      expect(await c.call("revoke", token)).toBe(true);
      expect(await a.call("validate", token)).toBeNull();
      expect(await b.call("validate", token)).toBeNull();
    });

    it("refuses every session in every process right after revokeSessions in one", async () => {
      const [a, b, c] = apps as [AppProcess, AppProcess, AppProcess];
      const name = uniqueName();
      const user = await a.call<{ id: number }>("createUser", name, "password123");
      const tokens = await Promise.all([a, b, c, a, b, c].map((app) => app.call<string>("login", name, "password123")));
      expect(await b.call("revokeAll", user.id)).toBe(6);
      for (const app of apps) for (const token of tokens) expect(await app.call("validate", token)).toBeNull();
    });

    it("counts failed logins from every process toward one throttle", async () => {
      const [a, b, c] = apps as [AppProcess, AppProcess, AppProcess];
      const name = uniqueName();
      await a.call("createUser", name, "password123");
      const attempts = [...Array(4).fill(a), ...Array(3).fill(b), ...Array(3).fill(c)] as AppProcess[];
      await Promise.all(attempts.map((app) => app.call("authenticate", name, "wrong password")));
      for (const app of apps) {
        await expect(app.call("authenticate", name, "password123")).rejects.toMatchObject({ code: "login_throttled" });
      }
    });

    it("checks at most maxFailures of a burst of guesses sent at once from every process", async () => {
      const [a] = apps as [AppProcess, AppProcess, AppProcess];
      const name = uniqueName();
      await a.call("createUser", name, "password123");
      const results = await Promise.allSettled(
        apps.flatMap((app) => Array.from({ length: 20 }, (_, i) => app.call("authenticate", name, `wrong guess ${i}`))),
      );
      // A guess that reached the hash answers null; every other one was refused before hashing.
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(10);
      for (const result of results) {
        if (result.status === "rejected") expect(result.reason).toMatchObject({ code: "login_throttled" });
      }
      for (const app of apps) {
        await expect(app.call("authenticate", name, "password123")).rejects.toMatchObject({ code: "login_throttled" });
      }
    });

    it("shares one address's failure count between processes exactly: a burst from every process checks 50 guesses", async () => {
      const ip = "198.51.100.23";
      const names = Array.from({ length: 8 }, () => uniqueName("ghost"));
      // 20 per process, as above: within each one's hashing queue, so that only the throttles refuse.
      const results = await Promise.allSettled(
        apps.flatMap((app, p) =>
          Array.from({ length: 20 }, (_, i) => app.call("loginFrom", names[(p * 20 + i) % 8], `wrong guess ${i}`, ip)),
        ),
      );
      // A guess that reached the hash answers null; every other one was refused before hashing.
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(50);
      for (const result of results) {
        if (result.status === "rejected") expect(result.reason).toMatchObject({ code: "login_throttled" });
      }
      for (const app of apps)
        await expect(app.call("loginFrom", uniqueName(), "wrong guess", ip)).rejects.toMatchObject({ code: "login_throttled" });
      // Another address, and a call naming none, are not concerned.
      expect(await apps[0]!.call("loginFrom", names[0], "wrong guess", "198.51.100.24")).toBeNull();
    });

    it("counts the distinct usernames one address sprays from every process exactly: 10 are checked", async () => {
      const ip = "2001:db8:77::1";
      const results = await Promise.allSettled(
        apps.flatMap((app, p) =>
          Array.from({ length: 15 }, (_, i) =>
            app.call("loginFrom", uniqueName("sprayed"), "Summer2026!", ip.replace("::1", `::${p}:${i}`)),
          ),
        ),
      );
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(10);
      for (const result of results) {
        if (result.status === "rejected") expect(result.reason).toMatchObject({ code: "login_throttled" });
      }
    });

    it("lets exactly one process create a contested username", async () => {
      const name = uniqueName();
      const results = await Promise.allSettled(
        apps.flatMap((app) => [app.call("createUser", name, "password123"), app.call("createUser", name.toUpperCase(), "password123")]),
      );
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      for (const result of results) {
        if (result.status === "rejected") expect(result.reason).toMatchObject({ code: "username_taken" });
      }
    });

    it("gives exactly one success to a reset token used at once from every process", async () => {
      const [a] = apps as [AppProcess, AppProcess, AppProcess];
      const name = uniqueName();
      await a.call("createUser", name, "password123", `${name}@example.com`);
      const issued = await a.call<{ token: string }>("createPasswordResetToken", name);
      const results = await Promise.all(
        apps.flatMap((app, p) =>
          Array.from({ length: 4 }, (_, i) => app.call<unknown>("resetPassword", issued.token, `new password ${p}-${i}`)),
        ),
      );
      expect(results.filter((user) => user !== null)).toHaveLength(1);
    });

    it("issues at most 5 reset tokens for one user when every process asks at once", async () => {
      const [a] = apps as [AppProcess, AppProcess, AppProcess];
      const name = uniqueName();
      await a.call("createUser", name, "password123", `${name}@example.com`);
      const results = await Promise.all(
        apps.flatMap((app) => Array.from({ length: 6 }, () => app.call<unknown>("createPasswordResetToken", name))),
      );
      expect(results.filter((issued) => issued !== null)).toHaveLength(5);
    });

    it("gives a contested address to exactly one of the users confirming a change to it from every process", async () => {
      const [a] = apps as [AppProcess, AppProcess, AppProcess];
      const contested = `${uniqueName()}@example.com`;
      const tokens: string[] = [];
      for (let i = 0; i < 3; i++) {
        const user = await a.call<{ id: number }>("createUser", uniqueName(), "password123", null);
        tokens.push((await a.call<{ token: string }>("requestEmailChange", user.id, contested)).token);
      }
      const results = await Promise.all(apps.map((app, i) => app.call<unknown>("confirmEmailChange", tokens[i])));
      expect(results.filter((user) => user !== null)).toHaveLength(1);
    });

    // Last: it ends the processes the tests above share.
    it("stops every process cleanly: each closes its manager and exits with code 0 when its input ends", async () => {
      expect(await Promise.all(apps.map((app) => app.stop()))).toEqual([0, 0, 0]);
    });
  },
  { except: ["sqlite-memory"] },
);
