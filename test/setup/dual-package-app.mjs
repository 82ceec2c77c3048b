// An Express app whose adapter comes from one build of the package and whose SessionManager from
// the other, both loaded by the package's name as an app would (the exports map picks dist/esm
// for import and dist/cjs for require). Argument: "esm" or "cjs", the adapter's format. Prints
// what each step answered, as one JSON object, for test/http/dual-package.test.ts.
import { once } from "node:events";
import { createServer, request } from "node:http";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const adapterFormat = process.argv[2];
if (adapterFormat !== "esm" && adapterFormat !== "cjs") throw new Error("usage: dual-package-app.mjs esm|cjs");
const load = (format, specifier) => (format === "esm" ? import(specifier) : Promise.resolve(require(specifier)));
const adapter = await load(adapterFormat, "session-manager/express");
const core = await load(adapterFormat === "esm" ? "cjs" : "esm", "session-manager");
const express = require("express");

const DAY = 24 * 60 * 60 * 1000;
let now = Date.UTC(2026, 0, 1);
const events = [];
const manager = new core.SessionManager({
  database: "sqlite::memory:",
  password: { memoryCost: 256, timeCost: 1, parallelism: 1 },
  throttle: { maxFailures: 1, baseLockoutSeconds: 30 },
  clock: () => new Date(now),
  onEvent: (event) => events.push(event.type),
});

const app = express();
app.use(adapter.sessionMiddleware({ manager }));
app.post("/register", adapter.registerHandler());
app.post("/login", adapter.loginHandler());
app.post("/logout", adapter.logoutHandler());
app.get("/me", adapter.requireUser(), (req, res) => res.json({ username: req.user.username }));
app.use((error, _req, res, _next) => res.status(500).json({ error: String(error) }));
const server = createServer(app).listen(0, "127.0.0.1");
await once(server, "listening");

function call(method, path, { body, cookie, origin } = {}) {
  const headers = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (cookie !== undefined) headers["cookie"] = cookie;
  if (origin !== undefined) headers["origin"] = origin;
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: server.address().port, method, path, headers }, (res) => {
      let text = "";
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => {
        const session = (res.headers["set-cookie"] ?? [])
          .map((value) => /^session=([^;]*)/.exec(value)?.[1])
          .find((value) => value !== undefined);
        resolve({ status: res.status ?? res.statusCode, body: text, session, retryAfter: res.headers["retry-after"] });
      });
    });
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const steps = {};
const password = "correct horse battery";
const registered = await call("POST", "/register", { body: { username: "alice", password } });
steps.register = registered.status;
const cookie = `session=${registered.session}`;
steps.me = (await call("GET", "/me", { cookie })).status;
steps.registerTaken = (await call("POST", "/register", { body: { username: "ALICE", password } })).status;
steps.registerShortPassword = (await call("POST", "/register", { body: { username: "bob", password: "short" } })).status;
steps.loginWrong = (await call("POST", "/login", { body: { username: "alice", password: "wrong password" } })).status;
const throttled = await call("POST", "/login", { body: { username: "alice", password } });
steps.loginThrottled = [throttled.status, throttled.retryAfter, throttled.body];
// Past half the session's life: the session is renewed, which the manager answers asynchronously.
now += 16 * DAY;
const renewed = await call("GET", "/me", { cookie });
steps.meRenewed = [renewed.status, renewed.session === registered.session];
steps.logoutCrossSite = (await call("POST", "/logout", { cookie, origin: "https://evil.example" })).status;
// The login handler signs in through the manager's internal signIn (a registered symbol).
manager[Symbol.for("session-manager.signIn")] = () => Promise.reject(new core.ServiceBusyError(5));
const busy = await call("POST", "/login", { body: { username: "alice", password } });
steps.loginBusy = [busy.status, busy.retryAfter, busy.body];
steps.logout = (await call("POST", "/logout", { cookie })).status;
steps.meAfterLogout = (await call("GET", "/me", { cookie })).status;
steps.events = events;

server.close();
await manager.close();
process.stdout.write(JSON.stringify(steps) + "\n");
