// Benchmark databases: tables made by the library's own migration, then filled in bulk in one
// transaction (a million createSession calls would take minutes and measure nothing useful).
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { SessionManager } from "session-manager";
import { sha256Hex } from "./floor.mjs";

const require = createRequire(import.meta.url);
const BetterSqlite3 = require("better-sqlite3");

export const USERNAME = "bench";
export const PASSWORD = "correct horse battery staple";
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Creates a SQLite file with `users` users and `sessions` live sessions spread over them, and
 * returns up to `sample` of their tokens, picked evenly across the table.
 */
export async function createSqliteFixture(path, { sessions, users = 1000, sample = 10_000, password = PASSWORD, passwordOptions }) {
  for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
  const sm = new SessionManager({ database: `sqlite:${path}`, password: passwordOptions });
  // One real user made through the library, so that logins verify a real argon2id hash.
  const first = await sm.createUser(USERNAME, password);
  await sm.close();

  const db = new BetterSqlite3(path);
  db.pragma("journal_mode = WAL");
  const now = Date.now();
  const insertUser = db.prepare("insert into auth_users (username, username_key, password_hash, created_at) values (?, ?, ?, ?)");
  const insertSession = db.prepare(
    "insert into auth_sessions (id, token_hash, user_id, created_at, expires_at, last_seen_at, ip, user_agent, authenticated_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const hash = db.prepare("select password_hash from auth_users where id = ?").get(first.id).password_hash;
  const tokens = [];
  const every = Math.max(1, Math.floor(sessions / sample));
  db.transaction(() => {
    const userIds = [first.id];
    for (let i = 1; i < users; i++) userIds.push(Number(insertUser.run(`user${i}`, `user${i}`, hash, now).lastInsertRowid));
    for (let i = 0; i < sessions; i++) {
      const token = randomBytes(24).toString("base64url");
      // Created a minute ago and seen just now: validation finds nothing to renew or refresh.
      insertSession.run(
        randomBytes(16).toString("base64url"),
        sha256Hex(token),
        userIds[i % userIds.length],
        now - 60_000,
        now - 60_000 + 30 * DAY_MS,
        now,
        "127.0.0.1",
        "bench",
        now - 60_000,
      );
      if (i % every === 0 && tokens.length < sample) tokens.push(token);
    }
  })();
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.exec("analyze");
  db.close();
  return { path, tokens, userId: first.id };
}

/**
 * The least a database-backed opaque-token check can read: a copy of a fixture's sessions in a
 * file of its own whose sessions table holds only the sha256 digest (a 32-byte BLOB primary key
 * of a WITHOUT ROWID table), the user id and the expiry, beside a users table of id, username and
 * creation time. Returns the new file's path.
 */
export function createPhysicalFloorFixture(fixturePath) {
  const path = fixturePath.replace(/\.db$/, "") + "-physical.db";
  for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
  const db = new BetterSqlite3(path);
  db.pragma("journal_mode = WAL");
  db.exec(`
    create table users (id integer primary key, username text not null, created_at integer not null);
    create table sessions (token_hash blob primary key, user_id integer not null, expires_at integer not null) without rowid;
    attach database '${fixturePath.replaceAll("'", "''")}' as ours;
    insert into users select id, username, created_at from ours.auth_users;
    insert into sessions select unhex(token_hash), user_id, expires_at from ours.auth_sessions;
    detach database ours;
    analyze;
  `);
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  return path;
}
