// Jest's globals for `deno test`, so that Deno runs the very test files jest runs on Node.js:
// describe/it and the hooks map onto node:test (which Deno runs as Deno.test steps), `expect` is
// jest's own package, and `jest.fn`/`jest.spyOn` come from jest-mock. Loaded with `--preload`.
// Tests excluded on Deno (exclusions.json) are registered as skipped, with their reason printed;
// at exit it prints how many tests passed, failed and were skipped, for run.mjs to add up.
import { readFileSync } from "node:fs";
import { format } from "node:util";
import * as nodeTest from "node:test";
import { expect } from "expect";
import { ModuleMocker } from "jest-mock";

interface Exclusion {
  runtimes: string[];
  title: string;
  reason: string;
}

const { exclusions } = JSON.parse(readFileSync(new URL("./exclusions.json", import.meta.url), "utf8")) as { exclusions: Exclusion[] };

/** Why the test of that full title is excluded on Deno, or null when it runs. */
function exclusionOf(title: string): string | null {
  return exclusions.find((exclusion) => exclusion.runtimes.includes("deno") && title.includes(exclusion.title))?.reason ?? null;
}

const counts = { passed: 0, failed: 0, skipped: 0 };
// Deno's test runner ends with "unload" (its process "exit" event does not come).
(globalThis as unknown as { addEventListener(type: "unload", listener: () => void): void }).addEventListener("unload", () => {
  process.stdout.write(`\ndeno tests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
});

type Body = (...args: unknown[]) => unknown;

/** Jest's test timeout in package.json; node:test has none by default. */
const TIMEOUT_MS = 60_000;

// The titles of the describe blocks being defined, to name tests as jest and bun do ("a > b > c").
const path: string[] = [];

function fullTitle(name: string): string {
  return [...path, name].join(" > ");
}

function defineDescribe(name: string, body: () => void, skip = false): void {
  const run = (): void => {
    path.push(name);
    try {
      body();
    } finally {
      path.pop();
    }
  };
  // node:test's describe returns a promise of the suite's end, which its runner awaits.
  if (skip) void nodeTest.describe.skip(name, run);
  else void nodeTest.describe(name, run);
}

function defineTest(name: string, body: Body | undefined, skip = false): void {
  const excluded = exclusionOf(fullTitle(name));
  if (excluded !== null) {
    process.stderr.write(`EXCLUDED on Deno: ${fullTitle(name)}: ${excluded}\n`);
    counts.skipped++;
    void nodeTest.it.skip(`${name} (excluded on Deno: ${excluded})`, () => {});
    return;
  }
  if (skip || body === undefined) {
    counts.skipped++;
    void nodeTest.it.skip(name, () => {});
    return;
  }
  // Jest passes a `done` callback to a function of one parameter; these tests use none.
  void nodeTest.it(name, { timeout: TIMEOUT_MS }, async () => {
    try {
      await body();
      counts.passed++;
    } catch (error) {
      counts.failed++;
      throw error;
    }
  });
}

/** `it.each(table)(title, body)`: one test per row, the title formatted as jest does (%p, %s, %i…). */
function each(define: (name: string, body: Body) => void) {
  return (table: ReadonlyArray<unknown>) =>
    (title: string, body: Body): void => {
      for (const row of table) {
        const args = Array.isArray(row) ? row : [row];
        define(format(title.replace(/%p/g, "%o"), ...args), () => body(...args));
      }
    };
}

function it(name: string, body?: Body): void {
  defineTest(name, body);
}
it.skip = (name: string, body?: Body): void => defineTest(name, body, true);
it.each = each((name, body) => defineTest(name, body));

function describe(name: string, body: () => void): void {
  defineDescribe(name, body);
}
describe.skip = (name: string, body: () => void): void => defineDescribe(name, body, true);
describe.each = each((name, body) => defineDescribe(name, body));

const mocker = new ModuleMocker(globalThis);
const jest = {
  fn: mocker.fn.bind(mocker),
  spyOn: mocker.spyOn.bind(mocker),
  restoreAllMocks: (): void => mocker.restoreAllMocks(),
  clearAllMocks: (): void => mocker.clearAllMocks(),
};

const withTimeout =
  (hook: (fn: () => unknown, options: { timeout: number }) => void) =>
  (fn: () => unknown): void =>
    hook(fn, { timeout: TIMEOUT_MS });

Object.assign(globalThis, {
  describe,
  it,
  test: it,
  expect,
  jest,
  beforeAll: withTimeout(nodeTest.before),
  afterAll: withTimeout(nodeTest.after),
  beforeEach: withTimeout(nodeTest.beforeEach),
  afterEach: withTimeout(nodeTest.afterEach),
});
