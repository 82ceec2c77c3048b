// One benchmark server: `node bench/http-server.mjs FRAMEWORK VARIANT DATABASE_FILE`.
// FRAMEWORK: express | koa | hono. VARIANT: bare (constant JSON), floor (a hand-written
// better-sqlite3 check, statement prepared once), physical (the least such a check can read, on a
// file made by createPhysicalFloorFixture), ours (the package's adapter).
// Prints `{"port":N}` on its first line once listening. GET /__stats reports (and restarts) the
// event-loop delay histogram, for the login section; the first request starts it.
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parse as parseCookie } from "cookie";
import { SessionManager } from "session-manager";
import { handWrittenCheck, physicalCheck } from "./lib/floor.mjs";

const require = createRequire(import.meta.url);
const [framework, variant, file] = process.argv.slice(2);
const CONSTANT = Object.freeze({ id: 1, username: "bench", createdAt: "2024-01-01T00:00:00.000Z" });

// Enabled by the first /__stats request only: the monitor wakes the process every millisecond,
// and nine idle servers doing so would take CPU from the one under load.
const loop = monitorEventLoopDelay({ resolution: 1 });
function stats() {
  loop.enable();
  const body = { p50Ms: loop.percentile(50) / 1e6, p99Ms: loop.percentile(99) / 1e6, maxMs: loop.max / 1e6 };
  loop.reset();
  return body;
}

let manager = null;
let floorCheck = null;
if (variant === "ours") manager = new SessionManager({ database: `sqlite:${file}` });
else if (variant === "floor" || variant === "physical") {
  const BetterSqlite3 = require("better-sqlite3");
  const db = new BetterSqlite3(file, { timeout: 5000 });
  db.pragma("journal_mode = WAL");
  floorCheck = variant === "floor" ? handWrittenCheck(db) : physicalCheck(db);
}
function floorUser(cookieHeader) {
  if (!cookieHeader) return null;
  const token = parseCookie(cookieHeader).session;
  return token === undefined ? null : (floorCheck(token)?.user ?? null);
}

async function expressApp() {
  const { default: express } = await import("express");
  const app = express();
  app.get("/__stats", (req, res) => res.json(stats()));
  if (variant === "bare") app.get("/me", (req, res) => res.json(CONSTANT));
  if (variant === "floor" || variant === "physical") {
    app.use((req, res, next) => {
      req.user = floorUser(req.headers.cookie);
      next();
    });
    app.get("/me", (req, res) => (req.user ? res.json(req.user) : res.status(401).json({ error: "unauthorized" })));
  }
  if (variant === "ours") {
    const { sessionMiddleware, requireUser, loginHandler } = await import("session-manager/express");
    // The login section's clients come through a proxy on this machine, each with its own address.
    app.set("trust proxy", "loopback");
    app.use(sessionMiddleware({ manager }));
    app.get("/me", requireUser(), (req, res) => res.json(req.user));
    // After /me, so that GET /me does not pay for matching a route the floor does not have.
    app.post("/login", loginHandler());
  }
  return app;
}

async function koaApp() {
  const { default: Koa } = await import("koa");
  const app = new Koa();
  app.use(async (ctx, next) => {
    if (ctx.path === "/__stats") ctx.body = stats();
    else await next();
  });
  if (variant === "bare") app.use((ctx) => (ctx.path === "/me" ? (ctx.body = CONSTANT) : undefined));
  if (variant === "floor" || variant === "physical") {
    app.use((ctx) => {
      if (ctx.path !== "/me") return;
      const user = floorUser(ctx.get("cookie"));
      ctx.status = user ? 200 : 401;
      ctx.body = user ?? { error: "unauthorized" };
    });
  }
  if (variant === "ours") {
    const { sessionMiddleware, requireUser, loginHandler } = await import("session-manager/koa");
    const login = loginHandler();
    const required = requireUser();
    app.use(sessionMiddleware({ manager }));
    app.use(async (ctx, next) => {
      if (ctx.path === "/login" && ctx.method === "POST") return login(ctx, next);
      if (ctx.path === "/me") return required(ctx, async () => (ctx.body = ctx.state.user));
      return next();
    });
  }
  return app.callback();
}

async function honoApp() {
  const { Hono } = await import("hono");
  const app = new Hono();
  app.get("/__stats", (c) => c.json(stats()));
  if (variant === "bare") app.get("/me", (c) => c.json(CONSTANT));
  if (variant === "floor" || variant === "physical") {
    app.use(async (c, next) => {
      c.set("user", floorUser(c.req.header("cookie")));
      await next();
    });
    app.get("/me", (c) => (c.get("user") ? c.json(c.get("user")) : c.json({ error: "unauthorized" }, 401)));
  }
  if (variant === "ours") {
    const { sessionMiddleware, requireUser, loginHandler } = await import("session-manager/hono");
    app.use(sessionMiddleware({ manager }));
    app.get("/me", requireUser(), (c) => c.json(c.get("user")));
    app.post("/login", loginHandler());
  }
  return app;
}

if (manager !== null) await manager.migrate();

if (framework === "hono") {
  const { serve } = await import("@hono/node-server");
  const app = await honoApp();
  serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
    process.stdout.write(`${JSON.stringify({ port: info.port })}\n`);
  });
  process.on("SIGTERM", () => process.exit(0));
} else {
  const handler = framework === "express" ? await expressApp() : await koaApp();
  const server = createServer(handler);
  server.listen(0, "127.0.0.1", () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
  process.on("SIGTERM", () => process.exit(0));
}
