import { createHash } from "node:crypto";
import type { Kysely, Transaction } from "kysely";
import type { DialectKind } from "./dialect.js";
import type { AddressThrottleTable, Database } from "./schema.js";
import { reserveAttemptIn, type LockoutSchedule } from "./throttle.js";
import { userTransaction } from "./user-transaction.js";

const MINUTE_MS = 60_000;
/** Failed logins are counted in windows of this length; past the limit the address is locked this long. */
export const FAILURE_WINDOW_MS = 15 * MINUTE_MS;
export const FAILURE_LOCKOUT_MS = 15 * MINUTE_MS;
/** Distinct usernames are counted in windows of this length; past the limit the address is locked this long. */
export const USERNAME_WINDOW_MS = 60 * MINUTE_MS;
export const USERNAME_LOCKOUT_MS = 60 * MINUTE_MS;
/** Sign-ups and reset requests are counted in windows of this length. */
export const REQUEST_WINDOW_MS = 60 * MINUTE_MS;
/** No window or lockout lasts longer: a row untouched for this long carries nothing. */
export const ADDRESS_MEMORY_MS = 60 * MINUTE_MS;

/** The per-address limits; null where a rule is off. */
export interface AddressLimits {
  readonly maxFailures: number | null;
  readonly maxUsernames: number | null;
  readonly maxRegistrations: number | null;
  readonly maxResetRequests: number | null;
}

/** A login attempt counted as running on its address, to settle once its password is checked. */
export interface AddressTicket {
  readonly addressKey: string;
  readonly digest: string | null;
  readonly failuresSince: number;
  readonly usernamesSince: number;
}

/**
 * What reserving a login attempt on a username from an address gave. A refusal `busy` locked
 * nothing: other attempts from the address, still being checked, fill its limit.
 */
export type LoginReservation =
  { reserved: true; ticket: AddressTicket } | { reserved: false; reason: "address" | "username"; lockedUntil: number; busy: boolean };

/** The counters of `registerHandler` and `passwordResetRequestHandler`. */
export type AddressRequest = "registrations" | "reset_requests";

/** How long an attempt refused because others from its address are still running is told to wait. */
export const BUSY_RETRY_MS = 1000;

/**
 * Reserves a login attempt against both the address and the username before the password is
 * checked, in one transaction that first takes the address row's lock, so that attempts from one
 * address, in any number of processes, are decided one after the other on what the previous ones
 * left. In order:
 *
 * - a locked-out address is refused, and nothing is counted;
 * - an attempt past a limit counting only finished failures (`maxFailures` failed logins in the
 *   15-minute window, or a username beyond `maxUsernames` failed on in the hour) is refused,
 *   counts nowhere, and locks the address out (15 minutes, or an hour for usernames);
 * - an attempt past a limit counting running attempts as failures is refused `busy` for a
 *   second and locks nothing: a running attempt may still succeed, and people signing in at
 *   once behind one address must not lock it out;
 * - the username's own throttle then reserves the attempt (`reserveAttempt`), or refuses it,
 *   and a refused attempt counts against the address neither;
 * - else the attempt runs, counted in the address's limits until `settleLogin` records it as a
 *   failure or forgets it as a success.
 *
 * So however many attempts one address sends at once, at most `maxFailures` reach the password
 * check in a window, on at most `maxUsernames` distinct usernames in an hour.
 */
export async function reserveLogin(
  db: Kysely<Database>,
  kind: DialectKind,
  addressKey: string,
  usernameKey: string,
  now: number,
  limits: AddressLimits,
  schedule: LockoutSchedule,
): Promise<LoginReservation> {
  const digest = limits.maxUsernames === null ? null : usernameDigest(usernameKey);
  return userTransaction(db, kind, async (trx) => {
    const row = await lockAddress(trx, kind, addressKey, now);
    const lockedUntil = Number(row.locked_until);
    if (lockedUntil > now) return { reserved: false, reason: "address", lockedUntil, busy: false };
    const state = openWindows(row, now);
    const newName = digest !== null && !state.usernames.has(digest);
    let lockMs = 0;
    if (limits.maxFailures !== null && state.failures >= limits.maxFailures) lockMs = FAILURE_LOCKOUT_MS;
    if (newName && failedNames(state.usernames) >= limits.maxUsernames!) lockMs = USERNAME_LOCKOUT_MS;
    if (lockMs > 0) {
      await updateAddress(trx, addressKey, { locked_until: now + lockMs, updated_at: now });
      return { reserved: false, reason: "address", lockedUntil: now + lockMs, busy: false };
    }
    const busy =
      (limits.maxFailures !== null && state.failures + state.pending >= limits.maxFailures) ||
      (newName && state.usernames.size >= limits.maxUsernames!);
    if (busy) return { reserved: false, reason: "address", lockedUntil: now + BUSY_RETRY_MS, busy: true };
    const username = await reserveAttemptIn(trx, kind, usernameKey, now, schedule);
    if (!username.reserved) return { reserved: false, reason: "username", lockedUntil: username.lockedUntil, busy: false };
    if (digest !== null) moveCount(state.usernames, digest, 0, 1);
    await updateAddress(trx, addressKey, {
      failures: state.failures,
      pending: state.pending + 1,
      failures_since: state.failuresSince,
      usernames: formatUsernames(state.usernames),
      usernames_since: state.usernamesSince,
      updated_at: now,
    });
    return { reserved: true, ticket: { addressKey, digest, failuresSince: state.failuresSince, usernamesSince: state.usernamesSince } };
  });
}

/**
 * Settles a running login attempt once its password was checked: a failure now counts in the
 * address's limits, a success is forgotten. Counters of a window that has closed since are left
 * alone.
 */
export async function settleLogin(db: Kysely<Database>, kind: DialectKind, ticket: AddressTicket, failed: boolean): Promise<void> {
  await userTransaction(db, kind, async (trx) => {
    const row = await lockExistingAddress(trx, ticket.addressKey);
    if (row === undefined) return;
    const changes: Partial<AddressThrottleTable> = {};
    if (Number(row.failures_since) === ticket.failuresSince) {
      changes.pending = Math.max(0, Number(row.pending) - 1);
      if (failed) changes.failures = Number(row.failures) + 1;
    }
    if (ticket.digest !== null && Number(row.usernames_since) === ticket.usernamesSince) {
      const usernames = parseUsernames(row.usernames);
      moveCount(usernames, ticket.digest, failed ? 1 : 0, -1);
      changes.usernames = formatUsernames(usernames);
    }
    if (Object.keys(changes).length > 0) await updateAddress(trx, ticket.addressKey, changes);
  });
}

/**
 * Counts one sign-up or reset request from an address, unless `max` were already counted in its
 * current hour: then nothing is counted and the answer is when that hour ends (else null).
 */
export async function countAddressRequest(
  db: Kysely<Database>,
  kind: DialectKind,
  addressKey: string,
  counter: AddressRequest,
  now: number,
  max: number,
): Promise<number | null> {
  return userTransaction(db, kind, async (trx) => {
    const row = await lockAddress(trx, kind, addressKey, now);
    let count = Number(row[counter]);
    let opened = Number(row[`${counter}_since`]);
    if (opened + REQUEST_WINDOW_MS <= now) [count, opened] = [0, now];
    if (count >= max) return opened + REQUEST_WINDOW_MS;
    const changes: Partial<AddressRow> =
      counter === "registrations"
        ? { registrations: count + 1, registrations_since: opened }
        : { reset_requests: count + 1, reset_requests_since: opened };
    await updateAddress(trx, addressKey, { ...changes, updated_at: now });
    return null;
  });
}

/** Forgets addresses whose windows and lockout are all over: their rows carry nothing. */
export async function deleteStaleAddresses(db: Kysely<Database>, now: number): Promise<number> {
  const result = await db
    .deleteFrom("auth_address_throttle")
    .where("updated_at", "<=", now - ADDRESS_MEMORY_MS)
    .where("locked_until", "<=", now)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

type AddressRow = AddressThrottleTable;

/**
 * The address's row, created when missing, under its lock until the transaction ends. The first
 * statement writes, so SQLite takes its write lock (waiting for other processes) before anything
 * is read, and PostgreSQL and MySQL the row's exclusive lock.
 */
async function lockAddress(trx: Transaction<Database>, kind: DialectKind, addressKey: string, now: number): Promise<AddressRow> {
  const fresh: AddressRow = {
    address_key: addressKey,
    locked_until: 0,
    failures: 0,
    pending: 0,
    failures_since: 0,
    usernames: "",
    usernames_since: 0,
    registrations: 0,
    registrations_since: 0,
    reset_requests: 0,
    reset_requests_since: 0,
    updated_at: now,
  };
  if (kind === "mysql") {
    await trx.insertInto("auth_address_throttle").values(fresh).onDuplicateKeyUpdate({ address_key: addressKey }).execute();
    return trx.selectFrom("auth_address_throttle").selectAll().where("address_key", "=", addressKey).forUpdate().executeTakeFirstOrThrow();
  }
  return trx
    .insertInto("auth_address_throttle")
    .values(fresh)
    .onConflict((oc) => oc.column("address_key").doUpdateSet({ address_key: addressKey }))
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The address's row under its lock, or undefined (nothing is created). */
async function lockExistingAddress(trx: Transaction<Database>, addressKey: string): Promise<AddressRow | undefined> {
  const locked = await trx
    .updateTable("auth_address_throttle")
    .set((eb) => ({ address_key: eb.ref("address_key") }))
    .where("address_key", "=", addressKey)
    .executeTakeFirst();
  if (Number(locked.numUpdatedRows) === 0) return undefined;
  return trx.selectFrom("auth_address_throttle").selectAll().where("address_key", "=", addressKey).executeTakeFirst();
}

async function updateAddress(trx: Transaction<Database>, addressKey: string, changes: Partial<AddressRow>): Promise<void> {
  await trx.updateTable("auth_address_throttle").set(changes).where("address_key", "=", addressKey).execute();
}

/**
 * A short stand-in for a username key in the address's row: 128 bits of its SHA-256, so the row
 * stays small whatever the names' length, and holds no username as typed.
 */
export function usernameDigest(usernameKey: string): string {
  return createHash("sha256").update(usernameKey).digest("base64url").slice(0, 22);
}

/** A username's entry in an address's row: failed attempts on it, and attempts still running. */
interface NameCount {
  failed: number;
  running: number;
}

/** The address's counters, with windows that have passed opened anew at `now`. */
function openWindows(row: AddressRow, now: number) {
  let failures = Number(row.failures);
  let pending = Number(row.pending);
  let failuresSince = Number(row.failures_since);
  // Attempts still running from a closed window are forgotten with it (a process that died
  // between reserving and settling leaves its attempt counted only until then).
  if (failuresSince + FAILURE_WINDOW_MS <= now) [failures, pending, failuresSince] = [0, 0, now];
  let usernames = parseUsernames(row.usernames);
  let usernamesSince = Number(row.usernames_since);
  if (usernamesSince + USERNAME_WINDOW_MS <= now) [usernames, usernamesSince] = [new Map<string, NameCount>(), now];
  return { failures, pending, failuresSince, usernames, usernamesSince };
}

function failedNames(usernames: ReadonlyMap<string, NameCount>): number {
  let count = 0;
  for (const entry of usernames.values()) if (entry.failed > 0) count++;
  return count;
}

/** `digest:failed:running` entries, space-separated. */
function parseUsernames(text: string): Map<string, NameCount> {
  const usernames = new Map<string, NameCount>();
  for (const entry of text.split(" ")) {
    const [digest, failed, running] = entry.split(":");
    if (digest && failed !== undefined && running !== undefined)
      usernames.set(digest, { failed: Number(failed), running: Number(running) });
  }
  return usernames;
}

function formatUsernames(usernames: ReadonlyMap<string, NameCount>): string {
  return Array.from(usernames, ([digest, { failed, running }]) => `${digest}:${failed}:${running}`).join(" ");
}

/** Moves `digest`'s counts by the deltas; an entry left with nothing is dropped. */
function moveCount(usernames: Map<string, NameCount>, digest: string, failed: number, running: number): void {
  const entry = usernames.get(digest) ?? { failed: 0, running: 0 };
  const next = { failed: entry.failed + failed, running: Math.max(0, entry.running + running) };
  if (next.failed > 0 || next.running > 0) usernames.set(digest, next);
  else usernames.delete(digest);
}
