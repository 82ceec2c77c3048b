// In-process timing of several subjects side by side: every subject once in every round.
import { performance } from "node:perf_hooks";
import { median } from "./stats.mjs";

const WARM_UP_ROUNDS = 3;

/**
 * Times `batch` calls of each subject per round, every subject once in every round; returns each
 * subject's ops/s per round, so that ratios can be taken between measurements made side by side.
 */
export async function measure(subjects, { rounds, batch }) {
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

export function medians(samples) {
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]));
}
