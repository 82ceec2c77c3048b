import type { Kysely } from "kysely";
import type { User } from "../types.js";
import type { NormalizedUsername } from "../usernames.js";
import type { DialectKind } from "./dialect.js";
import type { Database } from "./schema.js";

/** The user's row as stored, hash included: it never leaves the library. */
export interface UserRecord {
  user: User;
  passwordHash: string;
}

export async function insertUser(
  db: Kysely<Database>,
  kind: DialectKind,
  row: { username: string; usernameKey: string; passwordHash: string; createdAt: number },
): Promise<number> {
  const insert = db.insertInto("auth_users").values({
    username: row.username,
    username_key: row.usernameKey,
    password_hash: row.passwordHash,
    created_at: row.createdAt,
  });
  if (kind === "mysql") {
    const result = await insert.executeTakeFirstOrThrow();
    return Number(result.insertId);
  }
  const { id } = await insert.returning("id").executeTakeFirstOrThrow();
  return Number(id);
}

export async function findUserByKey(db: Kysely<Database>, usernameKey: string): Promise<UserRecord | null> {
  const row = await db
    .selectFrom("auth_users")
    .select(["id", "username", "password_hash", "created_at"])
    .where("username_key", "=", usernameKey)
    .executeTakeFirst();
  return row === undefined ? null : { user: toUser(row), passwordHash: row.password_hash };
}

/**
 * The user a username names. Normally the row with its key; when the first release's key differs
 * (names with `ß`, a final sigma, ...), a row still stored under that older key wins, as it did
 * before: such rows are the ones the re-key migration left alone because re-keying them would
 * have merged two users (or that a process of the older release inserted since). No row the
 * current rule writes can hold such a key, since every current key is a fixed point of the fold.
 */
export async function findUserByName(db: Kysely<Database>, name: NormalizedUsername): Promise<UserRecord | null> {
  if (name.legacyKey === name.key) return findUserByKey(db, name.key);
  const rows = await db
    .selectFrom("auth_users")
    .select(["id", "username", "username_key", "password_hash", "created_at"])
    .where("username_key", "in", [name.key, name.legacyKey])
    .execute();
  const row = rows.find((r) => r.username_key === name.legacyKey) ?? rows[0];
  return row === undefined ? null : { user: toUser(row), passwordHash: row.password_hash };
}

export async function findUserById(db: Kysely<Database>, id: number): Promise<UserRecord | null> {
  const row = await db
    .selectFrom("auth_users")
    .select(["id", "username", "password_hash", "created_at"])
    .where("id", "=", id)
    .executeTakeFirst();
  return row === undefined ? null : { user: toUser(row), passwordHash: row.password_hash };
}

export async function updatePasswordHash(db: Kysely<Database>, id: number, passwordHash: string): Promise<boolean> {
  const result = await db.updateTable("auth_users").set({ password_hash: passwordHash }).where("id", "=", id).executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Deletes the user and its sessions together, also where foreign keys are not enforced. */
export async function deleteUserAndSessions(db: Kysely<Database>, id: number): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await trx.deleteFrom("auth_sessions").where("user_id", "=", id).execute();
    const result = await trx.deleteFrom("auth_users").where("id", "=", id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  });
}

export function toUser(row: { id: number; username: string; created_at: number | string }): User {
  return { id: Number(row.id), username: row.username, createdAt: new Date(Number(row.created_at)) };
}

/** True for the unique-constraint violation each driver reports for a duplicate username. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "23505" || code === "ER_DUP_ENTRY";
}
