// Timing of authenticateUser with the default argon2id parameters:
// - an unknown username and a wrong password must cost the same (medians within 25%), so that
//   response times do not tell which usernames exist; also for a user whose hash was made before
//   the parameters were raised (memoryCost 65536, timeCost 3) and for a user imported with an
//   argon2i hash;
// - a throttled attempt must not hash at all (its median far below one hash).
// And of a password reset request over HTTP (bench/lib/reset-timing.mjs): the answer must take
// the same time for a known and an unknown address (a known request the slower of a pair by a
// chance of 0.5 ± 0.05), while two controls that answer after part of the work must show it.
// Run with `npm run bench:timing` (builds first); `npm run bench:timing -- reset` (or `login`)
// runs one case. SAMPLES (30) sets the login samples, RESET_SAMPLES (1000) and
// RESET_CONTROL_SAMPLES (30) the reset ones; RESET_DATABASE_URL runs the reset case on a server
// database (in tables of its own) instead of a SQLite file. Exits 1 when a check fails.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { hash } from "@node-rs/argon2";
import { LoginThrottledError, SessionManager } from "session-manager";
import { resetRequestTiming } from "./lib/reset-timing.mjs";

const CASES = ["login", "reset"];
const SAMPLES = Number(process.env.SAMPLES ?? 30);
const RESET_SAMPLES = Number(process.env.RESET_SAMPLES ?? 1000);
const RESET_CONTROL_SAMPLES = Number(process.env.RESET_CONTROL_SAMPLES ?? 30);
const PASSWORD = "correct horse battery staple";

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function timed(call) {
  const start = performance.now();
  try {
    await call();
  } catch (error) {
    if (!(error instanceof LoginThrottledError)) throw error;
  }
  return performance.now() - start;
}

/** Median times of a wrong password for `username` and of unknown usernames, interleaved. */
async function compareWithUnknown(sm, username, label) {
  let unknownCount = 0;
  const unknown = () => sm.authenticateUser(`nobody-${unknownCount++}`, PASSWORD);
  const wrong = () => sm.authenticateUser(username, "wrong password, same length..");
  // Warm-up: the dummy hash is made on the first unknown username, and the JIT settles.
  for (let i = 0; i < 3; i++) {
    await unknown();
    await wrong();
  }
  const unknownTimes = [];
  const wrongTimes = [];
  // Interleaved, alternating which goes first, so that drift in machine load hits both alike.
  for (let i = 0; i < SAMPLES; i++) {
    if (i % 2 === 0) {
      unknownTimes.push(await timed(unknown));
      wrongTimes.push(await timed(wrong));
    } else {
      wrongTimes.push(await timed(wrong));
      unknownTimes.push(await timed(unknown));
    }
  }
  const unknownMedian = median(unknownTimes);
  const wrongMedian = median(wrongTimes);
  const ratio = Math.max(unknownMedian, wrongMedian) / Math.min(unknownMedian, wrongMedian);
  const sameCost = ratio <= 1.25;
  console.log(`authenticateUser, ${SAMPLES} samples each, interleaved: ${label}`);
  console.log(`  unknown username  median ${unknownMedian.toFixed(2)} ms`);
  console.log(`  wrong password    median ${wrongMedian.toFixed(2)} ms`);
  console.log(`  ratio ${ratio.toFixed(3)}: ${sameCost ? "within" : "NOT within"} 25%`);
  return { sameCost, wrongMedian };
}

/** The authenticateUser cases; resolves true when every check passes. */
async function loginTiming(dir) {
  // Throttling off for the comparisons: 30 wrong passwords would otherwise lock the user out.
  const open = new SessionManager({ database: `sqlite:${join(dir, "open.db")}`, throttle: false });
  await open.createUser("alice", PASSWORD);
  const plain = await compareWithUnknown(open, "alice", "a wrong password, default parameters");
  await open.close();

  // A user signed up before the parameters were raised, checked by a manager with the new ones.
  const raisedDb = `sqlite:${join(dir, "raised.db")}`;
  const before = new SessionManager({ database: raisedDb, throttle: false });
  await before.createUser("carol", PASSWORD);
  await before.close();
  const raised = new SessionManager({ database: raisedDb, throttle: false, password: { memoryCost: 65536, timeCost: 3 } });
  const afterRaise = await compareWithUnknown(raised, "carol", "a wrong password, hash older than raised parameters (m=65536, t=3)");
  await raised.close();

  // A user imported with an argon2i hash from another system.
  const imported = new SessionManager({ database: `sqlite:${join(dir, "imported.db")}`, throttle: false });
  await imported.importUser("dave", await hash(PASSWORD, { algorithm: 1, memoryCost: 4096, timeCost: 3, parallelism: 1 }));
  const afterImport = await compareWithUnknown(imported, "dave", "a wrong password, imported argon2i hash (m=4096, t=3)");
  await imported.close();
  const sameCost = plain.sameCost && afterRaise.sameCost && afterImport.sameCost;
  const wrongMedian = plain.wrongMedian;

  // Throttled: one failure locks the username; every further attempt must be refused before hashing.
  const guarded = new SessionManager({
    database: `sqlite:${join(dir, "guarded.db")}`,
    throttle: { maxFailures: 1, baseLockoutSeconds: 600 },
  });
  await guarded.createUser("bob", PASSWORD);
  await guarded.authenticateUser("bob", "wrong password, same length..");
  const throttledTimes = [];
  for (let i = 0; i < SAMPLES; i++) {
    throttledTimes.push(await timed(() => guarded.authenticateUser("bob", PASSWORD)));
  }
  await guarded.close();
  const throttledMedian = median(throttledTimes);
  // Far below one hash: a tenth of a wrong password's time leaves room for the database read.
  const noHash = throttledMedian < wrongMedian / 10;
  console.log(
    `  throttled attempt median ${throttledMedian.toFixed(2)} ms (${((throttledMedian / wrongMedian) * 100).toFixed(1)}% of a wrong password): ${noHash ? "does not hash" : "SEEMS TO HASH"}`,
  );
  return sameCost && noHash;
}

const chosen = process.argv.slice(2);
for (const name of chosen) {
  if (!CASES.includes(name)) {
    console.error(`unknown case "${name}": choose from ${CASES.join(", ")}`);
    process.exit(2);
  }
}
const runs = (name) => chosen.length === 0 || chosen.includes(name);
const dir = mkdtempSync(join(tmpdir(), "session-manager-timing-"));
let passed = true;
try {
  if (runs("login")) passed = (await loginTiming(dir)) && passed;
  if (runs("reset")) {
    const reset = await resetRequestTiming({
      dir,
      samples: RESET_SAMPLES,
      controlSamples: RESET_CONTROL_SAMPLES,
      database: process.env.RESET_DATABASE_URL || undefined,
    });
    passed = reset.sameTime && reset.seesLeaks && reset.allMailed && passed;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = passed ? 0 : 1;
