import { sql } from "kysely";
import { SessionManager } from "session-manager";
import { DatabaseFixture, FAST_PASSWORDS, describeEachDatabase, uniqueName } from "../setup/databases";

describeEachDatabase("migrations", (fixture) => {
  async function tableNames(): Promise<string[]> {
    const tables = await fixture.raw().introspection.getTables({ withInternalKyselyTables: true });
    return tables.map((t) => t.name);
  }

  it("migrates once even when many operations arrive together on a fresh database", async () => {
    const prefix = DatabaseFixture.prefix();
    const sm = fixture.manager({ tablePrefix: prefix });
    const names = Array.from({ length: 20 }, () => uniqueName());
    const users = await Promise.all(names.map((name) => sm.createUser(name, "password123")));
    expect(new Set(users.map((u) => u.id)).size).toBe(20);
    const tables = await tableNames();
    for (const table of ["auth_users", "auth_sessions", "auth_login_throttle", "auth_migrations", "auth_migrations_lock"]) {
      expect(tables).toContain(prefix + table);
    }
  });

  it("is idempotent and safe when several managers migrate at once", async () => {
    const prefix = DatabaseFixture.prefix();
    const managers = Array.from({ length: 4 }, () => fixture.manager({ tablePrefix: prefix, autoMigrate: false }));
    await Promise.all(managers.map((m) => m.migrate()));
    await Promise.all(managers.map((m) => m.migrate()));
    const name = uniqueName();
    await managers[0]!.createUser(name, "password123");
    expect(await managers[3]!.getUser(name)).not.toBeNull();
  });

  it("keeps prefixed tables apart from unprefixed ones", async () => {
    const prefixA = DatabaseFixture.prefix();
    const a = fixture.manager({ tablePrefix: prefixA });
    const b = fixture.manager({ tablePrefix: DatabaseFixture.prefix() });
    const name = uniqueName();
    await a.createUser(name, "password123");
    expect(await b.getUser(name)).toBeNull();
    await expect(b.createUser(name, "password123")).resolves.toBeDefined();
    // One-time tokens too: a reset token of one prefix means nothing under the other.
    const email = `${name}@example.com`;
    const user = await a.createUser(uniqueName(), "password123", { email });
    await b.createUser(uniqueName(), "password123", { email });
    const issued = await a.createPasswordResetToken(email);
    expect(await b.resetPassword(issued!.token, "a new password")).toBeNull();
    expect(await a.resetPassword(issued!.token, "a new password")).toMatchObject({ id: user.id });
    const tables = (await fixture.raw().introspection.getTables()).map((t) => t.name);
    expect(tables).toContain(`${prefixA}auth_one_time_tokens`);
  });

  it("with autoMigrate false, fails until migrate() has run", async () => {
    const prefix = DatabaseFixture.prefix();
    const sm = fixture.manager({ tablePrefix: prefix, autoMigrate: false });
    // Matched by message, not by class: better-sqlite3's native addon keeps the SqliteError class
    // of the first test file that loaded it, which is not an Error of later files' realms.
    await expect(sm.createUser(uniqueName(), "password123")).rejects.toMatchObject({
      message: expect.stringMatching(/no such table|does not exist|doesn't exist/),
    });
    await sm.migrate();
    await expect(sm.createUser(uniqueName(), "password123")).resolves.toBeDefined();
  });

  it("creates the indexes every lookup uses", async () => {
    const prefix = DatabaseFixture.prefix();
    await fixture.manager({ tablePrefix: prefix }).migrate();
    const db = fixture.raw();
    let indexes: string[];
    if (fixture.database.name.startsWith("sqlite")) {
      const rows = await sql<{ name: string }>`select name from sqlite_master where type = 'index'`.execute(db);
      indexes = rows.rows.map((r) => r.name);
    } else if (fixture.database.name === "postgres") {
      const rows = await sql<{ indexname: string }>`select indexname from pg_indexes`.execute(db);
      indexes = rows.rows.map((r) => r.indexname);
    } else {
      const rows = await sql<{
        INDEX_NAME: string;
      }>`select index_name as INDEX_NAME from information_schema.statistics where table_schema = database()`.execute(db);
      indexes = rows.rows.map((r) => r.INDEX_NAME);
    }
    for (const index of [
      "auth_users_username_key",
      "auth_users_email_key",
      "auth_sessions_token_hash",
      "auth_sessions_user_id",
      "auth_sessions_expires_at",
      "auth_one_time_tokens_user_id",
      "auth_one_time_tokens_expires_at",
    ]) {
      expect(indexes).toContain(prefix + index);
    }
  });
});

describe("migrations on a SQLite file shared by separate managers", () => {
  it("lets a second manager that starts while the first migrates see the same schema", async () => {
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "sm-migrate-"));
    const url = `sqlite:${join(dir, "shared.db")}`;
    const managers = Array.from({ length: 5 }, () => new SessionManager({ database: url, password: FAST_PASSWORDS }));
    try {
      await Promise.all(managers.map((m) => m.migrate()));
      const name = uniqueName();
      await managers[1]!.createUser(name, "password123");
      for (const manager of managers) expect(await manager.getUser(name)).not.toBeNull();
    } finally {
      await Promise.all(managers.map((m) => m.close()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
