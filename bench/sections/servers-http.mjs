// Section: authenticated GET /me over HTTP with the session on PostgreSQL and on MySQL, through
// our Express and Hono adapters, against a hand-written prepared-statement check served the same
// way; and on PostgreSQL, with Express, the alternatives a user would pick there: Lucia v3 and
// express-session with connect-pg-simple. Each server is a process of its own.
import { fileURLToPath } from "node:url";
import { SessionManager } from "session-manager";
import { createAlternativeTables } from "../lib/alternatives-fixture.mjs";
import { commandLine, runLoad } from "../lib/load.mjs";
import { SERVER_NAMES, createServerFixture, notRun, runPrefix } from "../lib/server-fixture.mjs";
import { request, startServerScript } from "../lib/servers.mjs";
import { fixed, integer, median, pairedRatio, ratio, table } from "../lib/stats.mjs";

const SERVER = fileURLToPath(new URL("../servers-http-server.mjs", import.meta.url));
const LABELS = {
  floor: "prepared-statement floor",
  ours: "session-manager",
  lucia: "Lucia v3 + @lucia-auth/adapter-postgresql",
  "express-session": "express-session + connect-pg-simple",
  "express-session-no-touch": "express-session + connect-pg-simple, disableTouch",
};
const ALTERNATIVE_VARIANTS = ["lucia", "express-session", "express-session-no-touch"];
const CONNECTIONS = 10;
const PREFIX = runPrefix("http");
const SESSIONS = 1000;

/** The servers of one database: ours and the floor on both frameworks, the alternatives on PostgreSQL. */
function plan(kind) {
  const servers = [];
  for (const framework of ["express", "hono"]) for (const variant of ["floor", "ours"]) servers.push({ kind, framework, variant });
  if (kind === "postgres") for (const variant of ALTERNATIVE_VARIANTS) servers.push({ kind, framework: "express", variant });
  return servers;
}

const load = (generator, server, seconds) =>
  runLoad(generator, { url: `${server.url}/me`, connections: CONNECTIONS, seconds, headers: server.headers });

export async function serversHttpSection({ quick, generator, postgresUrl, mysqlUrl, log }) {
  const rounds = quick ? 1 : 8;
  const seconds = quick ? 1 : 2;
  const title = quick
    ? `PostgreSQL and MySQL over HTTP: authenticated GET /me, ${CONNECTIONS} connections, every server loaded at once for ${seconds} s (quick mode)`
    : `PostgreSQL and MySQL over HTTP: authenticated GET /me, ${CONNECTIONS} connections, ${rounds} interleaved rounds of ${seconds} s (each after 1 s of unmeasured load), medians`;
  const databases = Object.entries({ postgres: postgresUrl, mysql: mysqlUrl }).filter(([, url]) => url);
  const skipped = Object.keys(SERVER_NAMES)
    .filter((kind) => !databases.some(([k]) => k === kind))
    .map(notRun);
  const header = ["database", "framework", "server", "req/s", "vs floor", "vs ours", "p99 ms"];
  if (databases.length === 0) {
    log("  no PostgreSQL or MySQL URL: skipped");
    return { title, table: table(header, []), notes: skipped, metrics: {}, commands: [] };
  }

  const fixtures = [];
  const tokens = {};
  const servers = [];
  try {
    for (const [kind, url] of databases) {
      log(`  ${SERVER_NAMES[kind]}: creating the tables`);
      const fixture = await createServerFixture(kind, url, PREFIX, { sessions: SESSIONS, sample: 1 });
      fixtures.push(fixture);
      tokens[kind] = fixture.tokens[0];
      const cookies = { floor: `session=${fixture.tokens[0]}`, ours: `session=${fixture.tokens[0]}` };
      if (kind === "postgres") {
        const alternatives = await createAlternativeTables(url, PREFIX);
        fixtures.push(alternatives);
        cookies.lucia = alternatives.lucia;
        cookies["express-session"] = alternatives.expressSession;
        cookies["express-session-no-touch"] = alternatives.expressSession;
      }
      const started = await Promise.allSettled(
        plan(kind).map((s) =>
          startServerScript(SERVER, [s.framework, s.variant, url, PREFIX], { ...s, headers: { Cookie: cookies[s.variant] } }),
        ),
      );
      for (const outcome of started) if (outcome.status === "fulfilled") servers.push(outcome.value);
      const failed = started.find((outcome) => outcome.status === "rejected");
      if (failed) throw failed.reason;
    }

    // Every server answers the same user; ours and its floor the very same JSON.
    const bodies = new Map();
    for (const server of servers) {
      const { status, body } = await request(`${server.url}/me`, { headers: server.headers });
      if (status !== 200 || typeof body?.username !== "string") {
        throw new Error(
          `${SERVER_NAMES[server.kind]} ${server.framework}/${server.variant}: GET /me answered ${status}, not 200 with a user`,
        );
      }
      bodies.set(server, JSON.stringify(body));
    }
    for (const server of servers.filter((s) => s.variant === "ours")) {
      const floor = servers.find((s) => s.kind === server.kind && s.framework === server.framework && s.variant === "floor");
      if (bodies.get(server) !== bodies.get(floor)) {
        throw new Error(
          `${SERVER_NAMES[server.kind]} ${server.framework}: ours answered ${bodies.get(server)}, the floor ${bodies.get(floor)}`,
        );
      }
    }

    const samples = new Map(servers.map((server) => [server, []]));
    const record = (server, result) => {
      if (result.errors > 0)
        throw new Error(`${SERVER_NAMES[server.kind]} ${server.framework}/${server.variant}: ${result.errors} failed requests`);
      samples.get(server).push(result);
    };
    if (quick) {
      // Only to show that every server works under load: the figures mean nothing.
      const results = await Promise.all(servers.map((server) => load(generator, server, seconds)));
      servers.forEach((server, i) => record(server, results[i]));
    } else {
      for (const server of servers) {
        log(`  warming up ${SERVER_NAMES[server.kind]} ${server.framework}/${server.variant}`);
        await load(generator, server, 2);
      }
      for (let round = 0; round < rounds; round++) {
        // Rotating the order keeps any drift of the machine from favouring one configuration.
        const order = servers.map((_, i) => servers[(i + round * 7) % servers.length]);
        for (const server of order) {
          // An idle server's V8 has shrunk its young generation: a second of load brings it back.
          await load(generator, server, 1);
          record(server, await load(generator, server, seconds));
        }
        log(`  round ${round + 1}/${rounds} done`);
      }
    }

    // Revocation from another process must be seen by ours and the floor on their next request.
    const refused = [];
    for (const [kind, url] of databases) {
      const revoker = new SessionManager({ database: url, tablePrefix: PREFIX, autoMigrate: false });
      try {
        await revoker.revokeSession(tokens[kind]);
      } finally {
        await revoker.close();
      }
      for (const server of servers.filter((s) => s.kind === kind && (s.variant === "ours" || s.variant === "floor"))) {
        const { status } = await request(`${server.url}/me`, { headers: server.headers });
        refused.push({ server: `${SERVER_NAMES[kind]} ${server.framework}/${server.variant}`, status });
      }
    }

    const rows = [];
    const metrics = {};
    const rps = (server) => samples.get(server).map((sample) => sample.rps);
    for (const [kind] of databases) {
      const of = (framework, variant) => servers.find((s) => s.kind === kind && s.framework === framework && s.variant === variant);
      const m = {};
      for (const framework of ["express", "hono"]) {
        const floor = of(framework, "floor");
        const ours = of(framework, "ours");
        m[framework] = {
          floorRps: median(rps(floor)),
          oursRps: median(rps(ours)),
          oursVsFloor: pairedRatio(rps(ours), rps(floor)),
        };
        for (const server of [floor, ours]) {
          rows.push([
            SERVER_NAMES[kind],
            framework,
            LABELS[server.variant],
            integer(median(rps(server))),
            server === ours ? ratio(m[framework].oursVsFloor) : "",
            "",
            fixed(median(samples.get(server).map((s) => s.p99Ms))),
          ]);
        }
      }
      for (const variant of ALTERNATIVE_VARIANTS) {
        const server = of("express", variant);
        if (!server) continue;
        m[variant] = {
          rps: median(rps(server)),
          vsFloor: pairedRatio(rps(server), rps(of("express", "floor"))),
          vsOurs: pairedRatio(rps(server), rps(of("express", "ours"))),
        };
        rows.push([
          SERVER_NAMES[kind],
          "express",
          LABELS[variant],
          integer(m[variant].rps),
          ratio(m[variant].vsFloor),
          ratio(m[variant].vsOurs),
          fixed(median(samples.get(server).map((s) => s.p99Ms))),
        ]);
      }
      metrics[kind] = m;
    }
    const revokedOk = refused.every((r) => r.status === 401);
    metrics.revokedOk = revokedOk;
    return {
      title,
      table: table(header, rows),
      notes: [
        "Floor: the same framework and route with a hand-written check: sha256 of the cookie token, the library's lookup (session joined to user, the same columns) as a prepared statement (a named statement on a `pg` Pool, `pool.execute` on a mysql2 pool, both of 10 connections, the library's default), the expiry check and the same user object; ours answers the same JSON. Ratios are the median over rounds of each round's ratio of req/s.",
        "Alternatives, on PostgreSQL with Express and pools of 10: Lucia v3 with NodePostgresAdapter and the Express middleware of its guide (Origin check on non-GET, readSessionCookie, validateSession, which runs its session and user queries at once on two connections); express-session with connect-pg-simple as their READMEs advise for production (resave and saveUninitialized off, 30-day cookie), the session carrying the user id and the user loaded by it. express-session calls the store's touch on every request it does not save, so connect-pg-simple, as configured by default, UPDATEs the session's expiry on each GET; its disableTouch option (off by default) skips that write, and the row after it is measured with it on. Nothing else writes: every session was created a minute before the run.",
        `Revocation through another process, then one GET /me per server: ${refused.map((r) => `${r.server} ${r.status}`).join(", ")} (${revokedOk ? "all refused" : "NOT all refused"}).`,
        ...skipped,
      ],
      metrics,
      // Ours and the floor read `session`; Lucia its `auth_session`; express-session a signed `connect.sid`.
      commands: ["session=TOKEN", "auth_session=SESSION_ID", "connect.sid=s%3ASESSION_ID.SIGNATURE"].map((cookie) =>
        commandLine(generator, { url: "http://127.0.0.1:PORT/me", connections: CONNECTIONS, seconds, headers: { Cookie: cookie } }),
      ),
    };
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    for (const fixture of fixtures.reverse()) await fixture.drop();
  }
}
