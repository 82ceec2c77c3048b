import { hash } from "@node-rs/argon2";
import type { Kysely } from "kysely";
import { connect } from "../../src/database/connect";
import type { DialectKind } from "../../src/database/dialect";
import { createMigrator } from "../../src/database/migrations";
import type { Database } from "../../src/database/schema";
import { legacyUsernameKey } from "../../src/usernames";
import { FAST_PASSWORDS, type DatabaseFixture } from "./databases";

/** The only migration of the first release. */
export const FIRST_RELEASE = "2026_11_01_0001_initial";

/**
 * A database as the first release left it: its schema, under `prefix`, and users stored with its
 * key (lower case + NFKC), each with its own password (the name with "-password").
 */
export async function firstReleaseDatabase(fixture: DatabaseFixture, prefix: string, names: string[]): Promise<Map<string, number>> {
  const { db, kind } = connect(fixture.raw(), prefix);
  const { error } = await createMigrator(db, kind, prefix).migrateTo(FIRST_RELEASE);
  if (error !== undefined) throw error as Error;
  return insertFirstReleaseUsers(db, kind, names);
}

/** Users inserted the way the first release did, each with the password `${name}-password`. */
export async function insertFirstReleaseUsers(db: Kysely<Database>, kind: DialectKind, names: string[]): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for (const name of names) {
    const passwordHash = await hash(`${name}-password`, { algorithm: 2, ...FAST_PASSWORDS });
    // The first release's columns only: its processes may still be inserting during an upgrade.
    const insert = db
      .insertInto("auth_users")
      .values({ username: name, username_key: legacyUsernameKey(name), password_hash: passwordHash, created_at: Date.now() });
    ids.set(
      name,
      Number(
        kind === "mysql" ? (await insert.executeTakeFirstOrThrow()).insertId : (await insert.returning("id").executeTakeFirstOrThrow()).id,
      ),
    );
  }
  return ids;
}
