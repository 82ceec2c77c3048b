// Section 5: what throttling by client address adds to a login on SQLite. Failed and successful
// logins with an address beside the same logins without one (counted per username only), the
// reservation's database work alone beside the username-only reservation, and a flood from
// 100,000 distinct addresses: the rows it leaves and what cleanup takes.
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { sql } from "kysely";
import { SessionManager } from "session-manager";
import { reserveLogin, settleLogin } from "../../dist/esm/src/database/address-throttle.js";
import { connect } from "../../dist/esm/src/database/connect.js";
import { reserveAttempt } from "../../dist/esm/src/database/throttle.js";
import { lockoutSteps } from "../../dist/esm/src/lockout.js";
import { fixed, integer, median, table } from "../lib/stats.mjs";

// Hashing as cheap as argon2id allows, so that the database work shows beside it.
const FAST = { memoryCost: 256, timeCost: 1, parallelism: 1 };
const PASSWORD = "correct horse battery staple";
const WARM_UP_ROUNDS = 2;
const HOUR_MS = 60 * 60 * 1000;

/** Attempt `i`'s address: five attempts per address, so each stays under both address limits. */
function address(i) {
  const n = Math.floor(i / 5);
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

/**
 * Times `batch` calls of each subject per round, one at a time, every subject in every round;
 * answers each subject's milliseconds per call, round by round.
 */
async function measure(subjects, { rounds, batch }) {
  const samples = Object.fromEntries(Object.keys(subjects).map((name) => [name, []]));
  let next = 0;
  for (let round = -WARM_UP_ROUNDS; round < rounds; round++) {
    for (const [name, call] of Object.entries(subjects)) {
      const start = performance.now();
      for (let i = 0; i < batch; i++) await call(next++);
      if (round >= 0) samples[name].push((performance.now() - start) / batch);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, values]));
}

/** The median over rounds of a[i] - b[i]: differences of measurements made side by side. */
function pairedDifference(a, b) {
  return median(a.map((value, i) => value - b[i]));
}

async function loginCosts(path, { rounds, batch }) {
  const sm = new SessionManager({ database: `sqlite:${path}`, password: FAST });
  try {
    const users = [];
    for (let i = 0; i < 50; i++) users.push((await sm.createUser(`user${i}`, PASSWORD)).username);
    const samples = await measure(
      {
        // A new username every time: its own throttle never locks, like a spray over many names.
        "failed, no address": (i) => sm.login(`nobody-a${i}`, "wrong password"),
        "failed, with address": (i) => sm.login(`nobody-b${i}`, "wrong password", { ip: address(i) }),
        "signed in, no address": (i) => sm.login(users[i % users.length], PASSWORD),
        "signed in, with address": (i) => sm.login(users[i % users.length], PASSWORD, { ip: address(i + 1_000_000) }),
      },
      { rounds, batch },
    );
    return samples;
  } finally {
    await sm.close();
  }
}

async function reservationCosts(path, { rounds, batch }) {
  const migrator = new SessionManager({ database: `sqlite:${path}` });
  await migrator.migrate();
  await migrator.close();
  // The library's tables and connection code, without the rest of a login.
  const { db } = connect(`sqlite:${path}`, "");
  const schedule = { maxFailures: 10, steps: lockoutSteps({ maxFailures: 10, baseLockoutSeconds: 30, maxLockoutSeconds: 900 }) };
  const limits = { maxFailures: 50, maxUsernames: 10, maxRegistrations: 20, maxResetRequests: 20 };
  try {
    return await measure(
      {
        "username only": (i) => reserveAttempt(db, "sqlite", `reserve-a${i}`, Date.now(), schedule),
        // A failed attempt's whole database work: reserved before hashing, settled as a failure after.
        "address and username": async (i) => {
          const reservation = await reserveLogin(db, "sqlite", address(i + 2_000_000), `reserve-b${i}`, Date.now(), limits, schedule);
          if (reservation.reserved) await settleLogin(db, "sqlite", reservation.ticket, true);
          else throw new Error("the benchmark's attempts must stay under the limits");
        },
      },
      { rounds, batch },
    );
  } finally {
    await db.destroy();
  }
}

async function flood(path, count) {
  let now = Date.UTC(2026, 0, 1);
  const sm = new SessionManager({ database: `sqlite:${path}`, password: { ...FAST, queueLimit: 1_000_000 }, clock: () => new Date(now) });
  try {
    // The flood's target is locked first: its attempts are refused in the database, as a
    // botnet's are once the names it sprays are locked, so that the flood measures the throttle.
    for (let i = 0; i < 10; i++) await sm.login("target", "wrong password", { ip: "192.0.2.1" });
    const start = performance.now();
    for (let from = 0; from < count; from += 1000) {
      const size = Math.min(1000, count - from);
      await Promise.allSettled(
        Array.from({ length: size }, (_, i) => {
          const n = from + i;
          return sm.login("target", "wrong password", { ip: `${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}.7` });
        }),
      );
    }
    const floodSeconds = (performance.now() - start) / 1000;
    const { db } = connect(`sqlite:${path}`, "");
    try {
      const rows = async () => Number((await sql`select count(*) as n from auth_address_throttle`.execute(db)).rows[0].n);
      const after = await rows();
      now += HOUR_MS + 1000;
      const cleanupStart = performance.now();
      await sm.deleteExpiredSessions();
      const cleanupSeconds = (performance.now() - cleanupStart) / 1000;
      return { count, floodSeconds, rows: after, rowsPerAddress: after / (count + 1), cleanupSeconds, left: await rows() };
    } finally {
      await db.destroy();
    }
  } finally {
    await sm.close();
  }
}

export async function addressSection({ quick, dir, log }) {
  const rounds = quick ? 1 : 9;
  const batch = quick ? 20 : 400;
  const logins = await loginCosts(join(dir, "address-logins.db"), { rounds, batch });
  log("  logins measured");
  const reservations = await reservationCosts(join(dir, "address-reservations.db"), { rounds, batch: batch * 2 });
  log("  reservations measured");
  const floodResult = await flood(join(dir, "address-flood.db"), quick ? 2_000 : 100_000);
  log("  flood measured");

  const m = {
    failedPlain: median(logins["failed, no address"]),
    failedAddress: median(logins["failed, with address"]),
    failedAdded: pairedDifference(logins["failed, with address"], logins["failed, no address"]),
    successPlain: median(logins["signed in, no address"]),
    successAddress: median(logins["signed in, with address"]),
    successAdded: pairedDifference(logins["signed in, with address"], logins["signed in, no address"]),
    reservePlain: median(reservations["username only"]),
    reserveAddress: median(reservations["address and username"]),
    reserveAdded: pairedDifference(reservations["address and username"], reservations["username only"]),
    flood: floodResult,
  };
  const ms = (value) => `${fixed(value, 3)} ms`;
  const rows = [
    ["failed login (argon2id m=256, t=1)", ms(m.failedPlain), ms(m.failedAddress), ms(m.failedAdded)],
    ["successful login (same hashing)", ms(m.successPlain), ms(m.successAddress), ms(m.successAdded)],
    ["throttle database work of a failed attempt (reserve, settle)", ms(m.reservePlain), ms(m.reserveAddress), ms(m.reserveAdded)],
  ];
  const f = m.flood;
  return {
    title: `Address throttle: per-login cost on a SQLite file, one call at a time, medians of ${rounds} rounds of ${batch}`,
    table: table(["operation", "per username only", "with the client address", "added"], rows),
    notes: [
      `Flood: ${integer(f.count)} failed logins from as many addresses took ${fixed(f.floodSeconds, 1)} s ` +
        `(${fixed((f.floodSeconds * 1000) / f.count, 3)} ms each, 1,000 at a time) and left ${integer(f.rows)} address rows ` +
        `(${fixed(f.rowsPerAddress, 2)} per address); an hour later deleteExpiredSessions removed them in ${fixed(f.cleanupSeconds, 2)} s, leaving ${integer(f.left)}.`,
    ],
    metrics: m,
    commands: [],
  };
}
