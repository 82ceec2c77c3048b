import { sql, type CompiledQuery } from "kysely";
import { connect, type Connection } from "../../src/database/connect.js";

// The SQLite connection's `readOne`: the validation lookup's path past Kysely's executor. It must
// read what Kysely would read, at once when the connection is free, never a transaction's
// uncommitted rows, and fail with the database's error.
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

  it("reads the one row, or undefined when there is none, at once on a free connection", () => {
    expect(connection.readOne(select(1))).toEqual({ id: 1, name: "one" });
    expect(connection.readOne(select(2))).toBeUndefined();
  });

  it("goes through Kysely while the connection is not open yet", async () => {
    const fresh = connect("sqlite::memory:", "");
    try {
      const read = fresh.readOne(sql<{ n: number }>`select 7 as n`.compile(fresh.db));
      expect(read).toBeInstanceOf(Promise);
      await expect(read).resolves.toEqual({ n: 7 });
    } finally {
      await fresh.db.destroy();
    }
  });

  it("throws the statement's error when it reads at once", () => {
    const broken = sql<{ id: number }>`select id from missing_table`.compile(connection.db);
    // By message: better-sqlite3's error class may come from another test file's realm.
    expect(() => connection.readOne(broken)).toThrow(/no such table/);
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
      const pending = connection.readOne(select(2));
      expect(pending).toBeInstanceOf(Promise);
      const read = Promise.resolve(pending).then((row) => ((settled = true), row));
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
    await expect(Promise.resolve().then(() => connection.readOne(select(1)))).rejects.toThrow();
    connection = connect("sqlite::memory:", "");
  });
});
