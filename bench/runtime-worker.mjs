// checkSession against the hand-written floor on the runtime this process runs on, for the
// runtimes section: `node|bun|deno bench/runtime-worker.mjs FIXTURE TOKENS ROUNDS BATCH`.
// FIXTURE: a SQLite file made by createSqliteFixture; TOKENS: a JSON file of its live tokens.
// The manager opens it with the runtime's default driver, the floor with the same driver by hand
// (better-sqlite3 on Node.js, bun:sqlite on Bun, node:sqlite on Deno), both measured in the same
// rounds. Prints `{ runtime, version, driver, samples }` as JSON.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { SessionManager } from "session-manager";
import { handWrittenCheck } from "./lib/floor.mjs";
import { measure } from "./lib/rounds.mjs";

const [fixture, tokensFile, rounds, batch] = process.argv.slice(2);
const tokens = JSON.parse(readFileSync(tokensFile, "utf8"));
const runtime = typeof process.versions.bun === "string" ? "bun" : "Deno" in globalThis ? "deno" : "node";
const version = { bun: process.versions.bun, deno: process.versions.deno, node: process.versions.node }[runtime];

/** The runtime's own driver, opened by hand as an application would. */
async function openByHand(path) {
  if (runtime === "bun") {
    const { Database } = await import("bun:sqlite");
    return new Database(path);
  }
  if (runtime === "deno") {
    const { DatabaseSync } = await import("node:sqlite");
    return new DatabaseSync(path);
  }
  const BetterSqlite3 = createRequire(import.meta.url)("better-sqlite3");
  return new BetterSqlite3(path);
}

const sm = new SessionManager({ database: `sqlite:${fixture}`, autoMigrate: false });
const raw = await openByHand(fixture);
raw.exec("pragma journal_mode = WAL");
const floor = handWrittenCheck(raw);
try {
  const samples = await measure(
    {
      floor: { operation: (token) => floor(token), tokens },
      checkSession: { operation: (token) => sm.checkSession(token), tokens },
    },
    { rounds: Number(rounds), batch: Number(batch) },
  );
  process.stdout.write(`${JSON.stringify({ runtime, version, driver: sm.driver, samples })}\n`);
} finally {
  raw.close();
  await sm.close();
}
