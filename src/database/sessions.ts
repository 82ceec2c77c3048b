import type { CompiledQuery, Kysely } from "kysely";
import type { Session, User } from "../types.js";
import type { RowReader } from "./row-reader.js";
import type { Database, SessionsTable } from "./schema.js";
import { toUser } from "./users.js";

/** A session's row as the queries select it; times are ms (PostgreSQL returns BIGINT as strings). */
export type SessionRow = Omit<SessionsTable, "token_hash">;

/** A session row with its user, as one validation reads them in one round trip. */
export interface SessionLookupRow extends SessionsTable {
  username: string;
  user_created_at: number | string;
  email: string | null;
  email_verified: number | string | boolean;
}

/**
 * Finds the session with a token digest, and its user, whether or not it has expired: at once on
 * a connection that reads synchronously, else a promise (see `RowReader`).
 */
export type SessionLookup = (tokenHash: string) => SessionLookupRow | undefined | Promise<SessionLookupRow | undefined>;

export async function insertSession(
  db: Kysely<Database>,
  row: {
    id: string;
    tokenHash: string;
    userId: number;
    createdAt: number;
    expiresAt: number;
    ip: string | null;
    userAgent: string | null;
    persistent: boolean;
  },
): Promise<void> {
  await db
    .insertInto("auth_sessions")
    .values({
      id: row.id,
      token_hash: row.tokenHash,
      user_id: row.userId,
      created_at: row.createdAt,
      expires_at: row.expiresAt,
      last_seen_at: row.createdAt,
      ip: row.ip,
      user_agent: row.userAgent,
      authenticated_at: row.createdAt,
      persistent: row.persistent ? 1 : 0,
    })
    .execute();
}

const SESSION_COLUMNS = [
  "auth_sessions.id",
  "auth_sessions.user_id",
  "auth_sessions.created_at",
  "auth_sessions.expires_at",
  "auth_sessions.last_seen_at",
  "auth_sessions.ip",
  "auth_sessions.user_agent",
  "auth_sessions.authenticated_at",
  "auth_sessions.persistent",
] as const;

/**
 * Builds the validation query once and returns a function that runs it with each new digest.
 * Building and compiling a Kysely query costs more than running it, and validation runs on every
 * request; the SQL text also stays the same string, so SQLite's statement cache finds it at once.
 */
export function sessionLookup(db: Kysely<Database>, readOne: RowReader): SessionLookup {
  const query: CompiledQuery<SessionLookupRow> = db
    .selectFrom("auth_sessions")
    .innerJoin("auth_users", "auth_users.id", "auth_sessions.user_id")
    .select([
      ...SESSION_COLUMNS,
      "auth_sessions.token_hash",
      "auth_users.username",
      "auth_users.created_at as user_created_at",
      "auth_users.email",
      "auth_users.email_verified",
    ])
    .where("auth_sessions.token_hash", "=", "")
    .compile();
  return (tokenHash) => readOne({ query: query.query, queryId: query.queryId, sql: query.sql, parameters: [tokenHash] });
}

/** The public view of a session row. */
export function sessionOf(row: SessionRow): Session {
  return {
    id: row.id,
    userId: Number(row.user_id),
    createdAt: new Date(Number(row.created_at)),
    expiresAt: new Date(Number(row.expires_at)),
    lastSeenAt: row.last_seen_at === null ? null : new Date(Number(row.last_seen_at)),
    ip: row.ip,
    userAgent: row.user_agent,
    authenticatedAt: new Date(Number(row.authenticated_at ?? row.created_at)),
    persistent: Number(row.persistent) !== 0,
  };
}

/** The user of a looked-up session. */
export function userOf(row: SessionLookupRow): User {
  return toUser({
    id: row.user_id,
    username: row.username,
    created_at: row.user_created_at,
    email: row.email,
    email_verified: row.email_verified,
  });
}

export async function updateSessionTimes(
  db: Kysely<Database>,
  id: string,
  times: { expiresAt?: number; lastSeenAt: number },
): Promise<void> {
  await db
    .updateTable("auth_sessions")
    .set(
      times.expiresAt === undefined ? { last_seen_at: times.lastSeenAt } : { expires_at: times.expiresAt, last_seen_at: times.lastSeenAt },
    )
    .where("id", "=", id)
    .execute();
}

/**
 * Gives a live session a new token digest and a last-seen time of `now`, and with
 * `authenticatedAt` a new time of the last password check; true when the session still had the old digest. One conditional UPDATE: of two
 * concurrent rotations of one token, one wins and the other finds the old digest gone.
 */
export async function replaceTokenHash(
  db: Kysely<Database>,
  id: string,
  oldHash: string,
  newHash: string,
  now: number,
  authenticatedAt?: number,
): Promise<boolean> {
  const result = await db
    .updateTable("auth_sessions")
    .set(
      authenticatedAt === undefined
        ? { token_hash: newHash, last_seen_at: now }
        : { token_hash: newHash, last_seen_at: now, authenticated_at: authenticatedAt },
    )
    .where("id", "=", id)
    .where("token_hash", "=", oldHash)
    .where("expires_at", ">", now)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Deletes one live session of one user; true when there was one. */
export async function deleteUserSession(db: Kysely<Database>, userId: number, id: string, now: number): Promise<boolean> {
  const result = await db
    .deleteFrom("auth_sessions")
    .where("id", "=", id)
    .where("user_id", "=", userId)
    .where("expires_at", ">", now)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** Deletes one session; true when it was still live at `now`. */
export async function deleteSession(db: Kysely<Database>, id: string, now: number): Promise<boolean> {
  const live = await db.deleteFrom("auth_sessions").where("id", "=", id).where("expires_at", ">", now).executeTakeFirst();
  if (Number(live.numDeletedRows) > 0) return true;
  await db.deleteFrom("auth_sessions").where("id", "=", id).execute();
  return false;
}

/** Deletes every session of a user but `exceptId`; returns how many of them were live. */
export async function deleteUserSessions(db: Kysely<Database>, userId: number, now: number, exceptId?: string): Promise<number> {
  const work = async (trx: Kysely<Database>): Promise<number> => {
    let live = trx.deleteFrom("auth_sessions").where("user_id", "=", userId).where("expires_at", ">", now);
    // Only the expired rest: under READ COMMITTED a session inserted between the two statements
    // would otherwise be deleted here without being counted.
    let rest = trx.deleteFrom("auth_sessions").where("user_id", "=", userId).where("expires_at", "<=", now);
    if (exceptId !== undefined) {
      live = live.where("id", "!=", exceptId);
      rest = rest.where("id", "!=", exceptId);
    }
    const result = await live.executeTakeFirst();
    await rest.execute();
    return Number(result.numDeletedRows);
  };
  // Part of a caller's transaction (a password reset), or one of its own.
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}

/** Live sessions of a user, newest first. */
export async function listUserSessions(db: Kysely<Database>, userId: number, now: number): Promise<Session[]> {
  const rows = await db
    .selectFrom("auth_sessions")
    .select(SESSION_COLUMNS)
    .where("user_id", "=", userId)
    .where("expires_at", ">", now)
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .execute();
  return rows.map(sessionOf);
}

/** Deletes up to `limit` sessions that expired at or before `now`; returns how many. */
export async function deleteExpiredBatch(db: Kysely<Database>, now: number, limit: number): Promise<number> {
  // Select then delete by id: PostgreSQL has no DELETE … LIMIT and MySQL no LIMIT in IN (subquery).
  const rows = await db.selectFrom("auth_sessions").select("id").where("expires_at", "<=", now).limit(limit).execute();
  if (rows.length === 0) return 0;
  const result = await db
    .deleteFrom("auth_sessions")
    .where(
      "id",
      "in",
      rows.map((row) => row.id),
    )
    .where("expires_at", "<=", now)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
