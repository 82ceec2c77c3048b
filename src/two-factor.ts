import type { ManagerContext } from "./context.js";
import { deleteUserSessions } from "./database/sessions.js";
import {
  acceptStep,
  claimReservedAttempt,
  confirmTotp,
  consumePendingSignIn,
  countPendingFailure,
  deleteTotp,
  findPendingSignIn,
  findTotp,
  hasConfirmedTotp,
  insertPendingSignIn,
  listSecrets,
  replaceRecoveryCodes,
  replaceSecret,
  saveUnconfirmedTotp,
  useRecoveryCode,
} from "./database/totp.js";
import { userTransaction } from "./database/user-transaction.js";
import { findUserById, lockUser } from "./database/users.js";
import { InvalidOptionsError, TotpAlreadyEnabledError, TotpNotEnabledError, UserNotFoundError } from "./errors.js";
import { isId } from "./ids.js";
import { checkPassword, clearUsernameThrottle, reserveUsernameAttempt } from "./login.js";
import type { ResolvedTotpOptions } from "./options.js";
import { generateRecoveryCodes, normalizeRecoveryCode, recoveryCodeDigest } from "./recovery-codes.js";
import { startSession, type StartedSession } from "./session-lifecycle.js";
import { cleanSessionMeta, eventMeta } from "./session-meta.js";
import { generateToken, hashToken, isWellFormedToken } from "./tokens.js";
import { encodeSecret, generateSecret, looksLikeTotpCode, matchingStep, otpauthUri } from "./totp-codes.js";
import { decryptSecret, encryptSecret, isUnderFirstKey } from "./totp-secrets.js";
import type { LoginOptions, SessionMeta, User } from "./types.js";

/**
 * Two-factor authentication with TOTP: setting it up, signing in with it (a password step that
 * leaves a pending sign-in, then a code), recovery codes, and turning it off. Every "once" rule
 * is a conditional UPDATE in the database (see database/totp.ts); the flows that change a user's
 * second factor run in one transaction that first takes the user's row lock, as recovery.ts does.
 */

/** A pending sign-in lives this long. */
export const PENDING_SIGN_IN_MS = 5 * 60 * 1000;
/** A pending sign-in dies at this many wrong codes. */
export const MAX_CODE_FAILURES = 5;

/** A TOTP setup begun: the secret to show (base32) and the `otpauth://` URI for a QR code. */
export interface TotpSetup {
  secret: string;
  uri: string;
}

/** A sign-in whose password was right, waiting for the second factor: no session exists yet. */
export interface PendingSignIn {
  /** Passed to `completeSignIn` with the code; works once, for 5 minutes, until 5 wrong codes. */
  pendingToken: string;
  user: User;
  expiresAt: Date;
}

/** A completed sign-in: the new session's token and its user. */
export interface SignedIn {
  token: string;
  user: User;
}

/** A completed sign-in with the session itself, for the HTTP layer's cookie. */
export type StartedSignIn = StartedSession & { user: User };

/** Options of `disableTotp` and `regenerateRecoveryCodes`. */
export interface TwoFactorChangeOptions {
  /** A session token of this user to keep signed in (the one making the change); every other session is revoked. */
  keepToken?: string;
}

/** Passed back out of a transaction to roll it back: another request used the pending sign-in first. */
class Superseded extends Error {}

export async function beginTotpSetup(ctx: ManagerContext, userId: number): Promise<TotpSetup> {
  const totp = requireTotp(ctx, "beginTotpSetup");
  if (!isId(userId)) throw new UserNotFoundError();
  await ctx.ready();
  const secret = generateSecret();
  const encrypted = encryptSecret(totp.keys, userId, secret);
  const user = await userTransaction(ctx.db, ctx.kind, async (trx) => {
    const record = await lockUser(trx, userId);
    if (record === null) throw new UserNotFoundError();
    if (await hasConfirmedTotp(trx, userId)) throw new TotpAlreadyEnabledError();
    await saveUnconfirmedTotp(trx, userId, encrypted, ctx.now());
    return record.user;
  });
  return { secret: encodeSecret(secret), uri: otpauthUri(totp.issuer, user.username, secret) };
}

/**
 * Turns TOTP on when `code` is the current code of the secret `beginTotpSetup` gave, and returns
 * the recovery codes; null for a wrong code, no setup begun, or TOTP already on.
 */
export async function confirmTotpSetup(ctx: ManagerContext, userId: number, code: unknown): Promise<string[] | null> {
  const totp = requireTotp(ctx, "confirmTotpSetup");
  if (!isId(userId) || typeof code !== "string") return null;
  await ctx.ready();
  const row = await findTotp(ctx.db, userId);
  if (row === null || row.confirmed) return null;
  const now = ctx.now();
  const step = matchingStep(decryptSecret(totp.keys, userId, row.secretEncrypted), code, now);
  if (step === null) return null;
  const codes = generateRecoveryCodes();
  const confirmed = await userTransaction(ctx.db, ctx.kind, async (trx) => {
    if ((await lockUser(trx, userId)) === null) return false;
    // The secret the code was checked against, not one a concurrent setup put in its place.
    if (!(await confirmTotp(trx, userId, row.secretEncrypted, step, now))) return false;
    await replaceRecoveryCodes(trx, userId, digestsOf(userId, codes), now);
    return true;
  });
  if (!confirmed) return null;
  ctx.emit("totp_enabled", { userId });
  return codes;
}

/**
 * Turns TOTP off: deletes the secret, the recovery codes and the pending sign-ins, and revokes
 * every session of the user but `keepToken`'s. True when TOTP was on. Needs no key.
 */
export async function disableTotp(ctx: ManagerContext, userId: number, options: TwoFactorChangeOptions): Promise<boolean> {
  if (!isId(userId)) return false;
  await ctx.ready();
  const keepId = await keptSessionId(ctx, userId, options.keepToken);
  const now = ctx.now();
  const disabled = await userTransaction(ctx.db, ctx.kind, async (trx) => {
    if ((await lockUser(trx, userId)) === null) return false;
    const enabled = await deleteTotp(trx, userId);
    if (enabled) await deleteUserSessions(trx, userId, now, keepId);
    return enabled;
  });
  if (disabled) ctx.emit("totp_disabled", { userId });
  return disabled;
}

/**
 * New recovery codes in place of all the old ones, used or not; revokes every session of the
 * user but `keepToken`'s. Throws `UserNotFoundError`, or `TotpNotEnabledError`. Needs no key.
 */
export async function regenerateRecoveryCodes(ctx: ManagerContext, userId: number, options: TwoFactorChangeOptions): Promise<string[]> {
  if (!isId(userId)) throw new UserNotFoundError();
  await ctx.ready();
  const keepId = await keptSessionId(ctx, userId, options.keepToken);
  const codes = generateRecoveryCodes();
  const now = ctx.now();
  await userTransaction(ctx.db, ctx.kind, async (trx) => {
    if ((await lockUser(trx, userId)) === null) throw new UserNotFoundError();
    if (!(await hasConfirmedTotp(trx, userId))) throw new TotpNotEnabledError();
    await replaceRecoveryCodes(trx, userId, digestsOf(userId, codes), now);
    await deleteUserSessions(trx, userId, now, keepId);
  });
  ctx.emit("recovery_codes_regenerated", { userId });
  return codes;
}

/** True when the user has TOTP on (confirmed). */
export async function hasTotp(ctx: ManagerContext, userId: number): Promise<boolean> {
  if (!isId(userId)) return false;
  await ctx.ready();
  return hasConfirmedTotp(ctx.db, userId);
}

/**
 * The password step: a session for a user without TOTP (the username's throttle cleared), a
 * pending sign-in for one with it (the throttle left as it is until the code comes), null for a
 * wrong username or password.
 */
export async function signIn(
  ctx: ManagerContext,
  username: string,
  password: string,
  meta: LoginOptions,
): Promise<StartedSignIn | PendingSignIn | null> {
  const checked = await checkPassword(ctx, username, password, meta);
  if (checked === null) return null;
  const { user } = checked;
  if (!checked.twoFactor) {
    await clearUsernameThrottle(ctx, checked.usernameKey);
    return { user, ...(await startSession(ctx, user.id, meta, user)) };
  }
  const pendingToken = generateToken();
  const createdAt = ctx.now();
  const expiresAt = createdAt + PENDING_SIGN_IN_MS;
  await insertPendingSignIn(ctx.db, {
    tokenHash: hashToken(pendingToken),
    userId: user.id,
    createdAt,
    expiresAt,
    persistent: meta.remember !== false,
  });
  return { pendingToken, user, expiresAt: new Date(expiresAt) };
}

/**
 * The second step: a session when `code` is a TOTP code not used before (within one step of
 * drift) or an unused recovery code, given with a live pending token; null otherwise. The first
 * code given with a token is covered by the attempt its password step counted against the
 * username; each further one counts as an attempt too (`LoginThrottledError` once the username
 * is locked out), and every wrong code counts against the token. A success clears the throttle. The session is
 * persistent as `remember` was at the password step. Throws `InvalidOptionsError` for a TOTP code
 * without the `totp` option, `TotpKeyError` when the secret cannot be decrypted.
 */
export async function completeSignIn(
  ctx: ManagerContext,
  pendingToken: unknown,
  code: unknown,
  meta: SessionMeta,
): Promise<StartedSignIn | null> {
  if (!isWellFormedToken(pendingToken) || typeof code !== "string" || code.length > 64) return null;
  await ctx.ready();
  const tokenHash = hashToken(pendingToken);
  const pending = await findPendingSignIn(ctx.db, tokenHash, ctx.now(), MAX_CODE_FAILURES);
  if (pending === null) return null;
  const { userId } = pending;
  const record = await findUserById(ctx.db, userId);
  const row = await findTotp(ctx.db, userId);
  if (record === null || row === null || !row.confirmed) return null;
  const useCode = codeUser(ctx, userId, row.secretEncrypted, code);
  // The password step reserved one attempt against the username, never given back until the
  // sign-in is complete: it covers the first code. Each further code is an attempt of its own.
  if (ctx.throttle !== null && !(await claimReservedAttempt(ctx.db, tokenHash))) {
    await reserveUsernameAttempt(ctx, { display: record.user.username, key: record.usernameKey }, meta);
  }
  const now = ctx.now();
  const outcome = useCode === null ? "wrong" : await useCodeOnce(ctx, userId, tokenHash, now, useCode);
  if (outcome === "superseded") return null;
  if (outcome === "wrong") {
    await countPendingFailure(ctx.db, tokenHash, now, MAX_CODE_FAILURES);
    ctx.emit("two_factor_failed", { userId, username: record.user.username, ...eventMeta(cleanSessionMeta(meta)) });
    return null;
  }
  await clearUsernameThrottle(ctx, record.usernameKey);
  if (outcome === "recovery_code") ctx.emit("recovery_code_used", { userId });
  else await moveToFirstKey(ctx, userId, row.secretEncrypted);
  return { user: record.user, ...(await startSession(ctx, userId, { ...meta, remember: pending.persistent }, record.user)) };
}

/**
 * Puts every stored secret not yet under the first key of `totp.secretKey` under it; returns how
 * many it re-encrypted. After it, the keys after the first can be dropped.
 */
export async function reencryptTotpSecrets(ctx: ManagerContext): Promise<number> {
  const totp = requireTotp(ctx, "reencryptTotpSecrets");
  await ctx.ready();
  let moved = 0;
  for (let after = 0; ;) {
    const page = await listSecrets(ctx.db, after, 500);
    for (const { userId, secretEncrypted } of page) {
      if (isUnderFirstKey(totp.keys, secretEncrypted)) continue;
      const secret = decryptSecret(totp.keys, userId, secretEncrypted);
      if (await replaceSecret(ctx.db, userId, secretEncrypted, encryptSecret(totp.keys, userId, secret))) moved++;
    }
    if (page.length < 500) return moved;
    after = page[page.length - 1]!.userId;
  }
}

/** How a code is used up: as the code of a TOTP time step, or as a recovery code. */
type CodeUse = { step: number } | { digest: string };

/**
 * What using `code` would take, or null for a code that is wrong already (no TOTP step matches,
 * not shaped like a recovery code). A TOTP code needs the key; a recovery code does not.
 */
function codeUser(ctx: ManagerContext, userId: number, secretEncrypted: string, code: string): CodeUse | null {
  if (looksLikeTotpCode(code)) {
    const totp = requireTotp(ctx, "completeSignIn with a TOTP code");
    const step = matchingStep(decryptSecret(totp.keys, userId, secretEncrypted), code, ctx.now());
    return step === null ? null : { step };
  }
  const normalized = normalizeRecoveryCode(code);
  return normalized === null ? null : { digest: recoveryCodeDigest(userId, normalized) };
}

/**
 * Uses the code and the pending sign-in up together, in one transaction under the user's lock:
 * a step already accepted or a recovery code already used is "wrong"; a pending sign-in another
 * request completed or killed meanwhile is "superseded", and the code stays unused.
 */
async function useCodeOnce(
  ctx: ManagerContext,
  userId: number,
  tokenHash: string,
  now: number,
  use: CodeUse,
): Promise<"totp" | "recovery_code" | "wrong" | "superseded"> {
  try {
    return await userTransaction(ctx.db, ctx.kind, async (trx) => {
      if ((await lockUser(trx, userId)) === null) throw new Superseded();
      const used = "step" in use ? await acceptStep(trx, userId, use.step) : await useRecoveryCode(trx, userId, use.digest, now);
      if (!used) return "wrong";
      if (!(await consumePendingSignIn(trx, tokenHash, now, MAX_CODE_FAILURES))) throw new Superseded();
      return "step" in use ? "totp" : "recovery_code";
    });
  } catch (error) {
    if (error instanceof Superseded) return "superseded";
    throw error;
  }
}

/** Re-encrypts a secret just used under an older key, so that rotation needs no separate step. */
async function moveToFirstKey(ctx: ManagerContext, userId: number, secretEncrypted: string): Promise<void> {
  const totp = ctx.options.totp;
  if (totp === null || isUnderFirstKey(totp.keys, secretEncrypted)) return;
  const secret = decryptSecret(totp.keys, userId, secretEncrypted);
  await replaceSecret(ctx.db, userId, secretEncrypted, encryptSecret(totp.keys, userId, secret));
}

function requireTotp(ctx: ManagerContext, method: string): ResolvedTotpOptions {
  if (ctx.options.totp === null) {
    throw new InvalidOptionsError(`${method} needs the totp option: new SessionManager({ totp: { issuer, secretKey } })`);
  }
  return ctx.options.totp;
}

function digestsOf(userId: number, codes: readonly string[]): string[] {
  return codes.map((code) => recoveryCodeDigest(userId, normalizeRecoveryCode(code)!));
}

/** The id of `token`'s session when it is a live session of this user. */
async function keptSessionId(ctx: ManagerContext, userId: number, token: unknown): Promise<string | undefined> {
  if (!isWellFormedToken(token)) return undefined;
  const kept = await ctx.findSession(hashToken(token));
  return kept !== undefined && Number(kept.user_id) === userId ? kept.id : undefined;
}
