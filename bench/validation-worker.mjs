// One app process validating sessions against a server database, for the scaling figures:
// `node bench/validation-worker.mjs URL PREFIX SESSIONS IN_FLIGHT SECONDS`.
// Warms up, prints "ready", waits for a line on stdin, then keeps IN_FLIGHT checkSession calls
// going for SECONDS and prints `{"validations":N,"seconds":S}`.
import { createInterface } from "node:readline";
import { SessionManager } from "session-manager";
import { tokenOf } from "./lib/server-fixture.mjs";

const [url, tablePrefix, sessions, inFlight, seconds] = process.argv.slice(2);
const count = Number(sessions);
const sm = new SessionManager({ database: url, tablePrefix, autoMigrate: false });
let next = 0;
const token = () => tokenOf(next++ % count);

async function run(until) {
  let validations = 0;
  const lane = async () => {
    while (performance.now() < until) {
      if ((await sm.checkSession(token())) === null) throw new Error("a live session was refused: the benchmark is broken");
      validations++;
    }
  };
  await Promise.all(Array.from({ length: Number(inFlight) }, lane));
  return validations;
}

// As long as the measurement, up to a second: long enough for the JIT and the pool to settle.
await run(performance.now() + Math.min(1, Number(seconds)) * 1000);
process.stdout.write("ready\n");
const lines = createInterface({ input: process.stdin });
await new Promise((resolve) => lines.once("line", resolve));
const start = performance.now();
const validations = await run(start + Number(seconds) * 1000);
process.stdout.write(`${JSON.stringify({ validations, seconds: (performance.now() - start) / 1000 })}\n`);
lines.close();
await sm.close();
