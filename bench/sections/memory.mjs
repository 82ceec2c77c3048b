// Section 4: heap and RSS after many validations, in a fresh process, after full collections.
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createSqliteFixture } from "../lib/fixture.mjs";
import { fixed, integer, megabytes, table } from "../lib/stats.mjs";

const CHILD = fileURLToPath(new URL("../memory-child.mjs", import.meta.url));

export async function memorySection({ quick, dir }) {
  const count = quick ? 4000 : 1_000_000;
  const fixture = await createSqliteFixture(join(dir, "memory.db"), { sessions: 1000 });
  const tokensFile = join(dir, "memory-tokens.json");
  writeFileSync(tokensFile, JSON.stringify(fixture.tokens));
  const output = await new Promise((resolve, reject) => {
    execFile(process.execPath, ["--expose-gc", CHILD, fixture.path, tokensFile, String(count)], (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
    );
  });
  const { before, after, checkpoints } = JSON.parse(output);
  const heapGrowth = after.heapUsed - before.heapUsed;
  const rssGrowth = after.rss - before.rss;
  const rows = [
    [
      "heap used",
      megabytes(before.heapUsed),
      checkpoints.map((c) => megabytes(c.heapUsed)).join(", "),
      megabytes(heapGrowth),
      fixed(heapGrowth / count, 3),
    ],
    ["RSS", megabytes(before.rss), checkpoints.map((c) => megabytes(c.rss)).join(", "), megabytes(rssGrowth), fixed(rssGrowth / count, 3)],
  ];
  return {
    title: `Memory: ${integer(count)} validateSession calls after a warm-up, SQLite, heap after full collections`,
    table: table(["measure", "after warm-up", "at each quarter of the run", "growth", "bytes per validation"], rows),
    notes: [],
    metrics: { count, heapGrowth, rssGrowth, heapPerValidation: heapGrowth / count, rssPerValidation: rssGrowth / count },
    commands: [`node --expose-gc bench/memory-child.mjs DATABASE TOKENS_JSON ${count}`],
  };
}
