// Side-by-side HTTP comparison of this checkout with another build of the library:
//   npm run build && node bench/compare.mjs ../previous-release [--rounds 10] [--seconds 2]
// OTHER is a checkout (a `git worktree add --detach ../previous-release v0.1.0`, say) whose
// `npm run build` has run. For each framework it starts four servers, the hand-written floor and
// the adapter from each checkout, each on a fixture made by its own checkout's migrations, and
// loads them in rotating order within every round. It prints, per framework, the medians over
// rounds of this/other for the adapter and for the floor. The floor runs the same code in both
// checkouts, so its ratio shows how far apart two identical servers measure on this machine.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { loadGenerator, runLoad } from "./lib/load.mjs";
import { request, startServer } from "./lib/servers.mjs";
import { createSqliteFixture } from "./lib/fixture.mjs";
import { pairedRatio, ratio, table } from "./lib/stats.mjs";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: "string", default: "10" }, seconds: { type: "string", default: "2" } },
});
if (positionals.length !== 1) throw new Error("usage: node bench/compare.mjs OTHER_CHECKOUT [--rounds N] [--seconds S]");
const other = resolve(positionals[0]);
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const FRAMEWORKS = ["express", "koa", "hono"];
const CONNECTIONS = 10;
const generator = loadGenerator("wrk");
const log = (line) => process.stderr.write(`${line}\n`);

const dir = mkdtempSync(join(tmpdir(), "session-manager-compare-"));
const servers = [];
try {
  const otherFixture = await import(pathToFileURL(join(other, "bench/lib/fixture.mjs")).href);
  const checkouts = [
    { name: "this", fixture: await createSqliteFixture(join(dir, "this.db"), { sessions: 1000 }), script: undefined },
    {
      name: "other",
      fixture: await otherFixture.createSqliteFixture(join(dir, "other.db"), { sessions: 1000 }),
      script: join(other, "bench/http-server.mjs"),
    },
  ];
  for (const framework of FRAMEWORKS)
    for (const checkout of checkouts)
      for (const variant of ["floor", "ours"]) {
        const server = await startServer(framework, variant, checkout.fixture.path, checkout.script);
        const headers = { Cookie: `session=${checkout.fixture.tokens[0]}` };
        const { status } = await request(`${server.url}/me`, { headers });
        if (status !== 200) throw new Error(`${checkout.name} ${framework}/${variant}: GET /me answered ${status}`);
        servers.push({ ...server, checkout: checkout.name, headers, rps: [] });
      }
  for (let round = 0; round < rounds; round++) {
    const order = servers.map((_, i) => servers[(i + round * 5) % servers.length]);
    for (const server of order) {
      const load = { url: `${server.url}/me`, connections: CONNECTIONS, headers: server.headers };
      await runLoad(generator, { ...load, seconds: 1 });
      const result = await runLoad(generator, { ...load, seconds });
      if (result.errors > 0) throw new Error(`${server.checkout} ${server.framework}/${server.variant}: ${result.errors} failed requests`);
      server.rps.push(result.rps);
    }
    log(`round ${round + 1}/${rounds} done`);
  }
  const of = (framework, checkout, variant) =>
    servers.find((s) => s.framework === framework && s.checkout === checkout && s.variant === variant).rps;
  const rows = FRAMEWORKS.map((framework) => [
    framework,
    ratio(pairedRatio(of(framework, "this", "ours"), of(framework, "other", "ours"))),
    ratio(pairedRatio(of(framework, "this", "floor"), of(framework, "other", "floor"))),
    ratio(pairedRatio(of(framework, "this", "ours"), of(framework, "this", "floor"))),
    ratio(pairedRatio(of(framework, "other", "ours"), of(framework, "other", "floor"))),
  ]);
  const header = ["framework", "adapter this/other", "floor this/other (same code)", "this: adapter/floor", "other: adapter/floor"];
  process.stdout.write(
    `\nGET /me, ${CONNECTIONS} connections, ${rounds} rounds of ${seconds} s, medians of per-round ratios; other = ${other}\n\n${table(header, rows).text}\n`,
  );
} finally {
  await Promise.all(servers.map((server) => server.stop()));
  rmSync(dir, { recursive: true, force: true });
}
