import type { CompiledQuery, Kysely } from "kysely";
import type { Session, User } from "../types.js";
import { NOT_NOW, type RowReader, type RowReaderNow } from "./row-reader.js";
import type { Database } from "./schema.js";

/** A session row with its user, as one validation reads them in one round trip; times in ms. */
export interface SessionRecord {
  id: string;
  tokenHash: string;
  userId: number;
  createdAt: number;
  expiresAt: number;
  lastSeenAt: number | null;
  ip: string | null;
  userAgent: string | null;
  username: string;
  userCreatedAt: number;
}

/** Finds the session with a token digest, and its user, whether or not it has expired. */
export interface SessionLookup {
  find(tokenHash: string): Promise<SessionRecord | null>;
  /** `find` done synchronously when the connection allows it, else `NOT_NOW`; throws database errors. */
  findNow(tokenHash: string): SessionRecord | null | typeof NOT_NOW;
}

export async function insertSession(
  db: Kysely<Database>,
  row: { id: string; tokenHash: string; userId: number; createdAt: number; expiresAt: number; ip: string | null; userAgent: string | null },
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
    })
    .execute();
}

const SESSION_COLUMNS = [
  "auth_sessions.id",
  "auth_sessions.token_hash",
  "auth_sessions.user_id",
  "auth_sessions.created_at",
  "auth_sessions.expires_at",
  "auth_sessions.last_seen_at",
  "auth_sessions.ip",
  "auth_sessions.user_agent",
] as const;

/**
 * Builds the validation query once and returns a function that runs it with each new digest.
 * Building and compiling a Kysely query costs more than running it, and validation runs on every
 * request; the SQL text also stays the same string, so SQLite's statement cache finds it at once.
 */
export function sessionLookup(db: Kysely<Database>, readOne: RowReader, readOneNow: RowReaderNow): SessionLookup {
  const query = db
    .selectFrom("auth_sessions")
    .innerJoin("auth_users", "auth_users.id", "auth_sessions.user_id")
    .select([...SESSION_COLUMNS, "auth_users.username", "auth_users.created_at as user_created_at"])
    .where("auth_sessions.token_hash", "=", "")
    .compile();
  type Row = typeof query extends CompiledQuery<infer R> ? R : never;
  const withDigest = (tokenHash: string): typeof query => ({ query: query.query, queryId: query.queryId, sql: query.sql, parameters: [tokenHash] });
  const toRecord = (row: Row | undefined): SessionRecord | null => {
    if (row === undefined) return null;
    return {
      id: row.id,
      tokenHash: row.token_hash,
      userId: Number(row.user_id),
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
      lastSeenAt: row.last_seen_at === null ? null : Number(row.last_seen_at),
      ip: row.ip,
      userAgent: row.user_agent,
      username: row.username,
      userCreatedAt: Number(row.user_created_at),
    };
  };
  return {
    find: async (tokenHash) => toRecord(await readOne(withDigest(tokenHash))),
    findNow(tokenHash) {
      const row = readOneNow(withDigest(tokenHash));
      return row === NOT_NOW ? NOT_NOW : toRecord(row);
    },
  };
}

/** The public view of a looked-up session. */
export function sessionOf(record: SessionRecord): Session {
  return {
    id: record.id,
    userId: record.userId,
    createdAt: new Date(record.createdAt),
    expiresAt: new Date(record.expiresAt),
    lastSeenAt: record.lastSeenAt === null ? null : new Date(record.lastSeenAt),
    ip: record.ip,
    userAgent: record.userAgent,
  };
}

/** The user of a looked-up session. */
export function userOf(record: SessionRecord): User {
  return { id: record.userId, username: record.username, createdAt: new Date(record.userCreatedAt) };
}

export async function updateSessionTimes(
  db: Kysely<Database>,
  id: string,
  times: { expiresAt?: number; lastSeenAt: number },
): Promise<void> {
  await db
    .updateTable("auth_sessions")
    .set(times.expiresAt === undefined ? { last_seen_at: times.lastSeenAt } : { expires_at: times.expiresAt, last_seen_at: times.lastSeenAt })
    .where("id", "=", id)
    .execute();
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
  return db.transaction().execute(async (trx) => {
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
  });
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
  return rows.map(toSession);
}

/** Deletes up to `limit` sessions that expired at or before `now`; returns how many. */
export async function deleteExpiredBatch(db: Kysely<Database>, now: number, limit: number): Promise<number> {
  // Select then delete by id: PostgreSQL has no DELETE … LIMIT and MySQL no LIMIT in IN (subquery).
  const rows = await db.selectFrom("auth_sessions").select("id").where("expires_at", "<=", now).limit(limit).execute();
  if (rows.length === 0) return 0;
  const result = await db
    .deleteFrom("auth_sessions")
    .where("id", "in", rows.map((row) => row.id))
    .where("expires_at", "<=", now)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

function toSession(row: {
  id: string;
  user_id: number;
  created_at: number | string;
  expires_at: number | string;
  last_seen_at: number | string | null;
  ip: string | null;
  user_agent: string | null;
}): Session {
  return {
    id: row.id,
    userId: Number(row.user_id),
    createdAt: new Date(Number(row.created_at)),
    expiresAt: new Date(Number(row.expires_at)),
    lastSeenAt: row.last_seen_at === null ? null : new Date(Number(row.last_seen_at)),
    ip: row.ip,
    userAgent: row.user_agent,
  };
}
