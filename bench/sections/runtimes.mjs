// Section: checkSession on Node.js, Bun and Deno, each against a hand-written floor on the same
// runtime and driver (better-sqlite3, bun:sqlite, node:sqlite), in one process per runtime.
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createSqliteFixture } from "../lib/fixture.mjs";
import { fixed, integer, median, pairedRatio, ratio, table } from "../lib/stats.mjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WORKER = join(ROOT, "bench/runtime-worker.mjs");

/** The command line of each runtime: the dev dependencies' bun and deno beside this Node.js. */
const RUNTIMES = {
  node: { name: "Node.js", command: process.execPath, args: [WORKER] },
  bun: { name: "Bun", command: join(ROOT, "node_modules/.bin/bun"), args: [WORKER] },
  deno: { name: "Deno", command: join(ROOT, "node_modules/.bin/deno"), args: ["run", "--allow-all", WORKER] },
};

function runWorker({ command, args }, workerArgs) {
  return new Promise((resolve, reject) => {
    execFile(command, [...args, ...workerArgs], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(" ")}: ${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split("\n").at(-1)));
    });
  });
}

export async function runtimesSection({ quick, dir, log }) {
  const sessions = 1000;
  const options = quick ? { rounds: 2, batch: 500 } : { rounds: 40, batch: 2000 };
  const fixture = await createSqliteFixture(join(dir, "runtimes.db"), { sessions });
  const tokensFile = join(dir, "runtimes-tokens.json");
  writeFileSync(tokensFile, JSON.stringify(fixture.tokens));
  const rows = [];
  const metrics = {};
  // One runtime at a time: each has the machine to itself while it is measured.
  for (const [key, runtime] of Object.entries(RUNTIMES)) {
    log(`  ${runtime.name}: ${options.rounds} rounds of ${integer(options.batch)}`);
    const result = await runWorker(runtime, [fixture.path, tokensFile, String(options.rounds), String(options.batch)]);
    const floor = median(result.samples.floor);
    const checkSession = median(result.samples.checkSession);
    const checkVsFloor = pairedRatio(result.samples.floor, result.samples.checkSession);
    metrics[key] = { driver: result.driver, version: result.version, floor, checkSession, checkVsFloor };
    const us = (opsPerSecond) => fixed(1e6 / opsPerSecond);
    rows.push([
      `${runtime.name} ${result.version}`,
      result.driver,
      `${integer(floor)} (${us(floor)} us)`,
      `${integer(checkSession)} (${us(checkSession)} us)`,
      ratio(checkVsFloor),
    ]);
  }
  return {
    title: `Runtimes: checkSession on Node.js, Bun and Deno, SQLite with ${integer(sessions)} live sessions, medians of ${options.rounds} interleaved rounds of ${integer(options.batch)}`,
    table: table(["runtime", "SQLite driver", "hand-written floor ops/s", "checkSession ops/s", "checkSession time vs floor"], rows),
    notes: [
      "Each runtime runs in a process of its own, one after the other, on one fixture file (the same file format under every driver).",
      "Floor: the core section's hand-written check (sha256 of the token, one cached statement joining session and user, the expiry check, the same `{ user, session }` objects, called synchronously) on the runtime's own driver, opened by hand: better-sqlite3 on Node.js, bun:sqlite on Bun, node:sqlite on Deno. checkSession: a SessionManager with its default driver, which is the same one.",
      "Ratios are the median over rounds of each round's ratio, within one runtime; compare runtimes by their ratios, not by their ops/s across processes.",
    ],
    metrics,
    commands: Object.values(RUNTIMES).map(({ command, args }) => `${command} ${args.join(" ")} FIXTURE TOKENS ROUNDS BATCH`),
  };
}
