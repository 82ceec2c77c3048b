import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// Runs the benchmark suite in its quick mode to show that it still works end to end. It checks
// that every section prints its table and that the report is written; never the figures, which
// mean nothing at these sizes. The server databases' section runs on the test servers when their
// URLs are set, as in CI.
describe("benchmark suite", () => {
  const dir = mkdtempSync(join(tmpdir(), "session-manager-bench-smoke-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("runs in quick mode and prints every table", async () => {
    const out = join(dir, "RESULTS.md");
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ["bench/run.mjs", "--quick", "--out", out],
        { cwd: join(__dirname, "..", ".."), timeout: 110_000, maxBuffer: 8 * 1024 * 1024 },
        (error, output, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(output)),
      );
    });
    for (const heading of [
      "HTTP: authenticated GET /me",
      "Core: operations per second",
      "Runtimes: checkSession on Node.js, Bun and Deno",
      "PostgreSQL and MySQL: checkSession in-process",
      "PostgreSQL and MySQL over HTTP: authenticated GET /me",
      "Logins:",
      "Memory:",
      "Address throttle:",
      "Targets",
    ]) {
      expect(stdout).toContain(heading);
    }
    for (const framework of ["express", "koa", "hono"]) expect(stdout).toMatch(new RegExp(`^${framework}\\s+[\\d,]+`, "m"));
    expect(stdout).toContain("checkSession time vs hand-written cached statement");
    for (const [runtime, driver] of [
      ["Node.js", "better-sqlite3"],
      ["Bun", "bun:sqlite"],
      ["Deno", "node:sqlite"],
    ]) {
      expect(stdout).toMatch(new RegExp(`^${runtime} [\\d.]+\\s+${driver}\\s+[\\d,]+`, "m"));
      expect(stdout).toContain(`checkSession time vs hand-written floor on ${runtime} (${driver})`);
    }
    expect(stdout).toContain("database work added per failed login by the address throttle");
    if (process.env.SESSION_BENCH_POSTGRES_URL ?? process.env.SESSION_TEST_POSTGRES_URL) {
      expect(stdout).toContain("express adapter req/s vs prepared-statement floor (PostgreSQL)");
      expect(stdout).toMatch(/^PostgreSQL\s+express\s+express-session \+ connect-pg-simple\s+[\d,]+/m);
    }
    if (process.env.SESSION_BENCH_MYSQL_URL ?? process.env.SESSION_TEST_MYSQL_URL) {
      expect(stdout).toContain("hono adapter req/s vs prepared-statement floor (MySQL)");
    }
    const report = readFileSync(out, "utf8");
    expect(report).toContain("# Benchmark results");
    expect(report).toContain("| target | measured | goal | result |");
  }, 120_000);
});
