// Side-by-side HTTP comparison of this checkout with another build of the library:
//   npm run build && node bench/compare.mjs ../previous-release [--this DIR] [--rounds 10] [--seconds 2]
// OTHER is a checkout (a `git worktree add --detach ../previous-release v0.1.0`, say) whose
// `npm run build` has run; `--this` puts another such checkout in this one's place, so that two
// earlier builds can be compared. For each framework it starts four servers, the hand-written floor and
// the adapter from each checkout, each on a fixture made by its own checkout's migrations, and
// loads them in rotating order within every round. It prints, per framework, the medians over
// rounds of this/other for the adapter and for the floor, in requests per second and in server
// CPU time per request (Linux). The floor runs the same code in both
// checkouts, so its ratio shows how far apart two identical servers measure on this machine.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { loadGenerator, runLoad } from "./lib/load.mjs";
import { request, startServer } from "./lib/servers.mjs";
import { fixed, integer, median, pairedRatio, ratio, table } from "./lib/stats.mjs";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { this: { type: "string" }, rounds: { type: "string", default: "10" }, seconds: { type: "string", default: "2" } },
});
if (positionals.length !== 1) throw new Error("usage: node bench/compare.mjs OTHER_CHECKOUT [--rounds N] [--seconds S]");
const other = resolve(positionals[0]);
const self = values.this === undefined ? null : resolve(values.this);
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const FRAMEWORKS = ["express", "koa", "hono"];
const CONNECTIONS = 10;
const generator = loadGenerator("wrk");
const log = (line) => process.stderr.write(`${line}\n`);

const dir = mkdtempSync(join(tmpdir(), "session-manager-compare-"));
const servers = [];
try {
  // Each checkout's own fixture code, so that each database is made by its own migrations.
  const prepareCheckout = async (name, root) => {
    const { createSqliteFixture } = await import(pathToFileURL(join(root, "bench/lib/fixture.mjs")).href);
    return {
      name,
      fixture: await createSqliteFixture(join(dir, `${name}.db`), { sessions: 1000 }),
      script: join(root, "bench/http-server.mjs"),
    };
  };
  const checkouts = [
    await prepareCheckout("this", self ?? fileURLToPath(new URL("..", import.meta.url))),
    await prepareCheckout("other", other),
  ];
  for (const framework of FRAMEWORKS)
    for (const checkout of checkouts)
      for (const variant of ["floor", "ours"]) {
        const server = await startServer(framework, variant, checkout.fixture.path, checkout.script);
        const headers = { Cookie: `session=${checkout.fixture.tokens[0]}` };
        const { status } = await request(`${server.url}/me`, { headers });
        if (status !== 200) throw new Error(`${checkout.name} ${framework}/${variant}: GET /me answered ${status}`);
        servers.push({ ...server, checkout: checkout.name, headers, rps: [], cpu: [] });
      }
  for (let round = 0; round < rounds; round++) {
    const order = servers.map((_, i) => servers[(i + round * 5) % servers.length]);
    for (const server of order) {
      const load = { url: `${server.url}/me`, connections: CONNECTIONS, headers: server.headers };
      await runLoad(generator, { ...load, seconds: 1 });
      const before = server.cpuMicros();
      const result = await runLoad(generator, { ...load, seconds });
      const after = server.cpuMicros();
      if (result.errors > 0) throw new Error(`${server.checkout} ${server.framework}/${server.variant}: ${result.errors} failed requests`);
      server.rps.push(result.rps);
      if (before !== null && after !== null) server.cpu.push((after - before) / (result.rps * seconds));
    }
    log(`round ${round + 1}/${rounds} done`);
  }
  const of = (framework, checkout, variant, figure) =>
    servers.find((s) => s.framework === framework && s.checkout === checkout && s.variant === variant)[figure];
  const ratios = (figure) =>
    FRAMEWORKS.map((framework) => [
      framework,
      ratio(pairedRatio(of(framework, "this", "ours", figure), of(framework, "other", "ours", figure))),
      ratio(pairedRatio(of(framework, "this", "floor", figure), of(framework, "other", "floor", figure))),
      ratio(pairedRatio(of(framework, "this", "ours", figure), of(framework, "this", "floor", figure))),
      ratio(pairedRatio(of(framework, "other", "ours", figure), of(framework, "other", "floor", figure))),
    ]);
  const header = ["framework", "adapter this/other", "floor this/other (same code)", "this: adapter/floor", "other: adapter/floor"];
  const names = `this = ${self ?? "this checkout"}, other = ${other}`;
  process.stdout.write(
    `\nGET /me, ${CONNECTIONS} connections, ${rounds} rounds of ${seconds} s, medians of per-round ratios; ${names}\n\nRequests per second (higher is faster)\n\n${table(header, ratios("rps")).text}\n`,
  );
  if (servers.every((server) => server.cpu.length === rounds)) {
    process.stdout.write(`\nServer CPU time per request (lower is faster)\n\n${table(header, ratios("cpu")).text}\n`);
    for (const framework of FRAMEWORKS)
      for (const name of ["this", "other"])
        for (const variant of ["floor", "ours"])
          process.stdout.write(
            `  ${framework} ${name} ${variant}: ${fixed(median(of(framework, name, variant, "cpu")), 1)} us per request, ${integer(median(of(framework, name, variant, "rps")))} req/s\n`,
          );
  }
} finally {
  await Promise.all(servers.map((server) => server.stop()));
  rmSync(dir, { recursive: true, force: true });
}
