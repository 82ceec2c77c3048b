import { addressKey } from "./client-address.js";
import type { ManagerContext } from "./context.js";
import { reserveLogin, settleLogin, type AddressTicket } from "./database/address-throttle.js";
import { clearThrottle, reserveAttempt } from "./database/throttle.js";
import { hasConfirmedTotp } from "./database/totp.js";
import { findUserByName, updatePasswordHash, type UserRecord } from "./database/users.js";
import { LoginThrottledError, ServiceBusyError } from "./errors.js";
import { retryAfterSeconds } from "./lockout.js";
import { normalizePassword } from "./passwords.js";
import { rotateChecked, validateToken, type StartedSession } from "./session-lifecycle.js";
import { cleanSessionMeta, eventMeta } from "./session-meta.js";
import type { SessionMeta, User } from "./types.js";
import { normalizeUsername, type NormalizedUsername } from "./usernames.js";

/** What names a username in events and throttles. */
type UsernameKeys = Pick<NormalizedUsername, "display" | "key">;

/** A password found right: the user, the key its username is throttled by, and whether it has TOTP. */
export interface PasswordCheck {
  user: User;
  usernameKey: string;
  /** True when signing in also takes a code (TOTP is confirmed): the throttle stays until it comes. */
  twoFactor: boolean;
}

/**
 * The user when the password is right, else null. A success clears the username's throttle,
 * but for a user with TOTP, whose sign-in is not over before the second factor: see `checkPassword`.
 */
export async function authenticate(
  ctx: ManagerContext,
  usernameInput: string,
  passwordInput: string,
  meta: SessionMeta,
): Promise<User | null> {
  const checked = await checkPassword(ctx, usernameInput, passwordInput, meta);
  if (checked === null) return null;
  if (!checked.twoFactor) await clearUsernameThrottle(ctx, checked.usernameKey);
  return checked.user;
}

/**
 * The password step of sign-in: the user when the password is right, else null. In order: input
 * no account can match is refused before any work; a place in the hashing lane is taken
 * (`ServiceBusyError` when full); the attempt is reserved against the client address's limits
 * and the username's throttle (`LoginThrottledError` while either is locked out); the password
 * is checked against the user's hash, or a dummy one for an unknown user, padded to one cost; a
 * failure then counts against the address, and a hash made with other parameters is upgraded.
 * The attempt stays counted against the username: the caller clears it once the sign-in is
 * complete (`clearUsernameThrottle`), which for a user with TOTP is after the second factor.
 */
export async function checkPassword(
  ctx: ManagerContext,
  usernameInput: string,
  passwordInput: string,
  meta: SessionMeta,
): Promise<PasswordCheck | null> {
  const name = normalizeUsername(usernameInput);
  const password = normalizePassword(passwordInput);
  // Input that no account can match is refused before any hashing: nothing about users leaks.
  if (name === null || password === null) return null;
  await ctx.ready();
  // The hashing place is taken first, so that a full lane refuses before an attempt is counted.
  const ticket = ctx.passwords.admit();
  let record: UserRecord | null;
  let counted: AddressTicket | null;
  try {
    counted = await reserve(ctx, name, meta);
  } catch (error) {
    ticket.release();
    throw error;
  }
  let ok: boolean;
  try {
    record = await findUserByName(ctx.db, name);
    ok = (await ctx.passwords.check(ticket, record?.passwordHash ?? null, password)) && record !== null;
  } catch (error) {
    ticket.release();
    // An attempt that could not be checked counts as failed: an error must not be a way around the limits.
    if (counted !== null) await settleLogin(ctx.db, ctx.kind, counted, true).catch(() => undefined);
    throw error;
  }
  if (counted !== null) await settleLogin(ctx.db, ctx.kind, counted, !ok);
  if (!ok || record === null) {
    ctx.emit("login_failed", { username: name.display, ...eventMeta(cleanSessionMeta(meta)) });
    return null;
  }
  if (ctx.passwords.needsRehash(record.passwordHash)) await rehash(ctx, record.user.id, password);
  return { user: record.user, usernameKey: name.key, twoFactor: await hasConfirmedTotp(ctx.db, record.user.id) };
}

/** Forgets the username's failures: a sign-in is complete. */
export async function clearUsernameThrottle(ctx: ManagerContext, usernameKey: string): Promise<void> {
  if (ctx.throttle !== null) await clearThrottle(ctx.db, usernameKey);
}

/**
 * Counts the attempt against the client address (when the meta names one) and the username
 * before its password is checked, atomically in the database; throws `LoginThrottledError` while
 * either is locked out. Answers what to give back to the address if the password is right.
 */
async function reserve(ctx: ManagerContext, name: NormalizedUsername, meta: SessionMeta): Promise<AddressTicket | null> {
  if (ctx.throttle === null) return null;
  const now = ctx.now();
  const limits = ctx.addressLimits;
  const address = limits === null || (limits.maxFailures === null && limits.maxUsernames === null) ? null : addressKey(meta.ip);
  if (address === null) {
    const reservation = await reserveAttempt(ctx.db, ctx.kind, name.key, now, ctx.throttle);
    if (reservation.reserved) return null;
    throw throttled(ctx, name, meta, "username", reservation.lockedUntil, now);
  }
  const reservation = await reserveLogin(ctx.db, ctx.kind, address, name.key, now, limits!, ctx.throttle);
  if (reservation.reserved) return reservation.ticket;
  throw throttled(ctx, name, meta, reservation.reason, reservation.lockedUntil, now);
}

/**
 * Counts an attempt at a second factor against the username, as a password attempt is counted
 * (a completed sign-in clears it); throws `LoginThrottledError` while the username is locked out.
 */
export async function reserveUsernameAttempt(ctx: ManagerContext, name: UsernameKeys, meta: SessionMeta): Promise<void> {
  if (ctx.throttle === null) return;
  const now = ctx.now();
  const reservation = await reserveAttempt(ctx.db, ctx.kind, name.key, now, ctx.throttle);
  if (!reservation.reserved) throw throttled(ctx, name, meta, "username", reservation.lockedUntil, now);
}

/** Reports a refused attempt (`login_throttled`, with what refused it) and makes its error. */
function throttled(
  ctx: ManagerContext,
  name: UsernameKeys,
  meta: SessionMeta,
  reason: "username" | "address",
  lockedUntil: number,
  now: number,
): LoginThrottledError {
  ctx.emit("login_throttled", { username: name.display, ...eventMeta(cleanSessionMeta(meta)), reason });
  return new LoginThrottledError(retryAfterSeconds(lockedUntil, now));
}

/** Replaces a hash of other parameters; skipped, for the next login, when the lane is full. */
async function rehash(ctx: ManagerContext, userId: number, password: string): Promise<void> {
  let passwordHash: string;
  try {
    passwordHash = await ctx.passwords.hash(password);
  } catch (error) {
    if (error instanceof ServiceBusyError) return;
    throw error;
  }
  await updatePasswordHash(ctx.db, userId, passwordHash);
}

/**
 * Checks the password of the user of a live session again ("confirm your password"), throttled
 * like a login (password only, also for a user with TOTP), and on success records the check on the session and rotates its token: the old
 * token stops working at once. Null for a dead session or a wrong password.
 */
export async function reauthenticate(
  ctx: ManagerContext,
  token: string,
  password: string,
  meta: SessionMeta,
): Promise<StartedSession | null> {
  const current = await validateToken(ctx, token);
  if (current === null) return null;
  const checked = await checkPassword(ctx, current.user.username, password, meta);
  // The name finds the session's own user; a rename meanwhile must not let another account's password count.
  if (checked === null || checked.user.id !== current.user.id) return null;
  // The session's sign-in had its second factor already: the password completes this check.
  await clearUsernameThrottle(ctx, checked.usernameKey);
  return rotateChecked(ctx, token, current, true);
}
