// HTTP load: wrk (a C program that leaves the server most of the CPU) when it is installed,
// else autocannon in a process of its own.
import { execFile, execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

function wrkVersion() {
  try {
    execFileSync("wrk", ["--version"], { stdio: "pipe" });
    return null;
  } catch (error) {
    // wrk prints its version and usage, then exits 1.
    const text = `${error.stdout ?? ""}${error.stderr ?? ""}`;
    const match = /wrk (\S+)/.exec(text);
    return match ? `wrk ${match[1]}` : null;
  }
}

/** The load generator in use: `{ name, version }`. */
export function loadGenerator(prefer) {
  const wrk = prefer === "autocannon" ? null : wrkVersion();
  if (wrk !== null) return { name: "wrk", version: wrk };
  const pkg = require("autocannon/package.json");
  return { name: "autocannon", version: `autocannon ${pkg.version}` };
}

/** The command line a run uses, for RESULTS.md. */
export function commandLine(generator, { url, connections, seconds, headers = {} }) {
  return args(generator, { url, connections, seconds, headers }).join(" ");
}

function args(generator, { url, connections, seconds, headers }) {
  if (generator.name === "wrk") {
    const headerArgs = Object.entries(headers).flatMap(([name, value]) => ["-H", `${name}: ${value}`]);
    return ["wrk", "-t1", `-c${connections}`, `-d${seconds}s`, "--latency", ...headerArgs, url];
  }
  const headerArgs = Object.entries(headers).flatMap(([name, value]) => ["-H", `${name}=${value}`]);
  return ["autocannon", "-c", String(connections), "-d", String(seconds), "-j", ...headerArgs, url];
}

/** Runs one load test: `{ rps, p50Ms, p99Ms, errors }`. */
export function runLoad(generator, options) {
  const [command, ...rest] = args(generator, options);
  const file = command === "wrk" ? "wrk" : process.execPath;
  const argv = command === "wrk" ? rest : [join(dirname(require.resolve("autocannon/package.json")), "autocannon.js"), ...rest];
  return new Promise((resolve, reject) => {
    execFile(file, argv, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`${command} failed: ${error.message}\n${stderr}`));
      try {
        resolve(command === "wrk" ? parseWrk(stdout) : parseAutocannon(stdout));
      } catch (parseError) {
        reject(parseError);
      }
    });
  });
}

const UNIT_MS = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function parseWrk(text) {
  const duration = (label) => {
    const match = new RegExp(`^\\s*${label}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(text);
    if (!match) throw new Error(`unexpected wrk output:\n${text}`);
    return Number(match[1]) * UNIT_MS[match[2]];
  };
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!rps) throw new Error(`unexpected wrk output:\n${text}`);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text);
  const socket = /Socket errors:.*?(\d+).*?(\d+).*?(\d+).*?(\d+)/.exec(text);
  const errors = (non2xx ? Number(non2xx[1]) : 0) + (socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0);
  return { rps: Number(rps[1]), p50Ms: duration("50"), p99Ms: duration("99"), errors };
}

function parseAutocannon(text) {
  const result = JSON.parse(text);
  return { rps: result.requests.average, p50Ms: result.latency.p50, p99Ms: result.latency.p99, errors: result.non2xx + result.errors };
}
