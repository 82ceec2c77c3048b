// Runs validations in a process of its own (started with --expose-gc) and reports heap and RSS
// after a warm-up and after the run: `node --expose-gc bench/memory-child.mjs DATABASE TOKENS_JSON COUNT`.
import { readFileSync } from "node:fs";
import { SessionManager } from "session-manager";

const [file, tokensFile, countArg] = process.argv.slice(2);
const tokens = JSON.parse(readFileSync(tokensFile, "utf8"));
const count = Number(countArg);
const sm = new SessionManager({ database: `sqlite:${file}` });

async function validate(n, offset) {
  for (let i = 0; i < n; i++) {
    if ((await sm.validateSession(tokens[(offset + i) % tokens.length])) === null) throw new Error("a live session was refused");
  }
}

function settle() {
  globalThis.gc();
  globalThis.gc();
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
}

await validate(Math.min(count, 50_000), 0);
const before = settle();
const checkpoints = [];
const step = Math.max(1, Math.floor(count / 4));
for (let done = 0; done < count; done += step) {
  await validate(Math.min(step, count - done), done);
  checkpoints.push(settle());
}
const after = checkpoints.at(-1);
await sm.close();
process.stdout.write(`${JSON.stringify({ count, before, after, checkpoints })}\n`);
