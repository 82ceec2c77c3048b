import type { Kysely } from "kysely";
import { normalizeUsername } from "../usernames.js";
import type { DialectKind } from "./dialect.js";
import type { Database } from "./schema.js";
import { isUniqueViolation } from "./users.js";

/** Users whose names the current rules make one name. None was changed: they keep their old keys. */
export interface UsernameConflict {
  /** The key they all have under the current rules. */
  key: string;
  /** Their ids, in ascending order. */
  userIds: number[];
  /** Their display names, in the order of `userIds`. */
  usernames: string[];
}

/** A user whose stored name the current rules refuse: the row and its sessions are kept. */
export interface RefusedUsername {
  userId: number;
  username: string;
}

/** What bringing the stored username keys in line with the current rules did and could not do. */
export interface UsernameKeyReport {
  /** Rows whose key was changed. */
  rekeyed: number;
  conflicts: UsernameConflict[];
  refused: RefusedUsername[];
}

interface StaleRow {
  id: number;
  username: string;
  oldKey: string;
  newKey: string;
}

const BATCH_SIZE = 500;

/**
 * Reads every user in batches of ids and gives each row whose stored key differs from the key
 * the current rules compute that new key, unless it would join another row's key: such rows are
 * left alone and reported, as are rows whose name the rules now refuse. Nothing is ever merged or
 * deleted. Only rows with changed keys are kept in memory, so a large table costs a scan, not
 * memory. Safe to run again, and beside processes that insert users: every update names the key
 * it replaces, and a key taken meanwhile is reported as a conflict (inside a PostgreSQL
 * transaction the migration is run again instead, and then finds the conflict).
 */
export async function rekeyUsernames(db: Kysely<Database>, kind: DialectKind): Promise<UsernameKeyReport> {
  const stale: StaleRow[] = [];
  const refused: RefusedUsername[] = [];
  for (let after = 0; ;) {
    const rows = await db
      .selectFrom("auth_users")
      .select(["id", "username", "username_key"])
      .where("id", ">", after)
      .orderBy("id")
      .limit(BATCH_SIZE)
      .execute();
    for (const row of rows) {
      const id = Number(row.id);
      const name = normalizeUsername(row.username);
      if (name === null) refused.push({ userId: id, username: row.username });
      else if (name.key !== row.username_key) stale.push({ id, username: row.username, oldKey: row.username_key, newKey: name.key });
    }
    if (rows.length < BATCH_SIZE) break;
    after = Number(rows[rows.length - 1]!.id);
  }

  const byNewKey = new Map<string, StaleRow[]>();
  for (const row of stale) {
    const group = byNewKey.get(row.newKey);
    if (group === undefined) byNewKey.set(row.newKey, [row]);
    else group.push(row);
  }

  let rekeyed = 0;
  const conflicts: UsernameConflict[] = [];
  for (const [key, group] of byNewKey) {
    const holder = await rowWithKey(db, key);
    if (group.length > 1 || holder !== null) {
      conflicts.push(conflictOf(key, holder === null ? group : [holder, ...group]));
      continue;
    }
    const row = group[0]!;
    try {
      const result = await db
        .updateTable("auth_users")
        .set({ username_key: key })
        .where("id", "=", row.id)
        .where("username_key", "=", row.oldKey)
        .executeTakeFirst();
      rekeyed += Number(result.numUpdatedRows);
    } catch (error) {
      // On PostgreSQL the failed statement has aborted the migration's transaction, which is
      // then run again as a whole; elsewhere the statement alone failed.
      if (!isUniqueViolation(error) || (kind === "postgres" && db.isTransaction)) throw error;
      // Another process took the key since it was looked up.
      const taker = await rowWithKey(db, key);
      conflicts.push(conflictOf(key, taker === null ? [row] : [taker, row]));
    }
  }
  conflicts.sort((a, b) => a.userIds[0]! - b.userIds[0]!);
  return { rekeyed, conflicts, refused };
}

async function rowWithKey(db: Kysely<Database>, key: string): Promise<{ id: number; username: string } | null> {
  const row = await db.selectFrom("auth_users").select(["id", "username"]).where("username_key", "=", key).executeTakeFirst();
  return row === undefined ? null : { id: Number(row.id), username: row.username };
}

function conflictOf(key: string, rows: Array<{ id: number; username: string }>): UsernameConflict {
  const sorted = [...rows].sort((a, b) => a.id - b.id);
  return { key, userIds: sorted.map((r) => r.id), usernames: sorted.map((r) => r.username) };
}
