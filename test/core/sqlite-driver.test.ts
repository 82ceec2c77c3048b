import { sql, type CompiledQuery } from "kysely";
import { connect, type Connection } from "../../src/database/connect.js";

// The SQLite connection's `readOne`: the validation lookup's path past Kysely's executor. It must
// read what Kysely would read, never a transaction's uncommitted rows, and fail as a rejection.
describe("SQLite readOne", () => {
  let connection: Connection;
  const select = (id: number): CompiledQuery<{ id: number; name: string }> =>
    sql<{ id: number; name: string }>`select id, name from items where id = ${id}`.compile(connection.db);

  beforeEach(async () => {
    connection = connect("sqlite::memory:", "");
    await sql`create table items (id integer primary key, name text not null)`.execute(connection.db);
    await sql`insert into items (id, name) values (1, 'one')`.execute(connection.db);
  });

  afterEach(async () => {
    await connection.db.destroy();
  });

  it("reads the one row, or undefined when there is none", async () => {
    await expect(connection.readOne(select(1))).resolves.toEqual({ id: 1, name: "one" });
    await expect(connection.readOne(select(2))).resolves.toBeUndefined();
  });

  it("goes through Kysely while the connection is not open yet", async () => {
    const fresh = connect("sqlite::memory:", "");
    try {
      await expect(fresh.readOne(sql<{ n: number }>`select 7 as n`.compile(fresh.db))).resolves.toEqual({ n: 7 });
    } finally {
      await fresh.db.destroy();
    }
  });

  it("rejects, rather than throws, when the statement fails", async () => {
    const broken = sql<{ id: number }>`select id from missing_table`.compile(connection.db);
    let promise: Promise<unknown> | undefined;
    expect(() => (promise = connection.readOne(broken))).not.toThrow();
    // By message: better-sqlite3's error class may come from another test file's realm.
    await expect(promise).rejects.toMatchObject({ message: expect.stringMatching(/no such table/) });
  });

  for (const outcome of ["commit", "rollback"] as const) {
    it(`waits for a transaction holding the connection (${outcome}) and never sees its uncommitted rows`, async () => {
      let finish!: () => void;
      const held = new Promise<void>((resolve) => (finish = resolve));
      let inserted!: () => void;
      const insertDone = new Promise<void>((resolve) => (inserted = resolve));
      const transaction = connection.db.transaction().execute(async (trx) => {
        await sql`insert into items (id, name) values (2, 'two')`.execute(trx);
        inserted();
        await held;
        if (outcome === "rollback") throw new Error("rolled back on purpose");
      });
      await insertDone;

      let settled = false;
      const read = connection.readOne(select(2)).then((row) => ((settled = true), row));
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(settled).toBe(false);

      finish();
      if (outcome === "rollback") await expect(transaction).rejects.toThrow("rolled back on purpose");
      else await transaction;
      await expect(read).resolves.toEqual(outcome === "commit" ? { id: 2, name: "two" } : undefined);
    });
  }

  it("refuses reads after the database is closed", async () => {
    await connection.db.destroy();
    await expect(connection.readOne(select(1))).rejects.toThrow();
    connection = connect("sqlite::memory:", "");
  });
});
