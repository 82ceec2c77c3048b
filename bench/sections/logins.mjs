// Section 3: logins beside ordinary traffic. The p99 latency of authenticated GETs and the
// event-loop p99 delay, with and without a steady burst of logins, and login throughput against
// what the hashing lane allows (concurrency / time of one argon2id verify).
import { hash, verify } from "@node-rs/argon2";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createSqliteFixture, PASSWORD, USERNAME } from "../lib/fixture.mjs";
import { commandLine, runLoad } from "../lib/load.mjs";
import { request, startServer } from "../lib/servers.mjs";
import { fixed, median, percentile, ratio, table } from "../lib/stats.mjs";

const CONNECTIONS = 10;
const ARGON2ID = 2;

/** Median time of one argon2id verify at the library's default parameters, in ms. */
async function verifyTime(samples) {
  const stored = await hash(PASSWORD, { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 });
  const times = [];
  for (let i = 0; i < samples + 1; i++) {
    const start = performance.now();
    await verify(stored, PASSWORD);
    if (i > 0) times.push(performance.now() - start);
  }
  return median(times);
}

async function login(url, username = USERNAME, client = undefined) {
  const start = performance.now();
  const headers = client === undefined ? {} : { "X-Forwarded-For": client };
  const { status } = await request(`${url}/login`, { method: "POST", headers, body: { username, password: PASSWORD } });
  if (status !== 200) throw new Error(`login answered ${status}`);
  return performance.now() - start;
}

/** GET load for `seconds`, optionally with `perSecond` logins fired on a fixed schedule beside it. */
async function phase(generator, server, headers, seconds, perSecond) {
  await request(`${server.url}/__stats`);
  const logins = [];
  let timer = null;
  if (perSecond > 0) timer = setInterval(() => logins.push(login(server.url)), 1000 / perSecond);
  const get = await runLoad(generator, { url: `${server.url}/me`, connections: CONNECTIONS, seconds, headers });
  if (timer !== null) clearInterval(timer);
  const loop = (await request(`${server.url}/__stats`)).body;
  const loginTimes = await Promise.all(logins);
  if (get.errors > 0) throw new Error(`${get.errors} failed GETs`);
  return { getP99: get.p99Ms, getRps: get.rps, loopP99: loop.p99Ms, logins: loginTimes };
}

export async function loginSection({ quick, dir, generator, log }) {
  const rounds = quick ? 1 : 3;
  const seconds = quick ? 1 : 8;
  const perSecond = 8;
  const concurrency = Math.max(1, availableParallelism() - 1);
  const fixture = await createSqliteFixture(join(dir, "logins.db"), { sessions: 1000 });
  const headers = { Cookie: `session=${fixture.tokens[0]}` };
  const server = await startServer("express", "ours", fixture.path);
  try {
    await login(server.url);
    if (!quick) await runLoad(generator, { url: `${server.url}/me`, connections: CONNECTIONS, seconds: 2, headers });
    const quiet = [];
    const burst = [];
    for (let round = 0; round < rounds; round++) {
      quiet.push(await phase(generator, server, headers, seconds, 0));
      burst.push(await phase(generator, server, headers, seconds, perSecond));
      log(`  round ${round + 1}/${rounds} done`);
    }

    // Throughput: a pile of logins at once, nothing else running; the lane lets `concurrency` hash at a time.
    // One each for 32 users, each from its own client address (forwarded by a trusted proxy): the
    // throttle checks at most maxFailures attempts on one username, and at most ipMaxUsernames
    // usernames from one address, at once; past the default password.queueLimit (32 waiting)
    // logins are refused with 503.
    const verifyMs = await verifyTime(quick ? 1 : 15);
    const count = quick ? 2 : 32;
    const start = performance.now();
    const times = await Promise.all(Array.from({ length: count }, (_, i) => login(server.url, `user${i + 1}`, `198.51.100.${i + 1}`)));
    const throughput = count / ((performance.now() - start) / 1000);
    const allowed = (concurrency * 1000) / verifyMs;

    const m = {
      quietGetP99: median(quiet.map((p) => p.getP99)),
      burstGetP99: median(burst.map((p) => p.getP99)),
      quietLoopP99: median(quiet.map((p) => p.loopP99)),
      burstLoopP99: median(burst.map((p) => p.loopP99)),
      quietRps: median(quiet.map((p) => p.getRps)),
      burstRps: median(burst.map((p) => p.getRps)),
      burstLoginMedian: median(burst.flatMap((p) => p.logins)),
      burstLoginP99: percentile(
        burst.flatMap((p) => p.logins),
        99,
      ),
      burstLogins: burst.reduce((sum, p) => sum + p.logins.length, 0),
      throughput,
      allowed,
      verifyMs,
      concurrency,
      pileMedianMs: median(times),
    };
    m.getP99Ratio = m.burstGetP99 / m.quietGetP99;
    m.throughputRatio = throughput / allowed;
    const rows = [
      ["authenticated GET p99", `${fixed(m.quietGetP99)} ms`, `${fixed(m.burstGetP99)} ms`, ratio(m.getP99Ratio)],
      ["authenticated GET req/s", fixed(m.quietRps, 0), fixed(m.burstRps, 0), ratio(m.burstRps / m.quietRps)],
      ["event-loop delay p99", `${fixed(m.quietLoopP99)} ms`, `${fixed(m.burstLoopP99)} ms`, ratio(m.burstLoopP99 / m.quietLoopP99)],
      ["login latency median / p99", "-", `${fixed(m.burstLoginMedian, 1)} / ${fixed(m.burstLoginP99, 1)} ms`, `${m.burstLogins} logins`],
    ];
    return {
      title: `Logins: Express adapter, GET /me at ${CONNECTIONS} connections for ${seconds} s, without and with ${perSecond} logins/s, medians of ${rounds} rounds`,
      table: table(["measure", "no logins", `${perSecond} logins/s`, "ratio"], rows),
      notes: [
        `Login throughput: ${count} logins at once took ${fixed(throughput, 1)} logins/s; the lane allows ${fixed(allowed, 1)}/s ` +
          `(concurrency ${concurrency} / ${fixed(verifyMs, 1)} ms per argon2id verify at m=19456, t=2, p=1): ${ratio(m.throughputRatio)}.`,
      ],
      metrics: m,
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
    await server.stop();
  }
}
