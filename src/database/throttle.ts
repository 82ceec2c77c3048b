import { sql, type Kysely, type RawBuilder, type Transaction } from "kysely";
import type { DialectKind } from "./dialect.js";
import type { Database } from "./schema.js";

/** The per-username lockout schedule, as `lockoutSteps` in src/throttle.ts gives it. */
export interface LockoutSchedule {
  readonly maxFailures: number;
  /** Lockout in ms at `maxFailures + i` failures; the last one is the cap. */
  readonly steps: readonly number[];
}

/** What reserving a login attempt gave. */
export type Reservation = { reserved: true } | { reserved: false; lockedUntil: number };

/**
 * Reserves one login attempt on a username before its password is checked: atomically, while
 * the username is not locked out, counts the attempt as a failure (a success clears the count
 * afterwards) and, when that count reaches the limit, starts the lockout in the same step. So
 * however many attempts arrive at once, in any number of processes, at most `maxFailures` are
 * reserved before the lockout applies, and the rest are refused without hashing.
 */
export async function reserveAttempt(
  db: Kysely<Database>,
  kind: DialectKind,
  usernameKey: string,
  now: number,
  schedule: LockoutSchedule,
): Promise<Reservation> {
  if (kind === "mysql") return reserveWithRowLock(db, usernameKey, now, schedule);
  return reserveByUpsert(db, usernameKey, now, schedule);
}

/**
 * `reserveAttempt` inside a transaction the caller holds (the address throttle's, which decides
 * whether the username is counted at all).
 */
export function reserveAttemptIn(
  trx: Transaction<Database>,
  kind: DialectKind,
  usernameKey: string,
  now: number,
  schedule: LockoutSchedule,
): Promise<Reservation> {
  return kind === "mysql" ? reserveLocked(trx, usernameKey, now, schedule) : reserveByUpsert(trx, usernameKey, now, schedule);
}

/**
 * One upsert: SQLite takes the write lock for the statement, PostgreSQL the row lock of the
 * conflicting row, so no two reservations read the same count.
 */
async function reserveByUpsert(db: Kysely<Database>, usernameKey: string, now: number, schedule: LockoutSchedule): Promise<Reservation> {
  const firstLock = lockedUntilAt(1, schedule, now) ?? 0;
  const reserved = await db
    .insertInto("auth_login_throttle")
    .values({ username_key: usernameKey, failures: 1, locked_until: firstLock, updated_at: now })
    .onConflict((oc) =>
      oc
        .column("username_key")
        .doUpdateSet({
          failures: sql<number>`${sql.ref("auth_login_throttle.failures")} + 1`,
          locked_until: lockedUntilSql(sql<number>`${sql.ref("auth_login_throttle.failures")} + 1`, schedule, now),
          updated_at: now,
        })
        .where("auth_login_throttle.locked_until", "<=", now),
    )
    .returning("failures")
    .executeTakeFirst();
  if (reserved !== undefined) return { reserved: true };
  return { reserved: false, lockedUntil: (await findLockedUntil(db, usernameKey)) ?? now };
}

/**
 * MySQL has no RETURNING on upserts: the attempt is reserved in a transaction holding the row's
 * lock. The first statement takes that lock exclusively (a plain INSERT IGNORE would take a
 * shared one, and two of those upgrading at once deadlock).
 */
async function reserveWithRowLock(db: Kysely<Database>, usernameKey: string, now: number, schedule: LockoutSchedule): Promise<Reservation> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute((trx) => reserveLocked(trx, usernameKey, now, schedule));
    } catch (error) {
      // InnoDB may still pick this transaction as a deadlock victim (gap locks of a new key); it was rolled back whole.
      if ((error as { code?: unknown }).code !== "ER_LOCK_DEADLOCK" || attempt >= 5) throw error;
    }
  }
}

async function reserveLocked(
  trx: Transaction<Database>,
  usernameKey: string,
  now: number,
  schedule: LockoutSchedule,
): Promise<Reservation> {
  await trx
    .insertInto("auth_login_throttle")
    .values({ username_key: usernameKey, failures: 0, locked_until: 0, updated_at: now })
    .onDuplicateKeyUpdate({ username_key: usernameKey })
    .execute();
  const row = await trx
    .selectFrom("auth_login_throttle")
    .select(["failures", "locked_until"])
    .where("username_key", "=", usernameKey)
    .forUpdate()
    .executeTakeFirstOrThrow();
  const lockedUntil = Number(row.locked_until);
  if (lockedUntil > now) return { reserved: false, lockedUntil };
  const failures = Number(row.failures) + 1;
  await trx
    .updateTable("auth_login_throttle")
    .set({ failures, locked_until: lockedUntilAt(failures, schedule, now) ?? lockedUntil, updated_at: now })
    .where("username_key", "=", usernameKey)
    .execute();
  return { reserved: true };
}

/** When the lockout ends after `failures` failures counted at `now`; null while under the limit. */
function lockedUntilAt(failures: number, schedule: LockoutSchedule, now: number): number | null {
  if (failures < schedule.maxFailures) return null;
  const index = Math.min(failures - schedule.maxFailures, schedule.steps.length - 1);
  return now + schedule.steps[index]!;
}

/** `lockedUntilAt` in SQL over the new failure count, keeping the stored value under the limit. */
function lockedUntilSql(failures: RawBuilder<number>, schedule: LockoutSchedule, now: number): RawBuilder<number> {
  const { maxFailures, steps } = schedule;
  const branches = steps.slice(0, -1).map((ms, i) => sql`when ${failures} = ${maxFailures + i} then ${now + ms}`);
  return sql<number>`case when ${failures} < ${maxFailures} then ${sql.ref("auth_login_throttle.locked_until")} ${sql.join(branches, sql` `)} else ${now + steps[steps.length - 1]!} end`;
}

async function findLockedUntil(db: Kysely<Database>, usernameKey: string): Promise<number | null> {
  const row = await db.selectFrom("auth_login_throttle").select("locked_until").where("username_key", "=", usernameKey).executeTakeFirst();
  return row === undefined ? null : Number(row.locked_until);
}

/** Forgets a username's failures: after a success, and when a user takes the name. */
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
