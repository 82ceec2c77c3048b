// Section 1: authenticated GET /me through each adapter, against the bare framework's constant
// JSON route, the hand-written better-sqlite3 floor on our schema, and the physical floor (the
// least a database-backed opaque-token check can read) on the same framework.
import { join } from "node:path";
import { SessionManager } from "session-manager";
import { createPhysicalFloorFixture, createSqliteFixture } from "../lib/fixture.mjs";
import { commandLine, runLoad } from "../lib/load.mjs";
import { request, startServer } from "../lib/servers.mjs";
import { fixed, integer, median, pairedRatio, ratio, table } from "../lib/stats.mjs";

const FRAMEWORKS = ["express", "koa", "hono"];
const VARIANTS = ["bare", "physical", "floor", "ours"];
const CONNECTIONS = 10;

export async function httpSection({ quick, dir, generator, log }) {
  const rounds = quick ? 1 : 12;
  const seconds = quick ? 1 : 2;
  const fixture = await createSqliteFixture(join(dir, "http.db"), { sessions: 1000 });
  const physicalPath = createPhysicalFloorFixture(fixture.path);
  const token = fixture.tokens[0];
  const headers = { Cookie: `session=${token}` };

  const servers = [];
  try {
    for (const framework of FRAMEWORKS)
      for (const variant of VARIANTS)
        servers.push(await startServer(framework, variant, variant === "physical" ? physicalPath : fixture.path));
    for (const server of servers) {
      const { status } = await request(`${server.url}/me`, { headers });
      if (status !== 200) throw new Error(`${server.framework}/${server.variant}: GET /me answered ${status}, not 200`);
      if (quick) continue;
      log(`  warming up ${server.framework}/${server.variant}`);
      await runLoad(generator, { url: `${server.url}/me`, connections: CONNECTIONS, seconds: 2, headers });
    }

    const samples = new Map(servers.map((server) => [server, []]));
    for (let round = 0; round < rounds; round++) {
      // Rotating the order keeps any drift of the machine from favouring one configuration.
      const order = servers.map((_, i) => servers[(i + round * VARIANTS.length + round) % servers.length]);
      for (const server of order) {
        // A server idle for a while has let V8 shrink its young generation; an unmeasured second
        // of load first brings it back to the steady state a busy server is in.
        if (!quick) await runLoad(generator, { url: `${server.url}/me`, connections: CONNECTIONS, seconds: 1, headers });
        const result = await runLoad(generator, { url: `${server.url}/me`, connections: CONNECTIONS, seconds, headers });
        if (result.errors > 0) throw new Error(`${server.framework}/${server.variant}: ${result.errors} failed requests`);
        samples.get(server).push(result);
      }
      log(`  round ${round + 1}/${rounds} done`);
    }

    // Revocation from another process must be seen by every server on its next request.
    const revoker = new SessionManager({ database: `sqlite:${fixture.path}` });
    await revoker.revokeSession(token);
    await revoker.close();
    const refused = [];
    for (const server of servers.filter((s) => s.variant !== "bare" && s.variant !== "physical")) {
      const { status } = await request(`${server.url}/me`, { headers });
      refused.push({ server: `${server.framework}/${server.variant}`, status });
    }

    const rows = [];
    const metrics = {};
    for (const framework of FRAMEWORKS) {
      const of = (variant) => samples.get(servers.find((s) => s.framework === framework && s.variant === variant));
      const bare = of("bare");
      const floor = of("floor");
      const physical = of("physical");
      const ours = of("ours");
      // Ratios are taken within each round, then the median over rounds.
      const perRound = (a, b) =>
        pairedRatio(
          a.map((sample) => sample.rps),
          b.map((sample) => sample.rps),
        );
      const m = {
        bareRps: median(bare.map((s) => s.rps)),
        floorRps: median(floor.map((s) => s.rps)),
        physicalRps: median(physical.map((s) => s.rps)),
        oursRps: median(ours.map((s) => s.rps)),
        bareP99: median(bare.map((s) => s.p99Ms)),
        floorP99: median(floor.map((s) => s.p99Ms)),
        oursP99: median(ours.map((s) => s.p99Ms)),
        floorVsBare: perRound(floor, bare),
        oursVsBare: perRound(ours, bare),
        oursVsFloor: perRound(ours, floor),
        oursVsPhysical: perRound(ours, physical),
      };
      metrics[framework] = m;
      rows.push([
        framework,
        integer(m.bareRps),
        integer(m.physicalRps),
        `${integer(m.floorRps)} (${ratio(m.floorVsBare)})`,
        `${integer(m.oursRps)} (${ratio(m.oursVsBare)})`,
        ratio(m.oursVsFloor),
        ratio(m.oursVsPhysical),
        `${fixed(m.bareP99)} / ${fixed(m.floorP99)} / ${fixed(m.oursP99)}`,
      ]);
    }
    const result = table(
      [
        "framework",
        "bare req/s",
        "physical floor req/s",
        "floor req/s (vs bare)",
        "ours req/s (vs bare)",
        "ours vs floor",
        "ours vs physical floor",
        "p99 ms bare / floor / ours",
      ],
      rows,
    );
    const revokedOk = refused.every((r) => r.status === 401);
    return {
      title: `HTTP: authenticated GET /me, ${CONNECTIONS} connections, ${rounds} interleaved rounds of ${seconds} s (each after 1 s of unmeasured load), medians`,
      table: result,
      notes: [
        "Floor: a hand-written better-sqlite3 check on our schema, the same lookup and objects as checkSession. Physical floor: the sha256 digest as a 32-byte BLOB primary key of a WITHOUT ROWID table holding only user id and expiry, joined to users, one cached `stmt.get`, the user object built from the row.",
        `Revocation through another process, then one GET /me per server: ${refused.map((r) => `${r.server} ${r.status}`).join(", ")} (${revokedOk ? "all refused" : "NOT all refused"}).`,
      ],
      metrics: { ...metrics, revokedOk },
      commands: [
        commandLine(generator, {
          url: "http://127.0.0.1:PORT/me",
          connections: CONNECTIONS,
          seconds,
          headers: { Cookie: "session=TOKEN" },
        }),
      ],
    };
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}
