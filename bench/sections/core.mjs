// Section 2: validateSession / checkSession in-process, one call at a time, against a
// hand-written better-sqlite3 check with its statement prepared once (the floor).
import { createRequire } from "node:module";
import { join } from "node:path";
import { SessionManager } from "session-manager";
import { createPhysicalFloorFixture, createSqliteFixture } from "../lib/fixture.mjs";
import { handWrittenCheck, narrowCheck, physicalCheck } from "../lib/floor.mjs";
import { measure, medians } from "../lib/rounds.mjs";
import { fixed, integer, median, pairedRatio, ratio, table } from "../lib/stats.mjs";

const require = createRequire(import.meta.url);
const BetterSqlite3 = require("better-sqlite3");

/**
 * The library and the floor on a small and a large table, all measured in the same rounds: the
 * machine's drift during the run then weighs on both sizes alike. On the small table also the
 * physical floor and the narrow read of our schema, which split the floor's time between the
 * key's type and the row's width.
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
      if (sessions !== sizes[0]) continue;
      const physical = new BetterSqlite3(createPhysicalFloorFixture(fixture.path));
      opened.push({ raw: physical });
      const physicalFloor = physicalCheck(physical);
      const narrow = narrowCheck(raw);
      subjects.physical = { operation: (token) => physicalFloor(token), tokens };
      subjects.narrow = { operation: (token) => narrow(token), tokens };
    }
    return await measure(subjects, options);
  } finally {
    for (const { sm, raw } of opened) {
      raw.close();
      await sm?.close();
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

export async function coreSection({ quick, dir, log }) {
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
  // Where a validation's time goes, each step against the physical floor in the same rounds.
  const steps = [
    ["physical floor: 32-byte BLOB key of a WITHOUT ROWID table, 4 columns, user object", "physical"],
    ["our schema, the same 4 columns and user object (hex digest, unique index)", "narrow"],
    ["hand-written floor: our schema, all 14 columns, user and session objects", `floor ${small}`],
    ["checkSession", `checkSession ${small}`],
  ];
  const breakdown = steps.map(([label, name]) => [
    label,
    `${fixed(us(median(samples[name])))} us`,
    ratio(pairedRatio(samples.physical, samples[name])),
  ]);
  return {
    title: `Core: operations per second in-process, one at a time, medians of ${options.rounds} interleaved rounds of ${integer(options.batch)}`,
    table: table(
      ["database", "hand-written floor ops/s", "checkSession ops/s", "validateSession ops/s", "checkSession time vs floor"],
      rows,
    ),
    notes: [
      `Where the time of one validation goes (SQLite, ${integer(small)} sessions, same rounds):\n\n${table(["read", "time", "vs physical floor"], breakdown).md}`,
      `Validation time on ${integer(large)} live sessions vs ${integer(small)}: ${ratio(largeVsSmall)} (checkSession).`,
      "Ratios are the median over rounds of each round's ratio; the 1,000 and the large table are measured in the same rounds.",
      "Floor: sha256 of the token, a cached better-sqlite3 statement (`get`) joining session and user, the expiry check and the same `{ user, session }` objects, called synchronously. PostgreSQL and MySQL: see the section on the server databases.",
    ],
    metrics: {
      small: smallResult,
      large: largeResult,
      checkVsFloor: smallResult.checkVsFloor,
      largeVsSmall,
      vsPhysical: Object.fromEntries(steps.map(([, name]) => [name, pairedRatio(samples.physical, samples[name])])),
      sizes: { small, large },
    },
    commands: [],
  };
}
