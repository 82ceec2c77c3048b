import type { Kysely } from "kysely";
import type { ManagerContext } from "./context.js";
import {
  consumeOneTimeToken,
  countOneTimeTokensSince,
  findOneTimeToken,
  insertOneTimeToken,
  voidOneTimeTokens,
  type OneTimeTokenRow,
  type TokenPurpose,
} from "./database/one-time-tokens.js";
import type { Database } from "./database/schema.js";
import { deleteUserSessions } from "./database/sessions.js";
import { clearThrottle } from "./database/throttle.js";
import { userTransaction } from "./database/user-transaction.js";
import {
  findUserByEmailKey,
  findUserById,
  findUserByName,
  lockUser,
  markEmailVerified,
  uniqueViolationOf,
  updateEmail,
  updatePasswordHash,
  type UserRecord,
} from "./database/users.js";
import { normalizeEmail, requireEmail } from "./emails.js";
import { EmailTakenError, UserNotFoundError } from "./errors.js";
import { isId } from "./ids.js";
import { requirePassword } from "./passwords.js";
import { generateToken, hashToken, isWellFormedToken } from "./tokens.js";
import type { User } from "./types.js";
import { normalizeUsername } from "./usernames.js";

/**
 * Account recovery: email verification, password reset and email change, with one-time tokens
 * that have the session token's format and strength and are stored only as SHA-256 digests. Each
 * token is bound to one purpose, one user and one address, and is used up by one atomic UPDATE,
 * so two concurrent uses in any processes give one success. Every flow that changes an account
 * runs in one transaction that first takes the user's row lock (`lockUser`), so concurrent flows
 * on one user take turns and a user deleted meanwhile is seen as gone.
 */

/** A one-time token just issued: the only copy there will be, the address it is for, and its expiry. */
export interface EmailToken {
  token: string;
  /** The address the link must be sent to. */
  email: string;
  expiresAt: Date;
}

/** A password reset token, with the user it resets. */
export interface PasswordResetToken extends EmailToken {
  user: User;
}

/** What a confirmed email change replaced, for the notice to the old address. */
export interface EmailChange {
  user: User;
  previousEmail: string | null;
}

/** At most this many reset tokens per user within `RESET_WINDOW_MS`. */
export const MAX_RESETS_PER_WINDOW = 5;
export const RESET_WINDOW_MS = 60 * 60 * 1000;

export async function createEmailVerificationToken(ctx: ManagerContext, userId: number): Promise<EmailToken | null> {
  if (!isId(userId)) throw new UserNotFoundError();
  await ctx.ready();
  const record = await findUserById(ctx.db, userId);
  if (record === null) throw new UserNotFoundError();
  const { email, emailVerified } = record.user;
  if (email === null || emailVerified) return null;
  return issue(ctx.db, ctx, "email_verification", userId, email, ctx.options.tokens.emailVerificationMs);
}

export async function verifyEmail(ctx: ManagerContext, token: unknown): Promise<User | null> {
  const user = await useToken(ctx, token, "email_verification", async (trx, record, found) => {
    if (!(await markEmailVerified(trx, record.user.id, record.emailKey ?? ""))) return null;
    return { ...record.user, email: found.email, emailVerified: true };
  });
  if (user !== null) ctx.emit("email_verified", { userId: user.id });
  return user;
}

/**
 * A reset token for the user an identifier names: an email address (compared by its key), else a
 * username. The link goes to the address stored on the account, never to the identifier as typed.
 */
export async function createPasswordResetToken(ctx: ManagerContext, identifier: unknown): Promise<PasswordResetToken | null> {
  await ctx.ready();
  const found = await findByIdentifier(ctx.db, identifier);
  if (found === null || found.user.email === null) return null;
  const now = ctx.now();
  const issued = await userTransaction(ctx.db, ctx.kind, async (trx) => {
    const record = await lockUser(trx, found.user.id);
    if (record === null || record.user.email === null) return null;
    // Counted under the user's row lock, so a burst of requests cannot all see room for one more.
    if ((await countOneTimeTokensSince(trx, record.user.id, "password_reset", now - RESET_WINDOW_MS)) >= MAX_RESETS_PER_WINDOW) return null;
    await voidOneTimeTokens(trx, record.user.id, "password_reset", now);
    const token = await issue(trx, ctx, "password_reset", record.user.id, record.user.email, ctx.options.tokens.passwordResetMs);
    return { ...token, user: record.user };
  });
  if (issued !== null) ctx.emit("password_reset_requested", { userId: issued.user.id });
  return issued;
}

/**
 * Sets a new password with a reset token. Everything else happens in the same transaction: the
 * token is used up, the user's other reset tokens are voided, every session is revoked, the login
 * throttle is cleared and the address is marked verified (the link reached it). The password is
 * checked and hashed before, so a password the rules refuse (`InvalidPasswordError`) or a full
 * hashing lane (`ServiceBusyError`) leaves the token usable.
 */
export async function resetPassword(ctx: ManagerContext, token: unknown, newPassword: unknown): Promise<User | null> {
  if (!isWellFormedToken(token)) return null;
  await ctx.ready();
  if ((await findOneTimeToken(ctx.db, hashToken(token), "password_reset", ctx.now())) === undefined) return null;
  const passwordHash = await ctx.passwords.hash(requirePassword(newPassword));
  const user = await useToken(ctx, token, "password_reset", async (trx, record, found, now) => {
    const userId = record.user.id;
    await updatePasswordHash(trx, userId, passwordHash);
    await markEmailVerified(trx, userId, record.emailKey ?? "");
    await voidOneTimeTokens(trx, userId, "password_reset", now);
    await deleteUserSessions(trx, userId, now);
    if (ctx.throttle !== null) await clearThrottle(trx, record.usernameKey);
    return { ...record.user, email: found.email, emailVerified: true };
  });
  if (user !== null) ctx.emit("password_reset", { userId: user.id });
  return user;
}

/** Issues a token for a new address; the account keeps its address until the token comes back. */
export async function requestEmailChange(ctx: ManagerContext, userId: number, newEmail: unknown): Promise<EmailToken> {
  const email = requireEmail(newEmail);
  if (!isId(userId)) throw new UserNotFoundError();
  await ctx.ready();
  if ((await findUserById(ctx.db, userId)) === null) throw new UserNotFoundError();
  const holder = await findUserByEmailKey(ctx.db, email.key);
  if (holder !== null && holder.user.id !== userId) throw new EmailTakenError();
  const token = await issue(ctx.db, ctx, "email_change", userId, email.display, ctx.options.tokens.emailChangeMs);
  ctx.emit("email_change_requested", { userId });
  return token;
}

/**
 * Gives the user the address the token was issued for, verified. Null when the token is not a
 * live email-change token, the user is gone, or another account took the address meanwhile (the
 * token then stays as it was: a pending change reserves nothing).
 */
export async function confirmEmailChange(ctx: ManagerContext, token: unknown): Promise<EmailChange | null> {
  let change: EmailChange | null;
  try {
    change = await useToken(ctx, token, "email_change", async (trx, record, found, now) => {
      const email = normalizeEmail(found.email);
      if (email === null) return null;
      await updateEmail(trx, record.user.id, email, true);
      // Links sent to the old address must not verify or reset anything any more.
      await voidOneTimeTokens(trx, record.user.id, "email_verification", now);
      await voidOneTimeTokens(trx, record.user.id, "password_reset", now);
      return { user: { ...record.user, email: email.display, emailVerified: true }, previousEmail: record.user.email };
    });
  } catch (error) {
    // The address was taken between request and confirmation: the transaction is rolled back.
    if (uniqueViolationOf(error) === "email") return null;
    throw error;
  }
  if (change !== null) ctx.emit("email_changed", { userId: change.user.id });
  return change;
}

/**
 * Runs `apply` for a live token of `purpose`, in one transaction that takes the user's row lock,
 * uses the token up and applies the change; null, with nothing changed, when the token is not live
 * (unknown, used, expired, another purpose's), its user is gone, or, but for email change tokens
 * (bound to the new address), the user no longer has the address it was sent to.
 */
async function useToken<T>(
  ctx: ManagerContext,
  token: unknown,
  purpose: TokenPurpose,
  apply: (trx: Kysely<Database>, record: UserRecord, found: OneTimeTokenRow, now: number) => Promise<T | null>,
): Promise<T | null> {
  if (!isWellFormedToken(token)) return null;
  await ctx.ready();
  const tokenHash = hashToken(token);
  const now = ctx.now();
  const found = await findOneTimeToken(ctx.db, tokenHash, purpose, now);
  if (found === undefined) return null;
  return userTransaction(ctx.db, ctx.kind, async (trx) => {
    const record = await lockUser(trx, found.userId);
    if (record === null) return null;
    if (purpose !== "email_change" && record.user.email !== found.email) return null;
    if (!(await consumeOneTimeToken(trx, tokenHash, purpose, found.userId, now))) return null;
    return apply(trx, record, found, now);
  });
}

async function issue(
  db: Kysely<Database>,
  ctx: ManagerContext,
  purpose: TokenPurpose,
  userId: number,
  email: string,
  lifetimeMs: number,
): Promise<EmailToken> {
  const token = generateToken();
  const createdAt = ctx.now();
  const expiresAt = createdAt + lifetimeMs;
  await insertOneTimeToken(db, { tokenHash: hashToken(token), purpose, userId, email, createdAt, expiresAt });
  return { token, email, expiresAt: new Date(expiresAt) };
}

async function findByIdentifier(db: Kysely<Database>, identifier: unknown): Promise<UserRecord | null> {
  const email = normalizeEmail(identifier);
  if (email !== null) {
    const byEmail = await findUserByEmailKey(db, email.key);
    if (byEmail !== null) return byEmail;
  }
  // A username may hold an `@` too.
  const name = normalizeUsername(identifier);
  return name === null ? null : findUserByName(db, name);
}
