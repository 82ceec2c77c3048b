// The alternatives' tables on PostgreSQL, beside a fixture made by createServerFixture under the
// same prefix: Lucia v3's user and session tables (the schema of its PostgreSQL page, with the
// user attributes the library's user has) and connect-pg-simple's session table (its table.sql).
// Each gets one live session per user of the fixture, created a minute ago and valid for 30 days,
// as the library's sessions are: nothing is due for renewal.
import { createHmac } from "node:crypto";
import { rawClient } from "./server-fixture.mjs";

const DAY_MS = 24 * 60 * 60 * 1000;

/** Table names (under the fixture's prefix) and the express-session secret the servers use. */
export const ALTERNATIVES = Object.freeze({
  luciaUser: "lucia_user",
  luciaSession: "lucia_session",
  expressSession: "express_session",
  expressSessionSecret: "bench secret, not a real one",
});

/** Every pool in the HTTP comparison has the library's default size. */
export const POOL_SIZE = 10;

/** Lucia's session id for session `i`: 40 characters, as its generateIdFromEntropySize(25) makes. */
const luciaId = (i) => `lucia${String(i).padStart(35, "0")}`;
/** express-session's session id for session `i`: 32 characters, as its uid-safe(24) makes. */
const expressSessionId = (i) => `sid${String(i).padStart(29, "0")}`;

/** The Cookie header express-session accepts for `sid`: `s:` + sid + HMAC-SHA256 (cookie-signature). */
function signedCookie(sid) {
  const signature = createHmac("sha256", ALTERNATIVES.expressSessionSecret).update(sid).digest("base64").replace(/=+$/, "");
  return `connect.sid=${encodeURIComponent(`s:${sid}.${signature}`)}`;
}

/**
 * Creates the alternatives' tables under `prefix` (after createServerFixture made the library's
 * there) and returns the Cookie header of one live session of each: `{ lucia, expressSession }`.
 */
export async function createAlternativeTables(url, prefix) {
  const client = await rawClient("postgres", url);
  const t = (name) => `${prefix}${name}`;
  const now = Date.now();
  const expires = new Date(now - 60_000 + 30 * DAY_MS);
  try {
    await dropTables(client, prefix);
    await client.query(
      `create table ${t(ALTERNATIVES.luciaUser)} (id text primary key, username text not null, created_at timestamptz not null, email text, email_verified boolean not null)`,
    );
    await client.query(
      `create table ${t(ALTERNATIVES.luciaSession)} (id text primary key, expires_at timestamptz not null, user_id text not null references ${t(ALTERNATIVES.luciaUser)}(id))`,
    );
    await client.query(
      `insert into ${t(ALTERNATIVES.luciaUser)} (id, username, created_at, email, email_verified)
       select id::text, username, to_timestamp(created_at / 1000.0), email, email_verified = 1 from ${t("auth_users")}`,
    );
    const users = await client.query(`select id from ${t("auth_users")} order by id`);
    await client.query(
      `insert into ${t(ALTERNATIVES.luciaSession)} (id, expires_at, user_id)
       select ids.id, $1::timestamptz, ids.user_id from unnest($2::text[], $3::text[]) as ids(id, user_id)`,
      [expires, users.map((_, i) => luciaId(i)), users.map((user) => String(user.id))],
    );

    // connect-pg-simple's table.sql, under another name.
    await client.query(
      `create table ${t(ALTERNATIVES.expressSession)} (sid varchar not null collate "default" primary key, sess json not null, expire timestamp(6) not null)`,
    );
    await client.query(`create index ${t(ALTERNATIVES.expressSession)}_expire on ${t(ALTERNATIVES.expressSession)} (expire)`);
    const cookie = { originalMaxAge: 30 * DAY_MS, expires: expires.toISOString(), httpOnly: true, path: "/", sameSite: "lax" };
    await client.query(
      `insert into ${t(ALTERNATIVES.expressSession)} (sid, sess, expire)
       select ids.sid, json_build_object('cookie', $1::json, 'userId', ids.user_id), $2::timestamptz
       from unnest($3::text[], $4::int[]) as ids(sid, user_id)`,
      [JSON.stringify(cookie), expires, users.map((_, i) => expressSessionId(i)), users.map((user) => Number(user.id))],
    );
    await client.query(`analyze ${t(ALTERNATIVES.luciaUser)}`);
    await client.query(`analyze ${t(ALTERNATIVES.luciaSession)}`);
    await client.query(`analyze ${t(ALTERNATIVES.expressSession)}`);
  } finally {
    await client.end();
  }
  return {
    lucia: `auth_session=${luciaId(0)}`,
    expressSession: signedCookie(expressSessionId(0)),
    drop: async () => {
      const dropper = await rawClient("postgres", url);
      try {
        await dropTables(dropper, prefix);
      } finally {
        await dropper.end();
      }
    },
  };
}

async function dropTables(client, prefix) {
  for (const name of [ALTERNATIVES.luciaSession, ALTERNATIVES.luciaUser, ALTERNATIVES.expressSession]) {
    await client.query(`drop table if exists ${prefix}${name}`);
  }
}
