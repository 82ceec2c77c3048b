// Benchmark data on PostgreSQL and MySQL: tables made by the library's own migration under a
// prefix of their own, then filled in one INSERT … SELECT on the server, so that a million
// sessions take seconds. Tokens are made from their row number, so the client knows them too.
import { createRequire } from "node:module";
import { SessionManager } from "session-manager";
import { SESSION_SQL, sha256Hex } from "./floor.mjs";

const require = createRequire(import.meta.url);
const DAY_MS = 24 * 60 * 60 * 1000;
const USERS = 1000;

/** How the reports name each server database. */
export const SERVER_NAMES = { postgres: "PostgreSQL", mysql: "MySQL" };

/** The report's line for a server database that was not measured. */
export const notRun = (kind) => `${SERVER_NAMES[kind]}: not run (no ${kind === "postgres" ? "--postgres" : "--mysql"} URL).`;

/**
 * A table prefix of this run's own: two runs on one server (the bench and its smoke test, say)
 * must not drop each other's tables.
 */
export const runPrefix = (label) => `bench${process.pid}_${label}_`;

/** The token of session number `i`: 32 base64url characters, as the library's tokens are. */
export const tokenOf = (i) => `tok${String(i).padStart(29, "0")}`;

/** The library's tables dropped, under `prefix`. */
const TABLES = [
  "auth_sessions",
  "auth_login_throttle",
  "auth_address_throttle",
  "auth_one_time_tokens",
  "auth_recovery_codes",
  "auth_pending_sign_ins",
  "auth_totp",
  "auth_users",
  "auth_migrations",
  "auth_migrations_lock",
];

/** A raw client on one server: `query(sql, params)` answering rows, and `end()`. */
export async function rawClient(kind, url) {
  if (kind === "postgres") {
    const pg = require("pg");
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return { query: async (text, values = []) => (await client.query(text, values)).rows, end: () => client.end() };
  }
  const mysql = require("mysql2/promise");
  const connection = await mysql.createConnection({ uri: url });
  return { query: async (text, values = []) => (await connection.query(text, values))[0], end: () => connection.end() };
}

/**
 * Creates the library's tables under `prefix` on a server and fills them with 1,000 users and
 * `sessions` live sessions; returns up to `sample` tokens picked evenly across the table.
 */
export async function createServerFixture(kind, url, prefix, { sessions, sample = 10_000 }) {
  await dropServerFixture(kind, url, prefix);
  const sm = new SessionManager({ database: url, tablePrefix: prefix });
  await sm.migrate();
  await sm.close();
  const client = await rawClient(kind, url);
  const now = Date.now();
  const t = (name) => `${prefix}${name}`;
  try {
    if (kind === "postgres") {
      await client.query(
        `insert into ${t("auth_users")} (username, username_key, password_hash, created_at)
         select 'user' || i, 'user' || i, 'x', $1 from generate_series(1, ${USERS}) as i`,
        [now],
      );
      const [{ first }] = await client.query(`select min(id) as first from ${t("auth_users")}`);
      // Created a minute ago and seen just now: validation finds nothing to renew or refresh.
      await client.query(
        `insert into ${t("auth_sessions")} (id, token_hash, user_id, created_at, expires_at, last_seen_at, ip, user_agent, authenticated_at, persistent)
         select 'id' || i, encode(sha256(('tok' || lpad(i::text, 29, '0'))::bytea), 'hex'), $1 + i % ${USERS}, $2, $3, $4, '127.0.0.1', 'bench', $2, 1
         from generate_series(0, ${sessions - 1}) as i`,
        [Number(first), now - 60_000, now - 60_000 + 30 * DAY_MS, now],
      );
      await client.query(`analyze ${t("auth_sessions")}`);
      await client.query(`analyze ${t("auth_users")}`);
    } else {
      await client.query(
        `insert into ${t("auth_users")} (username, username_key, password_hash, created_at)
         select concat('user', seq), concat('user', seq), 'x', ? from seq_1_to_${USERS}`,
        [now],
      );
      const [{ first }] = await client.query(`select min(id) as first from ${t("auth_users")}`);
      await client.query(
        `insert into ${t("auth_sessions")} (id, token_hash, user_id, created_at, expires_at, last_seen_at, ip, user_agent, authenticated_at, persistent)
         select concat('id', seq), sha2(concat('tok', lpad(seq, 29, '0')), 256), ? + seq % ${USERS}, ?, ?, ?, '127.0.0.1', 'bench', ?, 1
         from seq_0_to_${sessions - 1}`,
        [Number(first), now - 60_000, now - 60_000 + 30 * DAY_MS, now, now - 60_000],
      );
      await client.query(`analyze table ${t("auth_sessions")}, ${t("auth_users")}`);
    }
    const [{ count }] = await client.query(`select count(*) as count from ${t("auth_sessions")}`);
    if (Number(count) !== sessions) throw new Error(`the fixture has ${count} sessions, not ${sessions}`);
  } finally {
    await client.end();
  }
  const every = Math.max(1, Math.floor(sessions / sample));
  const tokens = [];
  for (let i = 0; i < sessions && tokens.length < sample; i += every) tokens.push(tokenOf(i));
  return { tokens, footprint: () => footprint(kind, url, `${prefix}auth_sessions`), drop: () => dropServerFixture(kind, url, prefix) };
}

/**
 * The size of a table with its indexes beside the server's own page cache (shared_buffers on
 * PostgreSQL, which also reads through the system's file cache; innodb_buffer_pool_size on
 * MySQL), in bytes: `{ tableBytes, cacheBytes, cacheName }`.
 */
async function footprint(kind, url, table) {
  const client = await rawClient(kind, url);
  try {
    if (kind === "postgres") {
      const [row] = await client.query(
        "select pg_total_relation_size($1::regclass) as table_bytes, (select setting::bigint * 8192 from pg_settings where name = 'shared_buffers') as cache_bytes",
        [table],
      );
      return { tableBytes: Number(row.table_bytes), cacheBytes: Number(row.cache_bytes), cacheName: "shared_buffers" };
    }
    const [row] = await client.query(
      "select data_length + index_length as table_bytes, @@innodb_buffer_pool_size as cache_bytes from information_schema.tables where table_schema = database() and table_name = ?",
      [table],
    );
    return { tableBytes: Number(row.table_bytes), cacheBytes: Number(row.cache_bytes), cacheName: "innodb_buffer_pool_size" };
  } finally {
    await client.end();
  }
}

export async function dropServerFixture(kind, url, prefix) {
  const client = await rawClient(kind, url);
  try {
    for (const name of TABLES) await client.query(`drop table if exists ${prefix}${name}`);
  } finally {
    await client.end();
  }
}

/**
 * What an application would write by hand on the same driver: the lookup as a prepared statement
 * (named on pg, `execute` on mysql2) on a pool of the library's default size (10), building the
 * same `{ user, session }` objects. Returns `{ check(token), end() }`.
 */
export function serverFloor(kind, url, prefix) {
  const text = SESSION_SQL.replaceAll("auth_", `${prefix}auth_`);
  let run;
  let end;
  if (kind === "postgres") {
    const pg = require("pg");
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    const config = { name: "bench_floor_session", text: text.replace("?", "$1") };
    run = async (digest) => (await pool.query({ ...config, values: [digest] })).rows[0];
    end = () => pool.end();
  } else {
    const mysql = require("mysql2/promise");
    const pool = mysql.createPool({ uri: url, connectionLimit: 10 });
    run = async (digest) => (await pool.execute(text, [digest]))[0][0];
    end = () => pool.end();
  }
  return {
    async check(token) {
      if (typeof token !== "string" || token.length !== 32) return null;
      const row = await run(sha256Hex(token));
      if (row === undefined || Number(row.expires_at) <= Date.now()) return null;
      return {
        user: {
          id: Number(row.user_id),
          username: row.username,
          createdAt: new Date(Number(row.user_created_at)),
          email: row.email,
          emailVerified: row.email !== null && Number(row.email_verified) === 1,
        },
        session: {
          id: row.id,
          userId: Number(row.user_id),
          createdAt: new Date(Number(row.created_at)),
          expiresAt: new Date(Number(row.expires_at)),
          lastSeenAt: row.last_seen_at === null ? null : new Date(Number(row.last_seen_at)),
          ip: row.ip,
          userAgent: row.user_agent,
          authenticatedAt: new Date(Number(row.authenticated_at ?? row.created_at)),
          persistent: Number(row.persistent) !== 0,
        },
      };
    },
    end,
  };
}
