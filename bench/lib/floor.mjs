// The hand-written floor: what an application would write by hand with better-sqlite3, the
// statement prepared once and cached, doing the same lookup as checkSession and answering the
// same user and session fields (the email columns and the session's freshness and persistence
// since the account recovery and lifecycle releases).
import * as crypto from "node:crypto";

export const SESSION_SQL = `select s.id, s.token_hash, s.user_id, s.created_at, s.expires_at, s.last_seen_at, s.ip, s.user_agent,
  s.authenticated_at, s.persistent, u.username, u.created_at as user_created_at, u.email, u.email_verified
  from auth_sessions s inner join auth_users u on u.id = s.user_id where s.token_hash = ?`;

// The same digest function the library uses, so that the floor is not slowed by an older API.
export const sha256Hex =
  typeof crypto.hash === "function"
    ? (value) => crypto.hash("sha256", value, "hex")
    : (value) => crypto.createHash("sha256").update(value).digest("hex");

/**
 * A hand-written check over an open SQLite database (better-sqlite3, node:sqlite or bun:sqlite,
 * whose `get` answers null for no row): `{ user, session }` or null.
 */
export function handWrittenCheck(db) {
  const statement = db.prepare(SESSION_SQL);
  return function check(token) {
    if (typeof token !== "string" || token.length !== 32) return null;
    const row = statement.get(sha256Hex(token));
    if (row === undefined || row === null || row.expires_at <= Date.now()) return null;
    return {
      user: {
        id: row.user_id,
        username: row.username,
        createdAt: new Date(row.user_created_at),
        email: row.email,
        emailVerified: row.email !== null && row.email_verified === 1,
      },
      session: {
        id: row.id,
        userId: row.user_id,
        createdAt: new Date(row.created_at),
        expiresAt: new Date(row.expires_at),
        lastSeenAt: row.last_seen_at === null ? null : new Date(row.last_seen_at),
        ip: row.ip,
        userAgent: row.user_agent,
        authenticatedAt: new Date(row.authenticated_at ?? row.created_at),
        persistent: row.persistent !== 0,
      },
    };
  };
}

/**
 * The physical floor over a file made by `createPhysicalFloorFixture`: the binary sha256 digest
 * as the primary key, one cached statement, the user built from the row; `{ user }` or null.
 */
export function physicalCheck(db) {
  const statement = db.prepare(
    "select s.user_id, s.expires_at, u.username, u.created_at from sessions s join users u on u.id = s.user_id where s.token_hash = ?",
  );
  const digest =
    typeof crypto.hash === "function"
      ? (value) => crypto.hash("sha256", value, "buffer")
      : (value) => crypto.createHash("sha256").update(value).digest();
  return function check(token) {
    if (typeof token !== "string" || token.length !== 32) return null;
    const row = statement.get(digest(token));
    if (row === undefined || row.expires_at <= Date.now()) return null;
    return { user: { id: row.user_id, username: row.username, createdAt: new Date(row.created_at) } };
  };
}

/**
 * The physical floor's reads on our schema: the hex digest looked up through the unique index, and
 * only the columns the physical floor reads (user id, expiry, username, creation time). Beside
 * `physicalCheck` and `handWrittenCheck`, it tells the key's type from the row's width.
 */
export function narrowCheck(db) {
  const statement = db.prepare(
    "select s.user_id, s.expires_at, u.username, u.created_at from auth_sessions s join auth_users u on u.id = s.user_id where s.token_hash = ?",
  );
  return function check(token) {
    if (typeof token !== "string" || token.length !== 32) return null;
    const row = statement.get(sha256Hex(token));
    if (row === undefined || row.expires_at <= Date.now()) return null;
    return { user: { id: row.user_id, username: row.username, createdAt: new Date(row.created_at) } };
  };
}
