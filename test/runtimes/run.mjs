// `npm run test:runtimes`: the suites whose outcome can depend on the runtime, run on Bun (`bun
// test`) and Deno (`deno test` with jest's globals from deno-jest-globals.ts), the same files jest
// runs on Node.js: the SQLite drivers, dialect and synchronous read path, the core of sessions,
// users and login on SQLite and a server, both server drivers, and the Hono HTTP suite on
// Bun.serve and Deno.serve. (The Hono example's smoke test starts it under all three runtimes from
// jest: test/examples.) Bun and Deno run at once, each its runs in turn; a runtime's output is
// printed when it is done. Tests that cannot run on a runtime are listed in exclusions.json and
// printed with their reason. The last line adds up what ran.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BIN = join(ROOT, "node_modules", ".bin");

const CORE = [
  "test/core/sqlite-drivers.test.ts",
  "test/core/sqlite-dialect.test.ts",
  "test/core/validation-path.test.ts",
  "test/core/sessions.test.ts",
  "test/core/users.test.ts",
  "test/core/lifecycle.test.ts",
  "test/core/migrations.test.ts",
  "test/core/passwords.test.ts",
  "test/core/connections.test.ts",
];

/**
 * Each runtime's runs: files and the database rows (SESSION_TEST_DATABASES) they run on. The core
 * runs on both SQLite rows and PostgreSQL; MySQL, the slowest row, gets the connection and
 * validation-path suites. Each runtime adds a suite of crypto-heavy workflows: two-factor
 * (AES-GCM secrets, TOTP) on Bun, account recovery (one-time tokens) on Deno.
 */
const RUNS = {
  bun: [
    { files: [...CORE, "test/core/two-factor.test.ts"], databases: "sqlite-memory,sqlite-file,postgres" },
    { files: ["test/core/connections.test.ts", "test/core/validation-path.test.ts"], databases: "mysql" },
    { files: ["test/http/hono.test.ts"], databases: "sqlite-file" },
  ],
  deno: [
    { files: [...CORE, "test/core/recovery.test.ts"], databases: "sqlite-memory,sqlite-file,postgres" },
    { files: ["test/core/connections.test.ts", "test/core/validation-path.test.ts"], databases: "mysql" },
    { files: ["test/http/hono.test.ts"], databases: "sqlite-file" },
  ],
};

const { exclusions } = JSON.parse(readFileSync(join(ROOT, "test/runtimes/exclusions.json"), "utf8"));

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function command(runtime, files) {
  if (runtime === "bun") {
    const args = ["test", "--timeout", "60000"];
    const excluded = exclusions.filter((exclusion) => exclusion.runtimes.includes("bun"));
    // Bun matches the pattern against the describe and test titles joined by spaces.
    if (excluded.length > 0) {
      const titles = excluded.map((exclusion) => escapeRegExp(exclusion.title.replaceAll(" > ", " ").trim()));
      args.push("--test-name-pattern", `^(?!.*(?:${titles.join("|")}))`);
    }
    return [join(BIN, "bun"), [...args, ...files.map((file) => `./${file}`)]];
  }
  const args = ["test", "--allow-all", "--no-check", "--unstable-sloppy-imports"];
  args.push("--import-map", "test/runtimes/deno-imports.json", "--preload", "test/runtimes/deno-jest-globals.ts");
  return [join(BIN, "deno"), [...args, ...files]];
}

function run(runtime, { files, databases }) {
  const [program, args] = command(runtime, files);
  return new Promise((resolve) => {
    const child = spawn(program, args, {
      cwd: ROOT,
      env: { ...process.env, SESSION_TEST_DATABASES: databases, NO_COLOR: "1", FORCE_COLOR: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("close", (code, signal) => resolve({ output, ok: code === 0, status: code ?? signal }));
  });
}

/** The passed, failed and skipped counts of one run's output. */
function countsOf(runtime, output) {
  const number = (pattern) => Number(pattern.exec(output)?.[1] ?? 0);
  if (runtime === "bun")
    return { passed: number(/^\s*(\d+) pass$/m), failed: number(/^\s*(\d+) fail$/m), skipped: number(/^\s*(\d+) skip$/m) };
  // Deno runs each file in an isolate of its own, and the preload prints a line for each.
  const lines = [...output.matchAll(/^deno tests: (\d+) passed, (\d+) failed, (\d+) skipped$/gm)];
  if (lines.length === 0) return null;
  const sum = (index) => lines.reduce((total, line) => total + Number(line[index]), 0);
  return { passed: sum(1), failed: sum(2), skipped: sum(3) };
}

async function runRuntime(runtime) {
  const started = Date.now();
  let report = "";
  const total = { passed: 0, failed: 0, skipped: 0 };
  let ok = true;
  for (const exclusion of exclusions.filter((entry) => entry.runtimes.includes(runtime))) {
    report += `EXCLUDED on ${runtime}: "${exclusion.title}": ${exclusion.reason}\n`;
  }
  for (const entry of RUNS[runtime]) {
    const runStarted = Date.now();
    const result = await run(runtime, entry);
    const counts = countsOf(runtime, result.output);
    const seconds = ((Date.now() - runStarted) / 1000).toFixed(1);
    report += `\n=== ${runtime}: ${entry.files.join(" ")} (databases ${entry.databases}): ${seconds} s\n${result.output}`;
    if (!result.ok || counts === null) {
      ok = false;
      report += `\n${runtime} exited with ${result.status}${counts === null ? " and no test count" : ""}\n`;
    }
    if (counts !== null) for (const key of Object.keys(total)) total[key] += counts[key];
  }
  report += `\n${runtime}: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped in ${((Date.now() - started) / 1000).toFixed(1)} s\n`;
  return { report, total, ok };
}

const runtimes = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ["bun", "deno"];
const started = Date.now();
const results = await Promise.all(runtimes.map((runtime) => runRuntime(runtime)));
const total = { passed: 0, failed: 0, skipped: 0 };
for (const result of results) {
  process.stdout.write(result.report);
  for (const key of Object.keys(total)) total[key] += result.total[key];
}
const ok = results.every((result) => result.ok);
process.stdout.write(`\nBun and Deno took ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
process.stdout.write(`runtimes: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped\n`);
process.exitCode = ok ? 0 : 1;
