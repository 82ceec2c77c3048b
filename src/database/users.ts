import type { Kysely } from "kysely";
import type { User } from "../types.js";
import type { NormalizedUsername } from "../usernames.js";
import type { DialectKind } from "./dialect.js";
import type { Database, UsersTable } from "./schema.js";

/** The user's row as stored, hash included: it never leaves the library. */
export interface UserRecord {
  user: User;
  passwordHash: string;
  /** The key the username is compared and throttled by. */
  usernameKey: string;
  emailKey: string | null;
}

/** The columns of a user as the library reads them. */
const USER_COLUMNS = [
  "auth_users.id",
  "auth_users.username",
  "auth_users.username_key",
  "auth_users.password_hash",
  "auth_users.created_at",
  "auth_users.email",
  "auth_users.email_key",
  "auth_users.email_verified",
] as const;

type UserRow = Pick<UsersTable, "username" | "username_key" | "password_hash" | "email" | "email_key"> & {
  id: number;
  created_at: number | string;
  email_verified: number | string | boolean;
};

export async function insertUser(
  db: Kysely<Database>,
  kind: DialectKind,
  row: { username: string; usernameKey: string; passwordHash: string; createdAt: number; email?: { display: string; key: string } | null },
): Promise<number> {
  const insert = db.insertInto("auth_users").values({
    username: row.username,
    username_key: row.usernameKey,
    password_hash: row.passwordHash,
    created_at: row.createdAt,
    email: row.email?.display ?? null,
    email_key: row.email?.key ?? null,
    email_verified: 0,
  });
  if (kind === "mysql") {
    const result = await insert.executeTakeFirstOrThrow();
    return Number(result.insertId);
  }
  const { id } = await insert.returning("id").executeTakeFirstOrThrow();
  return Number(id);
}

export async function findUserByKey(db: Kysely<Database>, usernameKey: string): Promise<UserRecord | null> {
  const row = await db.selectFrom("auth_users").select(USER_COLUMNS).where("username_key", "=", usernameKey).executeTakeFirst();
  return recordOf(row);
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
  const rows = await db.selectFrom("auth_users").select(USER_COLUMNS).where("username_key", "in", [name.key, name.legacyKey]).execute();
  return recordOf(rows.find((r) => r.username_key === name.legacyKey) ?? rows[0]);
}

export async function findUserByEmailKey(db: Kysely<Database>, emailKey: string): Promise<UserRecord | null> {
  const row = await db.selectFrom("auth_users").select(USER_COLUMNS).where("email_key", "=", emailKey).executeTakeFirst();
  return recordOf(row);
}

export async function findUserById(db: Kysely<Database>, id: number): Promise<UserRecord | null> {
  const row = await db.selectFrom("auth_users").select(USER_COLUMNS).where("id", "=", id).executeTakeFirst();
  return recordOf(row);
}

/**
 * Reads the user inside a transaction after taking its row's write lock, so that concurrent
 * flows on one user (two resets, a reset and a deletion) take turns: a no-op UPDATE is the one
 * statement that takes that lock on PostgreSQL, MySQL and SQLite alike (on SQLite, the database's
 * write lock, before anything is read, so the transaction never has to upgrade). Null when the
 * user does not exist.
 */
export async function lockUser(trx: Kysely<Database>, id: number): Promise<UserRecord | null> {
  await trx
    .updateTable("auth_users")
    .set((eb) => ({ email_verified: eb.ref("email_verified") }))
    .where("id", "=", id)
    .execute();
  return findUserById(trx, id);
}

export async function updatePasswordHash(db: Kysely<Database>, id: number, passwordHash: string): Promise<boolean> {
  const result = await db.updateTable("auth_users").set({ password_hash: passwordHash }).where("id", "=", id).executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Sets the user's address, verified or not. */
export async function updateEmail(
  db: Kysely<Database>,
  id: number,
  email: { display: string; key: string },
  verified: boolean,
): Promise<void> {
  await db
    .updateTable("auth_users")
    .set({ email: email.display, email_key: email.key, email_verified: verified ? 1 : 0 })
    .where("id", "=", id)
    .execute();
}

/** Marks the address verified, when the user still has it; true when it did. */
export async function markEmailVerified(db: Kysely<Database>, id: number, emailKey: string): Promise<boolean> {
  const result = await db
    .updateTable("auth_users")
    .set({ email_verified: 1 })
    .where("id", "=", id)
    .where("email_key", "=", emailKey)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Deletes the user with its sessions and tokens together, also where foreign keys are not enforced. */
export async function deleteUserAndSessions(db: Kysely<Database>, id: number): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await trx.deleteFrom("auth_sessions").where("user_id", "=", id).execute();
    await trx.deleteFrom("auth_one_time_tokens").where("user_id", "=", id).execute();
    await trx.deleteFrom("auth_pending_sign_ins").where("user_id", "=", id).execute();
    await trx.deleteFrom("auth_recovery_codes").where("user_id", "=", id).execute();
    await trx.deleteFrom("auth_totp").where("user_id", "=", id).execute();
    const result = await trx.deleteFrom("auth_users").where("id", "=", id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  });
}

/** The public view of a user row (of `auth_users`, or joined under these names). */
export function toUser(row: {
  id: number;
  username: string;
  created_at: number | string;
  email: string | null;
  email_verified: number | string | boolean;
}): User {
  return {
    id: Number(row.id),
    username: row.username,
    createdAt: new Date(Number(row.created_at)),
    email: row.email,
    // SQLite and MySQL answer 0/1, PostgreSQL's driver an integer too; Number() also reads "1".
    emailVerified: row.email !== null && Number(row.email_verified) === 1,
  };
}

function recordOf(row: UserRow | undefined): UserRecord | null {
  if (row === undefined) return null;
  return { user: toUser(row), passwordHash: row.password_hash, usernameKey: row.username_key, emailKey: row.email_key };
}

/** Which unique constraint a driver's error reports as violated, or null for any other error. */
export function uniqueViolationOf(error: unknown): "email" | "username" | "other" | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== "SQLITE_CONSTRAINT_UNIQUE" && code !== "23505" && code !== "ER_DUP_ENTRY") return null;
  // SQLite names the column, PostgreSQL the index (in `constraint` and the message), MySQL the index.
  const e = error as { message?: unknown; constraint?: unknown };
  const text = `${String(e.message)} ${String(e.constraint)}`;
  if (text.includes("email_key")) return "email";
  if (text.includes("username_key")) return "username";
  return "other";
}

/** True for the unique-constraint violation each driver reports for a duplicate username. */
export function isUniqueViolation(error: unknown): boolean {
  return uniqueViolationOf(error) !== null;
}
