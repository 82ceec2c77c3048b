import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

/**
 * The rows of two-factor authentication: each user's encrypted TOTP secret, its recovery codes
 * and the sign-ins waiting for a code. Every "use once" rule (a time step, a recovery code, a
 * pending token) is one conditional UPDATE, so that however many uses race, in any number of
 * processes, exactly one sees the row still unused.
 */

/** A user's TOTP row. */
export interface TotpRow {
  secretEncrypted: string;
  confirmed: boolean;
  lastUsedStep: number | null;
}

export async function findTotp(db: Kysely<Database>, userId: number): Promise<TotpRow | null> {
  const row = await db
    .selectFrom("auth_totp")
    .select(["secret_encrypted", "confirmed_at", "last_used_step"])
    .where("user_id", "=", userId)
    .executeTakeFirst();
  if (row === undefined) return null;
  return {
    secretEncrypted: row.secret_encrypted,
    confirmed: row.confirmed_at !== null,
    lastUsedStep: row.last_used_step === null ? null : Number(row.last_used_step),
  };
}

/** True when the user has confirmed TOTP: signing in then takes a second factor. */
export async function hasConfirmedTotp(db: Kysely<Database>, userId: number): Promise<boolean> {
  const row = await db
    .selectFrom("auth_totp")
    .select("user_id")
    .where("user_id", "=", userId)
    .where("confirmed_at", "is not", null)
    .executeTakeFirst();
  return row !== undefined;
}

/** Stores a new unconfirmed secret, replacing an unconfirmed one; run under the user's lock. */
export async function saveUnconfirmedTotp(db: Kysely<Database>, userId: number, secretEncrypted: string, now: number): Promise<void> {
  const updated = await db
    .updateTable("auth_totp")
    .set({ secret_encrypted: secretEncrypted, created_at: now, last_used_step: null })
    .where("user_id", "=", userId)
    .where("confirmed_at", "is", null)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) === 1) return;
  await db
    .insertInto("auth_totp")
    .values({ user_id: userId, secret_encrypted: secretEncrypted, created_at: now, confirmed_at: null, last_used_step: null })
    .execute();
}

/**
 * Confirms the unconfirmed secret `secretEncrypted` (not one a later setup put in its place),
 * recording `step` as used; false when it is no longer the user's unconfirmed secret.
 */
export async function confirmTotp(
  db: Kysely<Database>,
  userId: number,
  secretEncrypted: string,
  step: number,
  now: number,
): Promise<boolean> {
  const result = await db
    .updateTable("auth_totp")
    .set({ confirmed_at: now, last_used_step: step })
    .where("user_id", "=", userId)
    .where("secret_encrypted", "=", secretEncrypted)
    .where("confirmed_at", "is", null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Records a time step's code as used: true for one caller only, and only when no code of this
 * step or a later one was accepted before (a replayed or older code is refused).
 */
export async function acceptStep(db: Kysely<Database>, userId: number, step: number): Promise<boolean> {
  const result = await db
    .updateTable("auth_totp")
    .set({ last_used_step: step })
    .where("user_id", "=", userId)
    .where("confirmed_at", "is not", null)
    .where((eb) => eb.or([eb("last_used_step", "is", null), eb("last_used_step", "<", step)]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Puts the stored secret under another key; false when it changed meanwhile. */
export async function replaceSecret(db: Kysely<Database>, userId: number, from: string, to: string): Promise<boolean> {
  const result = await db
    .updateTable("auth_totp")
    .set({ secret_encrypted: to })
    .where("user_id", "=", userId)
    .where("secret_encrypted", "=", from)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** A page of stored secrets, by user id, for re-encryption. */
export async function listSecrets(
  db: Kysely<Database>,
  afterUserId: number,
  limit: number,
): Promise<Array<{ userId: number; secretEncrypted: string }>> {
  const rows = await db
    .selectFrom("auth_totp")
    .select(["user_id", "secret_encrypted"])
    .where("user_id", ">", afterUserId)
    .orderBy("user_id")
    .limit(limit)
    .execute();
  return rows.map((row) => ({ userId: Number(row.user_id), secretEncrypted: row.secret_encrypted }));
}

/** Deletes the user's TOTP, recovery codes and pending sign-ins; true when TOTP was confirmed. */
export async function deleteTotp(db: Kysely<Database>, userId: number): Promise<boolean> {
  const enabled = await hasConfirmedTotp(db, userId);
  await db.deleteFrom("auth_recovery_codes").where("user_id", "=", userId).execute();
  await db.deleteFrom("auth_pending_sign_ins").where("user_id", "=", userId).execute();
  await db.deleteFrom("auth_totp").where("user_id", "=", userId).execute();
  return enabled;
}

/** Replaces every recovery code of the user by these digests. */
export async function replaceRecoveryCodes(db: Kysely<Database>, userId: number, digests: readonly string[], now: number): Promise<void> {
  await db.deleteFrom("auth_recovery_codes").where("user_id", "=", userId).execute();
  await db
    .insertInto("auth_recovery_codes")
    .values(digests.map((digest) => ({ user_id: userId, code_digest: digest, created_at: now, used_at: null })))
    .execute();
}

/** Uses up an unused recovery code of the user: true for one caller only. */
export async function useRecoveryCode(db: Kysely<Database>, userId: number, digest: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable("auth_recovery_codes")
    .set({ used_at: now })
    .where("user_id", "=", userId)
    .where("code_digest", "=", digest)
    .where("used_at", "is", null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** How many unused recovery codes the user has left. */
export async function countUnusedRecoveryCodes(db: Kysely<Database>, userId: number): Promise<number> {
  const row = await db
    .selectFrom("auth_recovery_codes")
    .select((eb) => eb.fn.countAll<number | string>().as("left"))
    .where("user_id", "=", userId)
    .where("used_at", "is", null)
    .executeTakeFirstOrThrow();
  return Number(row.left);
}

/** A live pending sign-in, digest aside. */
export interface PendingSignInRow {
  userId: number;
  persistent: boolean;
}

export async function insertPendingSignIn(
  db: Kysely<Database>,
  row: { tokenHash: string; userId: number; createdAt: number; expiresAt: number; persistent: boolean },
): Promise<void> {
  await db
    .insertInto("auth_pending_sign_ins")
    .values({
      token_hash: row.tokenHash,
      user_id: row.userId,
      created_at: row.createdAt,
      expires_at: row.expiresAt,
      failures: 0,
      persistent: row.persistent ? 1 : 0,
      attempt_reserved: 1,
    })
    .execute();
}

/** The pending sign-in with this digest while it is live (unexpired, unused, under `maxFailures`). */
export async function findPendingSignIn(
  db: Kysely<Database>,
  tokenHash: string,
  now: number,
  maxFailures: number,
): Promise<PendingSignInRow | null> {
  const row = await db
    .selectFrom("auth_pending_sign_ins")
    .select(["user_id", "persistent"])
    .where("token_hash", "=", tokenHash)
    .where("expires_at", ">", now)
    .where("failures", "<", maxFailures)
    .executeTakeFirst();
  return row === undefined ? null : { userId: Number(row.user_id), persistent: Number(row.persistent) === 1 };
}

/** Uses up a live pending sign-in: true for one caller only, however many race. */
export async function consumePendingSignIn(db: Kysely<Database>, tokenHash: string, now: number, maxFailures: number): Promise<boolean> {
  const result = await db
    .updateTable("auth_pending_sign_ins")
    .set({ expires_at: 0 })
    .where("token_hash", "=", tokenHash)
    .where("expires_at", ">", now)
    .where("failures", "<", maxFailures)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Takes the throttle attempt the password step reserved for the token's first code: true for
 * one caller only, so that codes submitted at once on one token count one attempt each but one.
 */
export async function claimReservedAttempt(db: Kysely<Database>, tokenHash: string): Promise<boolean> {
  const result = await db
    .updateTable("auth_pending_sign_ins")
    .set({ attempt_reserved: 0 })
    .where("token_hash", "=", tokenHash)
    .where("attempt_reserved", "=", 1)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Counts a wrong code against a live pending sign-in; at `maxFailures` it is dead. */
export async function countPendingFailure(db: Kysely<Database>, tokenHash: string, now: number, maxFailures: number): Promise<void> {
  await db
    .updateTable("auth_pending_sign_ins")
    .set((eb) => ({ failures: eb("failures", "+", 1) }))
    .where("token_hash", "=", tokenHash)
    .where("expires_at", ">", now)
    .where("failures", "<", maxFailures)
    .execute();
}

/** Forgets pending sign-ins that can no longer be completed; returns how many. */
export async function deleteDeadPendingSignIns(db: Kysely<Database>, now: number, maxFailures: number): Promise<number> {
  const result = await db
    .deleteFrom("auth_pending_sign_ins")
    .where((eb) => eb.or([eb("expires_at", "<=", now), eb("failures", ">=", maxFailures)]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
