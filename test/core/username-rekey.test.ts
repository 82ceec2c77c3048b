import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryId,
  QueryResult,
  RootOperationNode,
  SelectQueryNode,
  UnknownRow,
} from "kysely";
import { UsernameTakenError, type MigrationReport } from "session-manager";
import { connect } from "../../src/database/connect";
import { createMigrator, migrateToLatest } from "../../src/database/migrations";
import { rekeyUsernames } from "../../src/database/username-keys";
import { legacyUsernameKey } from "../../src/usernames";
import { DatabaseFixture, describeEachDatabase } from "../setup/databases";
import { FIRST_RELEASE, firstReleaseDatabase, insertFirstReleaseUsers } from "../setup/first-release";

const USERNAME_MIGRATION = "2026_11_20_0001_username_case_folding";

async function storedKeys(fixture: DatabaseFixture, prefix: string): Promise<Map<number, string>> {
  const rows = await connect(fixture.raw(), prefix).db.selectFrom("auth_users").select(["id", "username_key"]).execute();
  return new Map(rows.map((row) => [Number(row.id), row.username_key]));
}

const NAMES = [
  "alice", // unchanged
  "Straße",
  "STRASSE", // one name now; STRASSE already has the new key
  "οδοσ",
  "ΟΔΟΣ", // one name now; ΟΔΟΣ already has the new key ("οδος")
  "admin",
  "admın", // dotless ı: one name now
  "Maß", // re-keyed to "mass"
  "νικοσ", // re-keyed to "νικος"
  "ad\u200Bmin", // refused now
  "\u202Enimda", // refused now
];

describeEachDatabase("username re-key migration", (fixture) => {
  it("re-keys a first-release database, reporting and leaving alone the users it would merge", async () => {
    const prefix = DatabaseFixture.prefix();
    const ids = await firstReleaseDatabase(fixture, prefix, NAMES);
    const id = (name: string): number => ids.get(name)!;
    const before = await storedKeys(fixture, prefix);
    const sm = fixture.manager({ tablePrefix: prefix });

    const report = await sm.migrate();
    expect(report).toEqual<MigrationReport>({
      rekeyedUsernames: 2,
      usernameConflicts: [
        { key: "strasse", userIds: [id("Straße"), id("STRASSE")], usernames: ["Straße", "STRASSE"] },
        { key: "οδος", userIds: [id("οδοσ"), id("ΟΔΟΣ")], usernames: ["οδοσ", "ΟΔΟΣ"] },
        { key: "admin", userIds: [id("admin"), id("admın")], usernames: ["admin", "admın"] },
      ],
      invalidUsernames: [
        { userId: id("ad\u200Bmin"), username: "ad\u200Bmin" },
        { userId: id("\u202Enimda"), username: "\u202Enimda" },
      ],
    });

    const after = await storedKeys(fixture, prefix);
    expect(after.get(id("Maß"))).toBe("mass");
    expect(after.get(id("νικοσ"))).toBe("νικος");
    for (const name of NAMES.filter((n) => n !== "Maß" && n !== "νικοσ"))
      expect([name, after.get(id(name))]).toEqual([name, before.get(id(name))]);

    // Users left alone sign in with the names and passwords they used before the upgrade.
    const asBefore: Array<[string, string]> = [
      ["Straße", "Straße"],
      ["straße", "Straße"],
      ["STRASSE", "STRASSE"],
      ["strasse", "STRASSE"],
      ["οδοσ", "οδοσ"],
      ["ΟΔΟΣ", "ΟΔΟΣ"],
      ["οδος", "ΟΔΟΣ"],
      ["admin", "admin"],
      ["ADMIN", "admin"],
      ["admın", "admın"],
      ["alice", "alice"],
      ["ALICE", "alice"],
    ];
    for (const [typed, owner] of asBefore) {
      expect([typed, (await sm.authenticateUser(typed, `${owner}-password`))?.id]).toEqual([typed, id(owner)]);
    }
    expect((await sm.getUser("Straße"))?.id).toBe(id("Straße"));
    const token = await sm.login("admın", "admın-password");
    expect((await sm.validateSession(token!))?.username).toBe("admın");

    // Re-keyed users are found under every folded form, and their names are taken.
    for (const typed of ["Maß", "MASS", "mass", "maß"])
      expect([typed, (await sm.authenticateUser(typed, "Maß-password"))?.id]).toEqual([typed, id("Maß")]);
    for (const typed of ["ΝΙΚΟΣ", "νικος"]) expect((await sm.getUser(typed))?.id).toBe(id("νικοσ"));
    await expect(sm.createUser("MASS", "another password")).rejects.toBeInstanceOf(UsernameTakenError);
    await expect(sm.createUser("strasse", "another password")).rejects.toBeInstanceOf(UsernameTakenError);

    // Refused names keep their rows, but sign in by name no more.
    expect((await sm.getUserById(id("ad\u200Bmin")))?.username).toBe("ad\u200Bmin");
    await expect(sm.authenticateUser("ad\u200Bmin", "ad\u200Bmin-password")).resolves.toBeNull();

    // The report stays with the manager; a new start does not read the users table again.
    expect(await sm.migrate()).toEqual(report);
    expect(await fixture.manager({ tablePrefix: prefix }).migrate()).toEqual({
      rekeyedUsernames: 0,
      usernameConflicts: [],
      invalidUsernames: [],
    });
    // An explicit check finds the conflicts that remain, and changes nothing.
    const checked = await fixture.manager({ tablePrefix: prefix }).migrate({ checkUsernames: true });
    expect(checked).toEqual({ ...report, rekeyedUsernames: 0 });
    expect(await storedKeys(fixture, prefix)).toEqual(after);
  });

  it("re-keys, on an explicit check, rows renamed by hand and rows an older release inserted since", async () => {
    const prefix = DatabaseFixture.prefix();
    const ids = await firstReleaseDatabase(fixture, prefix, ["Straße", "STRASSE", "ad\u200Bmin"]);
    const sm = fixture.manager({ tablePrefix: prefix });
    expect((await sm.migrate()).usernameConflicts).toHaveLength(1);

    const { db, kind } = connect(fixture.raw(), prefix);
    // An operator resolves the conflict and the refused name in SQL, changing only the display form.
    await db.updateTable("auth_users").set({ username: "Strasse2" }).where("id", "=", ids.get("Straße")!).execute();
    await db.updateTable("auth_users").set({ username: "admin-two" }).where("id", "=", ids.get("ad\u200Bmin")!).execute();
    // A process of the first release, still running during a rolling deploy, adds a user.
    const late = await insertFirstReleaseUsers(db, kind, ["Fuß"]);
    expect(await sm.getUser("FUSS")).toBeNull();

    const report = await fixture.manager({ tablePrefix: prefix }).migrate({ checkUsernames: true });
    expect(report).toEqual({ rekeyedUsernames: 3, usernameConflicts: [], invalidUsernames: [] });
    expect((await sm.getUser("STRASSE2"))?.id).toBe(ids.get("Straße"));
    expect((await sm.getUser("ADMIN-TWO"))?.id).toBe(ids.get("ad\u200Bmin"));
    expect((await sm.getUser("FUSS"))?.id).toBe(late.get("Fuß"));
    expect((await sm.getUser("strasse"))?.id).toBe(ids.get("STRASSE"));
  });

  it("runs on an empty users table, and on a fresh database reports nothing", async () => {
    const prefix = DatabaseFixture.prefix();
    await firstReleaseDatabase(fixture, prefix, []);
    expect(await fixture.manager({ tablePrefix: prefix }).migrate()).toEqual({
      rekeyedUsernames: 0,
      usernameConflicts: [],
      invalidUsernames: [],
    });
    expect(await fixture.manager({ tablePrefix: DatabaseFixture.prefix() }).migrate({ checkUsernames: true })).toEqual({
      rekeyedUsernames: 0,
      usernameConflicts: [],
      invalidUsernames: [],
    });
  });

  it("reads the users table in batches past the first", async () => {
    const prefix = DatabaseFixture.prefix();
    const { db, kind } = connect(fixture.raw(), prefix);
    const { error } = await createMigrator(db, kind, prefix).migrateTo(FIRST_RELEASE);
    if (error !== undefined) throw error as Error;
    const rows = Array.from({ length: 1203 }, (_, i) => {
      const username = i % 400 === 399 ? `Maß${i}` : `user${i}`;
      return {
        username,
        username_key: legacyUsernameKey(username),
        password_hash: "$argon2id$v=19$m=256,t=1,p=1$c29tZXNhbHQ$aGFzaA",
        created_at: 0,
      };
    });
    for (let i = 0; i < rows.length; i += 300)
      await db
        .insertInto("auth_users")
        .values(rows.slice(i, i + 300))
        .execute();
    expect(await fixture.manager({ tablePrefix: prefix }).migrate()).toMatchObject({ rekeyedUsernames: 3 });
    const sm = fixture.manager({ tablePrefix: prefix });
    for (const i of [399, 799, 1199]) expect((await sm.getUser(`MASS${i}`))?.username).toBe(`Maß${i}`);
  });
});

// In-memory SQLite is one connection, so no second process can write beside the check.
describeEachDatabase(
  "username check racing another process",
  (fixture) => {
    it("reports a key that another process takes while the check runs as a conflict, and changes nothing", async () => {
      const prefix = DatabaseFixture.prefix();
      await fixture.manager({ tablePrefix: prefix }).migrate();
      const { db, kind } = connect(fixture.raw(), prefix);
      const ids = await insertFirstReleaseUsers(db, kind, ["Maß"]);
      const other = connect(fixture.url, prefix);
      try {
        // The check's second read looks up who holds "mass"; the other process inserts it just then.
        const racing = db.withPlugin(
          new OnSelect(
            (_node, nth) => nth === 2,
            async () => {
              ids.set("MASS", (await insertFirstReleaseUsers(other.db, other.kind, ["MASS"])).get("MASS")!);
            },
          ),
        );
        const report = await rekeyUsernames(racing, kind);
        expect(report).toEqual({
          rekeyed: 0,
          conflicts: [{ key: "mass", userIds: [ids.get("Maß"), ids.get("MASS")], usernames: ["Maß", "MASS"] }],
          refused: [],
        });
        expect((await storedKeys(fixture, prefix)).get(ids.get("Maß")!)).toBe("maß");
      } finally {
        await other.db.destroy();
      }
    });

    it("tries again when another process finishes the migration under it", async () => {
      // On SQLite Kysely's migrator takes no lock across processes; elsewhere another process
      // may still write its bookkeeping row beside the lock. Either way the retry must succeed.
      const prefix = DatabaseFixture.prefix();
      const { db, kind } = connect(fixture.raw(), prefix);
      const { error } = await createMigrator(db, kind, prefix).migrateTo(FIRST_RELEASE);
      if (error !== undefined) throw error as Error;
      const other = connect(fixture.url, prefix);
      try {
        const racing = db.withPlugin(
          new OnSelect(
            (node) => JSON.stringify(node).includes('"username_key"'),
            async () => {
              await other.db
                .insertInto(`${prefix}auth_migrations` as never)
                .values({ name: USERNAME_MIGRATION, timestamp: new Date().toISOString() })
                .execute();
            },
          ),
        );
        await expect(migrateToLatest(racing, kind, prefix)).resolves.toBeNull();
      } finally {
        await other.db.destroy();
      }
    });
  },
  { except: ["sqlite-memory"] },
);

/**
 * Runs `action` once, when the result of the first SELECT that `which` picks arrives, before the
 * caller sees it. `which` gets each SELECT's node and its number (from 1) among this plugin's SELECTs.
 */
class OnSelect implements KyselyPlugin {
  #selects = 0;
  #target: QueryId | null = null;
  #done = false;

  constructor(
    readonly which: (node: SelectQueryNode, nth: number) => boolean,
    readonly action: () => Promise<void>,
  ) {}

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (args.node.kind === "SelectQueryNode") {
      const nth = ++this.#selects;
      if (this.#target === null && this.which(args.node, nth)) this.#target = args.queryId;
    }
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if (args.queryId === this.#target && !this.#done) {
      this.#done = true;
      await this.action();
    }
    return args.result;
  }
}
