// Section 2: validateSession / checkSession in-process, one call at a time, against a
// hand-written better-sqlite3 check with its statement prepared once (the floor).
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { SessionManager } from "session-manager";
import { createSqliteFixture } from "../lib/fixture.mjs";
import { SESSION_SQL, handWrittenCheck, sha256Hex } from "../lib/floor.mjs";
import { fixed, integer, median, pairedRatio, ratio, table } from "../lib/stats.mjs";

const require = createRequire(import.meta.url);
const BetterSqlite3 = require("better-sqlite3");

const WARM_UP_ROUNDS = 3;

/**
 * Times `batch` calls of each subject per round, every subject once in every round; returns each
 * subject's ops/s per round, so that ratios can be taken between measurements made side by side.
 */
async function measure(subjects, { rounds, batch }) {
  const samples = Object.fromEntries(Object.keys(subjects).map((name) => [name, []]));
  let next = 0;
  for (let round = -WARM_UP_ROUNDS; round < rounds; round++) {
    for (const [name, { operation, tokens }] of Object.entries(subjects)) {
      const start = performance.now();
      for (let i = 0; i < batch; i++) {
        // The floor is synchronous and is called as such: no promise, no microtask.
        let result = operation(tokens[next++ % tokens.length]);
        if (result instanceof Promise) result = await result;
        if (result === null) throw new Error(`${name} refused a live session: the benchmark is broken`);
      }
      // The first rounds only warm up: the JIT, the statement caches and SQLite's page cache.
      if (round >= 0) samples[name].push(batch / ((performance.now() - start) / 1000));
    }
  }
  return samples;
}

function medians(samples) {
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]));
}

/**
 * The library and the floor on a small and a large table, all six measured in the same rounds:
 * the machine's drift during the run then weighs on both sizes alike.
 */
async function sqliteRuns(dir, sizes, options) {
  const opened = [];
  const subjects = {};
  try {
    for (const sessions of sizes) {
      const fixture = await createSqliteFixture(join(dir, `core-${sessions}.db`), { sessions });
      const sm = new SessionManager({ database: `sqlite:${fixture.path}` });
      const raw = new BetterSqlite3(fixture.path);
      opened.push({ sm, raw });
      raw.pragma("journal_mode = WAL");
      const floor = handWrittenCheck(raw);
      const tokens = fixture.tokens;
      subjects[`floor ${sessions}`] = { operation: (token) => floor(token), tokens };
      subjects[`checkSession ${sessions}`] = { operation: (token) => sm.checkSession(token), tokens };
      subjects[`validateSession ${sessions}`] = { operation: (token) => sm.validateSession(token), tokens };
    }
    return await measure(subjects, options);
  } finally {
    for (const { sm, raw } of opened) {
      raw.close();
      await sm.close();
    }
  }
}

/** One table size's figures out of the interleaved samples. */
function sqliteResult(samples, sessions) {
  const of = (name) => samples[`${name} ${sessions}`];
  return {
    ...medians({ floor: of("floor"), checkSession: of("checkSession"), validateSession: of("validateSession") }),
    checkVsFloor: pairedRatio(of("floor"), of("checkSession")),
  };
}

async function postgresRun(url, sessions, options) {
  const pg = require("pg");
  const prefix = "bench_";
  const sm = new SessionManager({ database: url, tablePrefix: prefix });
  await sm.migrate();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`delete from ${prefix}auth_sessions`);
    await client.query(`delete from ${prefix}auth_users`);
    const now = Date.now();
    const { rows } = await client.query(
      `insert into ${prefix}auth_users (username, username_key, password_hash, created_at) values ('bench', 'bench', 'x', $1) returning id`,
      [now],
    );
    const tokens = Array.from({ length: sessions }, () => randomBytes(24).toString("base64url"));
    await client.query(
      `insert into ${prefix}auth_sessions (id, token_hash, user_id, created_at, expires_at, last_seen_at, ip, user_agent)
       select id, hash, $3, $4, $5, $6, '127.0.0.1', 'bench' from unnest($1::text[], $2::text[]) as t(id, hash)`,
      [
        tokens.map(() => randomBytes(16).toString("base64url")),
        tokens.map(sha256Hex),
        rows[0].id,
        now - 60_000,
        now + 29 * 86_400_000,
        now,
      ],
    );
    const text = SESSION_SQL.replace("?", "$1").replaceAll("auth_", `${prefix}auth_`);
    const floor = async (token) => {
      const result = await client.query({ name: "bench_session", text, values: [sha256Hex(token)] });
      const row = result.rows[0];
      if (row === undefined || Number(row.expires_at) <= Date.now()) return null;
      return { user: { id: row.user_id, username: row.username, createdAt: new Date(Number(row.user_created_at)) } };
    };
    const samples = await measure(
      { floor: { operation: floor, tokens }, checkSession: { operation: (token) => sm.checkSession(token), tokens } },
      options,
    );
    return { ...medians(samples), checkVsFloor: pairedRatio(samples.floor, samples.checkSession) };
  } finally {
    for (const name of ["auth_sessions", "auth_login_throttle", "auth_users", "auth_migrations", "auth_migrations_lock"]) {
      await client.query(`drop table if exists ${prefix}${name}`);
    }
    await client.end();
    await sm.close();
  }
}

export async function coreSection({ quick, dir, postgresUrl, log }) {
  const small = 1000;
  const large = quick ? 2000 : 1_000_000;
  // Many short rounds: the machine's speed drifts by several percent within seconds, and a short
  // round puts the subjects it compares closer together in time.
  const options = quick ? { rounds: 2, batch: 500 } : { rounds: 60, batch: 2000 };
  log(`  SQLite, ${integer(small)} and ${integer(large)} live sessions, interleaved`);
  const samples = await sqliteRuns(dir, [small, large], options);
  const smallResult = sqliteResult(samples, small);
  const largeResult = sqliteResult(samples, large);
  const largeVsSmall = pairedRatio(samples[`checkSession ${small}`], samples[`checkSession ${large}`]);
  const rows = [];
  const us = (opsPerSecond) => 1e6 / opsPerSecond;
  const row = (label, r) => {
    rows.push([
      label,
      `${integer(r.floor)} (${fixed(us(r.floor))} us)`,
      `${integer(r.checkSession)} (${fixed(us(r.checkSession))} us)`,
      r.validateSession === undefined ? "-" : `${integer(r.validateSession)} (${fixed(us(r.validateSession))} us)`,
      ratio(r.checkVsFloor),
    ]);
  };
  row(`SQLite, ${integer(small)} sessions`, smallResult);
  row(`SQLite, ${integer(large)} sessions`, largeResult);
  let postgres = null;
  if (postgresUrl) {
    log("  PostgreSQL, 1,000 live sessions");
    postgres = await postgresRun(postgresUrl, small, quick ? { rounds: 1, batch: 200 } : { rounds: 20, batch: 1000 });
    row("PostgreSQL, 1,000 sessions", postgres);
  }
  return {
    title: `Core: operations per second in-process, one at a time, medians of ${options.rounds} interleaved rounds of ${integer(options.batch)}`,
    table: table(
      ["database", "hand-written floor ops/s", "checkSession ops/s", "validateSession ops/s", "checkSession time vs floor"],
      rows,
    ),
    notes: [
      `Validation time on ${integer(large)} live sessions vs ${integer(small)}: ${ratio(largeVsSmall)} (checkSession).`,
      "Ratios are the median over rounds of each round's ratio; the 1,000 and the large table are measured in the same rounds.",
      "Floor: sha256 of the token, a cached better-sqlite3 statement (`get`) joining session and user, the expiry check and the same `{ user, session }` objects, called synchronously." +
        (postgresUrl
          ? " On PostgreSQL: a named (server-side prepared) statement through one pg client."
          : " PostgreSQL: not run (no SESSION_BENCH_POSTGRES_URL)."),
    ],
    metrics: {
      small: smallResult,
      large: largeResult,
      postgres,
      checkVsFloor: smallResult.checkVsFloor,
      largeVsSmall,
      sizes: { small, large },
    },
    commands: [],
  };
}
