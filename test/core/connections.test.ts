import { sql } from "kysely";
import { SessionManager } from "session-manager";
import { FAST_PASSWORDS, describeEachDatabase, uniqueName } from "../setup/databases";

describeEachDatabase(
  "close()",
  (fixture) => {
    async function openConnections(): Promise<number> {
      const db = fixture.raw();
      const name = new URL(fixture.url).pathname.slice(1);
      if (fixture.database.name === "postgres") {
        const { rows } = await sql<{
          n: string;
        }>`select count(*) as n from pg_stat_activity where datname = ${name} and pid <> pg_backend_pid()`.execute(db);
        return Number(rows[0]!.n);
      }
      const { rows } = await sql<{
        n: number;
      }>`select count(*) as n from information_schema.processlist where db = ${name} and id <> connection_id()`.execute(db);
      return Number(rows[0]!.n);
    }

    it("releases every connection it opened", async () => {
      const before = await openConnections();
      const sm = fixture.manager();
      const name = uniqueName();
      await sm.createUser(name, "password123");
      await Promise.all(Array.from({ length: 8 }, () => sm.login(name, "password123")));
      expect(await openConnections()).toBeGreaterThan(before);
      await sm.close();
      // The server notices closed sockets a moment after the client closes them.
      let after = await openConnections();
      for (let i = 0; i < 50 && after > before; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        after = await openConnections();
      }
      expect(after).toBe(before);
    });

    it("passes the pool size from the URL's query string to the driver", async () => {
      const before = await openConnections();
      const url = new URL(fixture.url);
      url.searchParams.set(fixture.database.name === "postgres" ? "max" : "connectionLimit", "2");
      const sm = new SessionManager({ database: url.toString(), password: FAST_PASSWORDS });
      try {
        const name = uniqueName();
        await sm.createUser(name, "password123");
        const token = (await sm.login(name, "password123"))!;
        // Queries without hashing, all at once: an unbounded pool would open a connection for each.
        await Promise.all(Array.from({ length: 12 }, () => sm.listSessions(1)));
        await Promise.all(Array.from({ length: 12 }, () => sm.validateSession(token)));
        const opened = (await openConnections()) - before;
        expect(opened).toBeGreaterThan(0);
        expect(opened).toBeLessThanOrEqual(2);
      } finally {
        await sm.close();
      }
    });
  },
  { except: ["sqlite-memory", "sqlite-file"] },
);
