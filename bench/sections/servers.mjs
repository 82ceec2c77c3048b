// Section: checkSession on PostgreSQL and MySQL, in-process and one call at a time, beside a
// hand-written prepared statement on the same driver and pool size; the 1k → 1M table ratio; and
// validations per second with 1, 2 and 4 app processes against one PostgreSQL.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { SessionManager } from "session-manager";
import { measure, medians } from "../lib/rounds.mjs";
import { SERVER_NAMES, createServerFixture, notRun, runPrefix, serverFloor } from "../lib/server-fixture.mjs";
import { fixed, integer, pairedRatio, ratio, table } from "../lib/stats.mjs";

const WORKER = fileURLToPath(new URL("../validation-worker.mjs", import.meta.url));

/** Floor and checkSession on a small and a large table of one server, all in the same rounds. */
async function serverRuns(kind, url, sizes, options, log) {
  const opened = [];
  const subjects = {};
  const footprints = {};
  try {
    for (const sessions of sizes) {
      log(`  ${SERVER_NAMES[kind]}: filling a table with ${integer(sessions)} sessions`);
      const prefix = runPrefix(sessions);
      const fixture = await createServerFixture(kind, url, prefix, { sessions });
      const sm = new SessionManager({ database: url, tablePrefix: prefix, autoMigrate: false });
      const floor = serverFloor(kind, url, prefix);
      opened.push({ sm, floor, fixture });
      footprints[sessions] = await fixture.footprint();
      subjects[`floor ${sessions}`] = { operation: (token) => floor.check(token), tokens: fixture.tokens };
      subjects[`checkSession ${sessions}`] = { operation: (token) => sm.checkSession(token), tokens: fixture.tokens };
    }
    log(`  ${SERVER_NAMES[kind]}: measuring`);
    return { samples: await measure(subjects, options), footprints };
  } finally {
    for (const { sm, floor, fixture } of opened) {
      await sm.close();
      await floor.end();
      await fixture.drop();
    }
  }
}

/** Starts `processes` workers, lets them warm up, then measures them all at once. */
async function scaling(url, processes, { sessions, inFlight, seconds }) {
  const prefix = runPrefix("scaling");
  const fixture = await createServerFixture("postgres", url, prefix, { sessions });
  try {
    const workers = Array.from({ length: processes }, () => {
      const child = spawn(process.execPath, [WORKER, url, prefix, String(sessions), String(inFlight), String(seconds)], {
        stdio: ["pipe", "pipe", "inherit"],
      });
      child.stdout.setEncoding("utf8");
      const lines = [];
      let buffered = "";
      const waiters = [];
      child.stdout.on("data", (chunk) => {
        buffered += chunk;
        let newline;
        while ((newline = buffered.indexOf("\n")) !== -1) {
          lines.push(buffered.slice(0, newline));
          buffered = buffered.slice(newline + 1);
          waiters.shift()?.();
        }
      });
      const exited = new Promise((resolve, reject) =>
        child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`validation worker exited with ${code}`)))),
      );
      const line = async (index) => {
        while (lines.length <= index) await Promise.race([new Promise((resolve) => waiters.push(resolve)), exited]);
        return lines[index];
      };
      return { child, line, exited };
    });
    await Promise.all(workers.map((worker) => worker.line(0)));
    for (const worker of workers) worker.child.stdin.write("go\n");
    const results = await Promise.all(workers.map(async (worker) => JSON.parse(await worker.line(1))));
    await Promise.all(workers.map((worker) => worker.exited));
    return results.reduce((sum, result) => sum + result.validations / result.seconds, 0);
  } finally {
    await fixture.drop();
  }
}

export async function serversSection({ quick, postgresUrl, mysqlUrl, log }) {
  const small = 1000;
  const large = quick ? 2000 : 1_000_000;
  const options = quick ? { rounds: 2, batch: 200 } : { rounds: 30, batch: 1000 };
  const servers = Object.entries({ postgres: postgresUrl, mysql: mysqlUrl }).filter(([, url]) => url);
  const rows = [];
  const metrics = { sizes: { small, large } };
  const us = (opsPerSecond) => 1e6 / opsPerSecond;
  for (const [kind, url] of servers) {
    const { samples, footprints } = await serverRuns(kind, url, [small, large], options, log);
    const of = (name, sessions) => samples[`${name} ${sessions}`];
    const m = {};
    for (const sessions of [small, large]) {
      const r = { ...medians({ floor: of("floor", sessions), checkSession: of("checkSession", sessions) }) };
      r.checkVsFloor = pairedRatio(of("floor", sessions), of("checkSession", sessions));
      m[sessions === small ? "small" : "large"] = r;
      rows.push([
        `${SERVER_NAMES[kind]}, ${integer(sessions)} sessions`,
        `${integer(r.floor)} (${fixed(us(r.floor))} us)`,
        `${integer(r.checkSession)} (${fixed(us(r.checkSession))} us)`,
        ratio(r.checkVsFloor),
      ]);
    }
    m.largeVsSmall = pairedRatio(of("checkSession", small), of("checkSession", large));
    m.floorLargeVsSmall = pairedRatio(of("floor", small), of("floor", large));
    m.footprint = footprints[large];
    metrics[kind] = m;
  }
  const notes = [
    "In-process, one call at a time: each figure is a round trip to the server on this machine. Ratios are the median over rounds of each round's ratio; both table sizes are measured in the same rounds.",
    "Floor: sha256 of the token and the library's lookup (session joined to user, the same columns) as a prepared statement on the same driver, on a pool of the library's default size (10): a named statement with `pool.query` on pg, `pool.execute` on mysql2; then the expiry check and the same `{ user, session }` objects.",
  ];
  for (const [kind] of servers) {
    const m = metrics[kind];
    const mb = (bytes) => `${integer(bytes / 2 ** 20)} MB`;
    notes.push(
      `${SERVER_NAMES[kind]}: checkSession on ${integer(large)} live sessions vs ${integer(small)}: ${ratio(m.largeVsSmall)} (the floor: ${ratio(m.floorLargeVsSmall)}). ` +
        `The ${integer(large)}-session table with its indexes takes ${mb(m.footprint.tableBytes)}; the server's ${m.footprint.cacheName} is ${mb(m.footprint.cacheBytes)}.`,
    );
  }
  for (const kind of Object.keys(SERVER_NAMES)) {
    if (!metrics[kind]) notes.push(notRun(kind));
  }
  if (postgresUrl) {
    const settings = quick ? { sessions: small, inFlight: 10, seconds: 0.3 } : { sessions: 10_000, inFlight: 10, seconds: 5 };
    metrics.scaling = {};
    for (const processes of [1, 2, 4]) {
      log(`  PostgreSQL: ${processes} app process(es) validating at once`);
      metrics.scaling[processes] = await scaling(postgresUrl, processes, settings);
    }
    const s = metrics.scaling;
    notes.push(
      `Validations per second against one PostgreSQL, each app process keeping ${settings.inFlight} checkSession calls in flight for ${settings.seconds} s on ${integer(settings.sessions)} sessions: ` +
        `1 process ${integer(s[1])}, 2 processes ${integer(s[2])} (${ratio(s[2] / s[1])}), 4 processes ${integer(s[4])} (${ratio(s[4] / s[1])}). ` +
        "The app processes and the server share this machine's cores, so the figures stop growing once they are all busy.",
    );
  }
  return {
    title: `PostgreSQL and MySQL: checkSession in-process, one at a time, medians of ${options.rounds} interleaved rounds of ${integer(options.batch)}`,
    table: table(["database", "prepared-statement floor ops/s", "checkSession ops/s", "checkSession time vs floor"], rows),
    notes,
    metrics,
    commands: [],
  };
}
