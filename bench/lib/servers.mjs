// Starts benchmark servers as child processes, so that each has a core's worth of event loop and
// none shares a heap with the load generator or with another server.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const SERVER = fileURLToPath(new URL("../http-server.mjs", import.meta.url));

/** Starts `http-server.mjs` (this checkout's, or `script`: another checkout's, for `compare.mjs`). */
export function startServer(framework, variant, databaseFile, script = SERVER) {
  return startServerScript(script, [framework, variant, databaseFile], { framework, variant });
}

/**
 * Starts `node script ...args`, a server that prints `{"port":N}` on its first line; resolves
 * `{ ...labels, url, stop }`.
 */
export function startServerScript(script, args, labels) {
  const { framework, variant } = labels;
  const child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let buffered = "";
    const onData = (chunk) => {
      buffered += chunk;
      const newline = buffered.indexOf("\n");
      if (newline === -1) return;
      child.stdout.off("data", onData);
      const { port } = JSON.parse(buffered.slice(0, newline));
      resolve({
        ...labels,
        url: `http://127.0.0.1:${port}`,
        cpuMicros: () => cpuMicros(child.pid),
        stop: () => new Promise((done) => (child.exitCode !== null ? done() : (child.once("exit", done), child.kill("SIGTERM")))),
      });
    };
    child.stdout.setEncoding("utf8").on("data", onData);
    child.once("exit", (code) => reject(new Error(`${framework}/${variant} server exited with ${code}`)));
  });
}

/** GET or POST with a small JSON body; resolves `{ status, body }`. */
export async function request(url, { method = "GET", headers = {}, body } = {}) {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text === "" ? null : JSON.parse(text) };
}

// Linux counts a process's CPU time in clock ticks of 1/100 s (USER_HZ), also on the machines this
// bench runs on; elsewhere there is no /proc and the figure is left out.
const TICK_MICROS = 10_000;

/**
 * The CPU time a process has used so far (user + system, all its threads), in microseconds, or
 * null where /proc is not there. Per request, it moves less than throughput when something else
 * runs on the machine: time spent waiting for a core is not counted.
 */
export function cpuMicros(pid) {
  try {
    // Fields after the command name, which is in parentheses and may hold spaces: utime is the
    // 14th field of the line, stime the 15th.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * TICK_MICROS;
  } catch {
    return null;
  }
}
