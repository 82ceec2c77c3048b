import type { Kysely } from "kysely";
import type { Database, OneTimeTokensTable } from "./schema.js";

export type TokenPurpose = OneTimeTokensTable["purpose"];

/** A live one-time token's row, digest aside. */
export interface OneTimeTokenRow {
  userId: number;
  email: string;
  expiresAt: number;
}

export async function insertOneTimeToken(
  db: Kysely<Database>,
  row: { tokenHash: string; purpose: TokenPurpose; userId: number; email: string; createdAt: number; expiresAt: number },
): Promise<void> {
  await db
    .insertInto("auth_one_time_tokens")
    .values({
      token_hash: row.tokenHash,
      purpose: row.purpose,
      user_id: row.userId,
      email: row.email,
      created_at: row.createdAt,
      expires_at: row.expiresAt,
    })
    .execute();
}

/** The live token with this digest and purpose, without using it up; undefined otherwise. */
export async function findOneTimeToken(
  db: Kysely<Database>,
  tokenHash: string,
  purpose: TokenPurpose,
  now: number,
): Promise<OneTimeTokenRow | undefined> {
  const row = await db
    .selectFrom("auth_one_time_tokens")
    .select(["user_id", "email", "expires_at"])
    .where("token_hash", "=", tokenHash)
    .where("purpose", "=", purpose)
    .where("expires_at", ">", now)
    .executeTakeFirst();
  return row === undefined ? undefined : { userId: Number(row.user_id), email: row.email, expiresAt: Number(row.expires_at) };
}

/**
 * Uses up a live token of this user and purpose: true for exactly one caller however many race,
 * in any number of processes, since the conditional UPDATE is one atomic statement and only the
 * first sees the row still live. The row stays, expired, so that recent issues can be counted.
 */
export async function consumeOneTimeToken(
  db: Kysely<Database>,
  tokenHash: string,
  purpose: TokenPurpose,
  userId: number,
  now: number,
): Promise<boolean> {
  const result = await db
    .updateTable("auth_one_time_tokens")
    .set({ expires_at: 0 })
    .where("token_hash", "=", tokenHash)
    .where("purpose", "=", purpose)
    .where("user_id", "=", userId)
    .where("expires_at", ">", now)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Voids every live token of the user with this purpose. */
export async function voidOneTimeTokens(db: Kysely<Database>, userId: number, purpose: TokenPurpose, now: number): Promise<void> {
  await db
    .updateTable("auth_one_time_tokens")
    .set({ expires_at: 0 })
    .where("user_id", "=", userId)
    .where("purpose", "=", purpose)
    .where("expires_at", ">", now)
    .execute();
}

/** How many tokens of this purpose the user was issued since `since`, used or not. */
export async function countOneTimeTokensSince(db: Kysely<Database>, userId: number, purpose: TokenPurpose, since: number): Promise<number> {
  const row = await db
    .selectFrom("auth_one_time_tokens")
    .select((eb) => eb.fn.countAll<number | string>().as("issued"))
    .where("user_id", "=", userId)
    .where("purpose", "=", purpose)
    .where("created_at", ">", since)
    .executeTakeFirstOrThrow();
  return Number(row.issued);
}

/** Forgets tokens that can no longer be used and were issued before `before`; returns how many. */
export async function deleteDeadOneTimeTokens(db: Kysely<Database>, before: number, now: number): Promise<number> {
  const result = await db
    .deleteFrom("auth_one_time_tokens")
    .where("expires_at", "<=", now)
    .where("created_at", "<", before)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
