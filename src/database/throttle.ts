import type { Kysely } from "kysely";
import type { DialectKind } from "./dialect.js";
import type { Database } from "./schema.js";

export interface ThrottleState {
  failures: number;
  lockedUntil: number;
}

export async function findThrottle(db: Kysely<Database>, usernameKey: string): Promise<ThrottleState | null> {
  const row = await db
    .selectFrom("auth_login_throttle")
    .select(["failures", "locked_until"])
    .where("username_key", "=", usernameKey)
    .executeTakeFirst();
  return row === undefined ? null : { failures: Number(row.failures), lockedUntil: Number(row.locked_until) };
}

/**
 * Counts one more failure atomically, so that failures from every process sharing the database
 * add up, and returns the new count.
 */
export async function incrementFailures(db: Kysely<Database>, kind: DialectKind, usernameKey: string, now: number): Promise<number> {
  const insert = db.insertInto("auth_login_throttle").values({ username_key: usernameKey, failures: 1, locked_until: 0, updated_at: now });
  if (kind === "mysql") {
    await insert.onDuplicateKeyUpdate((eb) => ({ failures: eb("failures", "+", 1), updated_at: now })).execute();
  } else {
    await insert
      .onConflict((oc) => oc.column("username_key").doUpdateSet((eb) => ({ failures: eb("auth_login_throttle.failures", "+", 1), updated_at: now })))
      .execute();
  }
  const state = await findThrottle(db, usernameKey);
  return state?.failures ?? 1;
}

/** Starts a lockout; it only ever moves later, so racing processes cannot shorten one. */
export async function lockUntil(db: Kysely<Database>, usernameKey: string, lockedUntil: number): Promise<void> {
  await db
    .updateTable("auth_login_throttle")
    .set({ locked_until: lockedUntil })
    .where("username_key", "=", usernameKey)
    .where("locked_until", "<", lockedUntil)
    .execute();
}

export async function clearThrottle(db: Kysely<Database>, usernameKey: string): Promise<void> {
  await db.deleteFrom("auth_login_throttle").where("username_key", "=", usernameKey).execute();
}

/** Forgets failures on usernames nobody has tried since `before` and that are not locked. */
export async function deleteStaleThrottles(db: Kysely<Database>, before: number, now: number): Promise<number> {
  const result = await db
    .deleteFrom("auth_login_throttle")
    .where("updated_at", "<", before)
    .where("locked_until", "<", now)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
