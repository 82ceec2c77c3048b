// The password reset request case of `bench/timing.mjs`: does the answer to POST /forgot-password
// take the same time whether or not the identifier names an account? Measured as the client sees
// it (request sent to last byte of the answer, over a kept-alive connection), against the
// Express adapter's passwordResetRequestHandler in a server process of its own, known and
// unknown identifiers interleaved. Two control routes that do the same work but answer after
// part of it (the token: a fraction of a millisecond; the mail: 20 ms) show that the
// measurement sees a difference where there is one.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Agent, request } from "node:http";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { SessionManager } from "session-manager";
import { fixed, median, percentile } from "./stats.mjs";

const SERVER = fileURLToPath(new URL("../reset-request-server.mjs", import.meta.url));
// As in the server (reset-request-server.mjs).
const SEND_DELAY_MS = 20;
// Below the limit of 5 reset tokens per user per hour, so every known request issues one and mails it.
const REQUESTS_PER_USER = 4;
const WARMUP = 50;
// How far from 0.5 the chance that a known request is the slower of a pair may be. With 1,000
// samples of each kind its standard error is about 0.013, and a loaded machine adds a little
// skew (see the carry-over line of the report); the control leaking 0.2 ms reaches 0.75 to 0.9.
const MAX_SKEW = 0.08;
// What the control answering after the token must reach: its leak is real but small.
const MIN_LEAK_CHANCE = 0.65;

/**
 * Runs the case and prints its report; resolves `{ sameTime, seesLeaks, allMailed }`.
 * `samples` requests of each kind on the handler and on the sub-millisecond control,
 * `controlSamples` on the control that waits for the mail.
 */
export async function resetRequestTiming({ dir, samples, controlSamples, database }) {
  // A server database gets tables of its own under a fresh prefix.
  const url = database ?? `sqlite:${join(dir, "reset.db")}`;
  const tablePrefix = database === undefined ? "" : `bench_${randomBytes(4).toString("hex")}_`;
  await seedUsers(url, tablePrefix, Math.ceil((WARMUP + 2 * samples + controlSamples) / REQUESTS_PER_USER));
  const server = await startServer(url, tablePrefix);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const client = new Client(server.port, agent);
    // Warm-up: the JIT settles and the statement caches fill, on both paths.
    await client.interleaved("/forgot-password", WARMUP);
    const handler = await client.interleaved("/forgot-password", samples);
    const tokenFirst = await client.interleaved("/control/token-first", samples);
    const mailFirst = await client.interleaved("/control/mail-first", controlSamples);
    // The last deliveries finish after their answers; then every known request must have mailed.
    const { delivered, failures } = await client.settledDeliveries();

    console.log("");
    console.log(
      `password reset request on ${url.split(":")[0]}: time to the last byte of the 202 as the client sees it (ms), ` +
        `known and unknown addresses interleaved; sendEmail awaits ${SEND_DELAY_MS} ms`,
    );
    const ours = report(`passwordResetRequestHandler (Express), ${samples} requests each`, handler);
    carryOver(handler.sequence);
    // A leak would make known requests the slower of most pairs; noise keeps the chance near 0.5.
    const sameTime = Math.abs(ours.slower - 0.5) <= MAX_SKEW;
    console.log(
      `  same time: ${sameTime ? "yes" : "NO, THE ANSWER DEPENDS ON WHETHER THE ACCOUNT EXISTS"} (chance within 0.5 ± ${MAX_SKEW})`,
    );
    const allMailed = delivered === client.knownSent;
    console.log(`  mails sent: ${delivered} for ${client.knownSent} known requests${allMailed ? ", one each" : " (EXPECTED ONE EACH)"}`);
    for (const [reason, count] of Object.entries(failures)) console.log(`  delivery failed ${count} times: ${reason}`);
    const small = report(`control: answering after the token is issued, ${samples} requests each`, tokenFirst);
    const large = report(`control: answering after the mail is sent, ${controlSamples} requests each`, mailFirst);
    const seesLeaks = small.slower >= MIN_LEAK_CHANCE && large.diff >= SEND_DELAY_MS * 0.8;
    console.log(`  both leaks seen: ${seesLeaks ? "yes" : "NO, THE MEASUREMENT IS TOO COARSE"}`);
    return { sameTime, seesLeaks, allMailed };
  } finally {
    agent.destroy();
    await server.stop();
    if (database !== undefined) await dropTables(database, tablePrefix);
  }
}

/** Drops the case's tables from a server database (children before the users they point to). */
async function dropTables(database, prefix) {
  const names = ["auth_one_time_tokens", "auth_sessions", "auth_login_throttle", "auth_users", "auth_migrations", "auth_migrations_lock"];
  const statement = `drop table if exists ${names.map((name) => prefix + name).join(", ")}`;
  if (/^postgres(ql)?:/.test(database)) {
    const { default: pg } = await import("pg");
    const client = new pg.Client({ connectionString: database });
    await client.connect();
    await client.query(statement).finally(() => client.end());
  } else if (/^(mysql|mariadb):/.test(database)) {
    const mysql = await import("mysql2/promise");
    const connection = await mysql.createConnection(database.replace(/^mariadb:/, "mysql:"));
    await connection.query(statement).finally(() => connection.end());
  }
}

/** Prints the percentiles of both kinds and how they differ; returns the median difference and the chance. */
function report(title, { known, unknown }) {
  const diff = median(known) - median(unknown);
  const slower = slowerChance(known, unknown);
  console.log(title);
  console.log(
    distributionTable([
      ["known address", known],
      ["unknown address", unknown],
    ]),
  );
  console.log(
    `  known - unknown: p50 ${signed(diff)}, p90 ${signed(percentile(known, 90) - percentile(unknown, 90))}, ` +
      `p99 ${signed(percentile(known, 99) - percentile(unknown, 99))}; ` +
      `chance a known request is the slower of a pair: ${fixed(slower, 3)}`,
  );
  return { diff, slower };
}

/**
 * The work done after a known request's answer is not free: it may slow the requests that come
 * next, whichever kind they are. The interleaving gives each kind as many known predecessors as
 * unknown ones, so this does not bias the comparison above; it is shown, not checked, because a client that
 * times a follow-up request could see it.
 */
function carryOver(sequence) {
  const afterKnown = [];
  const afterUnknown = [];
  for (let i = 1; i < sequence.length; i++) (sequence[i - 1].known ? afterKnown : afterUnknown).push(sequence[i].ms);
  console.log(
    `  the next request, after a known one - after an unknown one: p50 ${signed(median(afterKnown) - median(afterUnknown))}; ` +
      `chance it is the slower: ${fixed(slowerChance(afterKnown, afterUnknown), 3)} (not checked: the work done after the answer)`,
  );
}

/** Users `k00000@example.com`…, with cheap hashes: only their addresses matter here. */
async function seedUsers(database, tablePrefix, count) {
  const manager = new SessionManager({ database, tablePrefix, password: { memoryCost: 64, timeCost: 1, parallelism: 1 } });
  try {
    for (let i = 0; i < count; i++) {
      await manager.createUser(`reset-${i}`, "correct horse battery staple", { email: knownAddress(i) });
    }
  } finally {
    await manager.close();
  }
}

// Known and unknown addresses have the same length, so request sizes do not differ.
function knownAddress(user) {
  return `k${String(user).padStart(5, "0")}@example.com`;
}

function unknownAddress(n) {
  return `u${String(n).padStart(5, "0")}@example.com`;
}

class Client {
  knownSent = 0;
  #unknownSent = 0;
  #port;
  #agent;

  constructor(port, agent) {
    this.#port = port;
    this.#agent = agent;
  }

  /**
   * `count` requests of each kind to `path`, alternating which goes first (known, unknown, then
   * unknown, known), so that drift hits both alike and each kind follows each kind equally often.
   * Returns the times of each kind and the whole sequence in order.
   */
  async interleaved(path, count) {
    const known = [];
    const unknown = [];
    const sequence = [];
    const sendKnown = async () => {
      const ms = await this.#post(path, knownAddress(Math.floor(this.knownSent++ / REQUESTS_PER_USER)));
      known.push(ms);
      sequence.push({ known: true, ms });
    };
    const sendUnknown = async () => {
      const ms = await this.#post(path, unknownAddress(this.#unknownSent++));
      unknown.push(ms);
      sequence.push({ known: false, ms });
    };
    for (let i = 0; i < count; i++) {
      if (i % 2 === 0) {
        await sendKnown();
        await sendUnknown();
      } else {
        await sendUnknown();
        await sendKnown();
      }
    }
    return { known, unknown, sequence };
  }

  /** Milliseconds from sending the request to the last byte of a 202 answer. */
  #post(path, identifier) {
    const body = JSON.stringify({ identifier });
    return new Promise((resolve, reject) => {
      const start = performance.now();
      const req = request(
        {
          host: "127.0.0.1",
          port: this.#port,
          path,
          method: "POST",
          agent: this.#agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on("end", () => {
            const elapsed = performance.now() - start;
            if (res.statusCode === 202) resolve(elapsed);
            else reject(new Error(`POST ${path}: ${res.statusCode}`));
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  /** The server's delivery counts once they stop changing: the last mails go out after their answers. */
  async settledDeliveries() {
    let last = await this.json("/__deliveries");
    for (let wait = 0; wait < 10_000; wait += SEND_DELAY_MS * 5) {
      await sleep(SEND_DELAY_MS * 5);
      const now = await this.json("/__deliveries");
      if (now.delivered === last.delivered && JSON.stringify(now.failures) === JSON.stringify(last.failures)) return now;
      last = now;
    }
    return last;
  }

  json(path) {
    return new Promise((resolve, reject) => {
      request({ host: "127.0.0.1", port: this.#port, path, agent: this.#agent }, (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (chunk) => (text += chunk));
        res.on("end", () => resolve(JSON.parse(text)));
      })
        .on("error", reject)
        .end();
    });
  }
}

function startServer(database, tablePrefix) {
  const child = spawn(process.execPath, [SERVER, database, tablePrefix], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let buffered = "";
    const onData = (chunk) => {
      buffered += chunk;
      const newline = buffered.indexOf("\n");
      if (newline === -1) return;
      child.stdout.off("data", onData);
      child.off("exit", onExit);
      resolve({
        port: JSON.parse(buffered.slice(0, newline)).port,
        stop: () => new Promise((done) => (child.exitCode !== null ? done() : (child.once("exit", done), child.kill("SIGTERM")))),
      });
    };
    const onExit = (code) => reject(new Error(`reset request server exited with ${code}`));
    child.stdout.setEncoding("utf8").on("data", onData);
    child.once("exit", onExit);
  });
}

function distributionTable(rows) {
  const header = `  ${"".padEnd(16)}${["p10", "p50", "p90", "p99", "max"].map((h) => h.padStart(8)).join("")}`;
  const lines = rows.map(
    ([label, values]) => `  ${label.padEnd(16)}${[10, 50, 90, 99, 100].map((p) => fixed(percentile(values, p)).padStart(8)).join("")}`,
  );
  return [header, ...lines].join("\n");
}

function signed(value) {
  return `${value >= 0 ? "+" : ""}${fixed(value)}`;
}

/**
 * The chance that a known request, paired at random with an unknown one, is the slower (ties
 * count half): the area under the ROC curve of telling them apart by time, 0.5 when that is no
 * better than a coin.
 */
function slowerChance(known, unknown) {
  const all = [...known.map((value) => ({ value, known: true })), ...unknown.map((value) => ({ value, known: false }))];
  all.sort((a, b) => a.value - b.value);
  let rankSum = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j < all.length && all[j].value === all[i].value) j++;
    const rank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (all[k].known) rankSum += rank;
    i = j;
  }
  return (rankSum - (known.length * (known.length + 1)) / 2) / (known.length * unknown.length);
}
