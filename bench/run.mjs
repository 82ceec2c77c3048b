// The benchmark suite: `npm run bench` (builds first), or `node bench/run.mjs [options]`.
//   --quick            tiny counts and one-second runs, to check that the suite works (not timings)
//   --only LIST        comma-separated sections: http,core,runtimes,servers,servers-http,logins,memory,address (default: all)
//   --out FILE         where to write the Markdown report (default bench/RESULTS.md; --quick writes none)
//   --autocannon       use autocannon even when wrk is installed
//   --postgres URL     the servers sections' PostgreSQL (else SESSION_BENCH_POSTGRES_URL, else SESSION_TEST_POSTGRES_URL)
//   --mysql URL        the servers sections' MySQL/MariaDB (else SESSION_BENCH_MYSQL_URL, else SESSION_TEST_MYSQL_URL)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, release, tmpdir, totalmem, type as osType } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadGenerator } from "./lib/load.mjs";
import { fixed, ratio, table } from "./lib/stats.mjs";
import { addressSection } from "./sections/address.mjs";
import { coreSection } from "./sections/core.mjs";
import { httpSection } from "./sections/http.mjs";
import { loginSection } from "./sections/logins.mjs";
import { memorySection } from "./sections/memory.mjs";
import { runtimesSection } from "./sections/runtimes.mjs";
import { serversHttpSection } from "./sections/servers-http.mjs";
import { serversSection } from "./sections/servers.mjs";

const require = createRequire(import.meta.url);
const SECTIONS = {
  http: httpSection,
  core: coreSection,
  runtimes: runtimesSection,
  servers: serversSection,
  "servers-http": serversHttpSection,
  logins: loginSection,
  memory: memorySection,
  address: addressSection,
};

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    out: { type: "string" },
    autocannon: { type: "boolean", default: false },
    postgres: { type: "string" },
    mysql: { type: "string" },
  },
});
const quick = values.quick;
const names = values.only ? values.only.split(",").map((name) => name.trim()) : Object.keys(SECTIONS);
for (const name of names) if (!(name in SECTIONS)) throw new Error(`unknown section ${name}: use ${Object.keys(SECTIONS).join(",")}`);
const out = values.out ?? (quick ? null : fileURLToPath(new URL("RESULTS.md", import.meta.url)));
const postgresUrl = values.postgres ?? process.env.SESSION_BENCH_POSTGRES_URL ?? process.env.SESSION_TEST_POSTGRES_URL ?? null;
const mysqlUrl = values.mysql ?? process.env.SESSION_BENCH_MYSQL_URL ?? process.env.SESSION_TEST_MYSQL_URL ?? null;
const generator = loadGenerator(values.autocannon ? "autocannon" : "wrk");

function version(name) {
  try {
    return JSON.parse(readFileSync(require.resolve(`${name}/package.json`), "utf8")).version;
  } catch {
    // Packages whose exports hide package.json: find it beside the resolved entry point.
    let dir = require.resolve(name);
    for (;;) {
      const parent = join(dir, "..");
      if (parent === dir) return "?";
      dir = parent;
      try {
        const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
        if (pkg.name === name) return pkg.version;
      } catch {
        // Not installed under this folder: try the next.
      }
    }
  }
}

const log = (line) => process.stderr.write(`${line}\n`);
const dir = mkdtempSync(join(tmpdir(), "session-manager-bench-"));
const started = new Date();
const results = {};
try {
  for (const name of names) {
    log(`${name}…`);
    const section = await SECTIONS[name]({ quick, dir, generator, postgresUrl, mysqlUrl, log });
    results[name] = section;
    process.stdout.write(`\n${section.title}\n\n${section.table.text}\n${section.notes.map((note) => `\n${note}`).join("")}\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const seconds = (Date.now() - started.getTime()) / 1000;

// The targets of the issue, as ratios measured within this one run.
const targets = [];
const target = (name, measured, goal, met) => targets.push([name, measured, goal, met ? "met" : "NOT met"]);
if (results.core) {
  const m = results.core.metrics;
  target("checkSession time vs hand-written cached statement (SQLite)", ratio(m.checkVsFloor), "<= 1.5x", m.checkVsFloor <= 1.5);
  target(
    `validation time on ${m.sizes.large.toLocaleString("en-US")} vs ${m.sizes.small.toLocaleString("en-US")} live sessions`,
    ratio(m.largeVsSmall),
    "<= 1.3x",
    m.largeVsSmall <= 1.3,
  );
}
if (results.runtimes) {
  for (const [runtime, m] of Object.entries(results.runtimes.metrics)) {
    const name = { node: "Node.js", bun: "Bun", deno: "Deno" }[runtime];
    target(`checkSession time vs hand-written floor on ${name} (${m.driver})`, ratio(m.checkVsFloor), "<= 1.5x", m.checkVsFloor <= 1.5);
  }
}
if (results.servers) {
  const m = results.servers.metrics;
  for (const [kind, name] of [
    ["postgres", "PostgreSQL"],
    ["mysql", "MySQL"],
  ]) {
    if (!m[kind]) continue;
    target(
      `checkSession time vs hand-written prepared statement (${name})`,
      ratio(m[kind].small.checkVsFloor),
      "<= 1.3x",
      m[kind].small.checkVsFloor <= 1.3,
    );
    target(
      `validation time on ${m.sizes.large.toLocaleString("en-US")} vs ${m.sizes.small.toLocaleString("en-US")} live sessions (${name})`,
      ratio(m[kind].largeVsSmall),
      "<= 1.3x",
      m[kind].largeVsSmall <= 1.3,
    );
  }
}
if (results.http) {
  const m = results.http.metrics;
  for (const framework of ["express", "hono", "koa"]) {
    const goal = framework === "koa" ? ">= 0.95x (reported)" : ">= 0.95x";
    target(`${framework} adapter req/s vs hand-written floor`, ratio(m[framework].oursVsFloor), goal, m[framework].oursVsFloor >= 0.95);
    if (framework !== "koa") {
      target(
        `${framework} adapter req/s vs physical floor`,
        ratio(m[framework].oursVsPhysical),
        ">= 0.95x",
        m[framework].oursVsPhysical >= 0.95,
      );
    }
  }
  target("revocation seen by every other process on the next request", m.revokedOk ? "yes" : "no", "yes", m.revokedOk);
}
if (results["servers-http"]) {
  const m = results["servers-http"].metrics;
  for (const [kind, name] of [
    ["postgres", "PostgreSQL"],
    ["mysql", "MySQL"],
  ]) {
    if (!m[kind]) continue;
    for (const framework of ["express", "hono"]) {
      target(
        `${framework} adapter req/s vs prepared-statement floor (${name})`,
        ratio(m[kind][framework].oursVsFloor),
        ">= 0.9x",
        m[kind][framework].oursVsFloor >= 0.9,
      );
    }
  }
  if (m.revokedOk !== undefined) {
    const ran = ["postgres", "mysql"].filter((kind) => m[kind]).map((kind) => (kind === "postgres" ? "PostgreSQL" : "MySQL"));
    target(`revocation seen on the next request over HTTP (${ran.join(", ")})`, m.revokedOk ? "yes" : "no", "yes", m.revokedOk);
  }
}
if (results.logins) {
  const m = results.logins.metrics;
  target("GET p99 during login burst vs no logins", ratio(m.getP99Ratio), "<= 1.5x", m.getP99Ratio <= 1.5);
  target("login throughput vs what the hashing lane allows", ratio(m.throughputRatio), ">= 0.8x", m.throughputRatio >= 0.8);
}
if (results.memory) {
  const m = results.memory.metrics;
  // "Flat": less than one byte of retained heap per validation over the run.
  target("heap growth per validation", `${fixed(m.heapPerValidation, 3)} bytes`, "< 1 byte (flat)", m.heapPerValidation < 1);
}
if (results.address) {
  const m = results.address.metrics;
  target(
    "database work added per failed login by the address throttle (SQLite)",
    `${fixed(m.failedAdded, 3)} ms`,
    "<= 2 ms",
    m.failedAdded <= 2,
  );
  target(
    `address rows per address after a flood from ${m.flood.count.toLocaleString("en-US")} addresses`,
    fixed(m.flood.rowsPerAddress, 2),
    "<= 1",
    m.flood.rowsPerAddress <= 1,
  );
}
const summary = table(["target", "measured", "goal", "result"], targets);
const summaryNotes = [];
const serversHttp = results["servers-http"]?.metrics;
if (serversHttp?.postgres || serversHttp?.mysql) {
  const pg = serversHttp.postgres;
  const alternatives = pg
    ? ` Beside them on PostgreSQL, with Express and set up as their docs advise: Lucia v3 at ${ratio(pg.lucia.vsOurs)} and express-session with connect-pg-simple at ${ratio(pg["express-session"].vsOurs)} (${ratio(pg["express-session-no-touch"].vsOurs)} with its disableTouch) of our Express adapter's req/s.`
    : "";
  summaryNotes.push(
    `On PostgreSQL and MySQL the adapters' floor is the same framework and route with a hand-written check on the same driver: the library's lookup as a prepared statement on a pool of the same size, the same user object.${alternatives}`,
  );
}
process.stdout.write(
  `\nTargets (ratios within this run)\n\n${summary.text}\n${summaryNotes.map((note) => `\n${note}\n`).join("")}\nTotal time ${fixed(seconds, 0)} s${quick ? " (quick mode: figures mean nothing)" : ""}\n`,
);

if (out !== null) {
  const cpu = cpus();
  const versions = [
    "session-manager",
    "kysely",
    "better-sqlite3",
    "express",
    "koa",
    "hono",
    "@hono/node-server",
    "@node-rs/argon2",
    "pg",
    "mysql2",
    "lucia",
    "@lucia-auth/adapter-postgresql",
    "express-session",
    "connect-pg-simple",
    "bun",
    "deno",
  ]
    .map((name) => `${name} ${version(name)}`)
    .join(", ");
  const command = `node bench/run.mjs${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(" ")}` : ""}`;
  const md = [
    "# Benchmark results",
    "",
    `Measured ${started.toISOString()} by \`${command}\` (\`npm run bench\`), ${fixed(seconds, 0)} s in all${quick ? ", quick mode: the figures mean nothing" : ""}.`,
    "",
    `- Machine: ${cpu.length} x ${cpu[0]?.model ?? "?"}, ${fixed(totalmem() / 2 ** 30, 1)} GiB, ${osType()} ${release()}`,
    `- Node.js ${process.version}; ${versions}`,
    `- Load generator: ${generator.version}, one thread, in a process of its own; each server in a process of its own`,
    "",
    "## Targets",
    "",
    summary.md,
    "",
    ...summaryNotes.flatMap((note) => [note, ""]),
    ...names.flatMap((name) => {
      const section = results[name];
      return [
        `## ${section.title}`,
        "",
        section.table.md,
        "",
        ...section.notes.flatMap((note) => [note, ""]),
        ...(section.commands.length ? ["Command lines:", "", ...section.commands.map((c) => `    ${c}`), ""] : []),
      ];
    }),
  ].join("\n");
  writeFileSync(out, md);
  log(`wrote ${out}`);
}
