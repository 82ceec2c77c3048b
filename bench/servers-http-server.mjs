// One benchmark server on PostgreSQL or MySQL: `node bench/servers-http-server.mjs FRAMEWORK VARIANT URL PREFIX`.
// FRAMEWORK: express | hono. VARIANT: ours (the package's adapter), floor (sha256 of the cookie
// token and the library's lookup as a prepared statement on the same driver, see serverFloor),
// and on PostgreSQL with Express only the alternatives a user would pick there: lucia (Lucia v3
// with its node-postgres adapter and its documented Express middleware), express-session
// (express-session with connect-pg-simple, the user loaded by the id the session carries) and
// express-session-no-touch (the same with connect-pg-simple's disableTouch on).
// Tables are those of createServerFixture and createAlternativeTables under PREFIX.
// Prints `{"port":N}` on its first line once listening.
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { parse as parseCookie } from "cookie";
import { SessionManager } from "session-manager";
import { ALTERNATIVES, POOL_SIZE } from "./lib/alternatives-fixture.mjs";
import { serverFloor } from "./lib/server-fixture.mjs";

const require = createRequire(import.meta.url);
const [framework, variant, url, prefix] = process.argv.slice(2);
const kind = url.startsWith("mysql") ? "mysql" : "postgres";

const unauthorized = { error: "unauthorized" };

/** The floor's user for a Cookie header, or null. */
function floorUser(floor) {
  return async function user(cookieHeader) {
    if (!cookieHeader) return null;
    const token = parseCookie(cookieHeader).session;
    return token === undefined ? null : ((await floor.check(token))?.user ?? null);
  };
}

async function expressApp() {
  const { default: express } = await import("express");
  const app = express();
  if (variant === "ours") {
    const { sessionMiddleware, requireUser } = await import("session-manager/express");
    const manager = new SessionManager({ database: url, tablePrefix: prefix, autoMigrate: false });
    app.use(sessionMiddleware({ manager }));
    app.get("/me", requireUser(), (req, res) => res.json(req.user));
  } else if (variant === "floor") {
    const user = floorUser(serverFloor(kind, url, prefix));
    app.use(async (req, res, next) => {
      req.user = await user(req.headers.cookie);
      next();
    });
    app.get("/me", (req, res) => (req.user ? res.json(req.user) : res.status(401).json(unauthorized)));
  } else if (variant === "lucia") {
    await luciaMiddleware(app);
    app.get("/me", (req, res) => (res.locals.user ? res.json(res.locals.user) : res.status(401).json(unauthorized)));
  } else if (variant === "express-session" || variant === "express-session-no-touch") {
    await expressSessionMiddleware(app);
    app.get("/me", (req, res) => (req.user ? res.json(req.user) : res.status(401).json(unauthorized)));
  } else throw new Error(`unknown variant ${variant}`);
  return app;
}

// Lucia v3 as its PostgreSQL page and its "Validate session cookies in Express" guide set it up:
// a pg Pool for NodePostgresAdapter, the Origin check on non-GET requests, then
// readSessionCookie and validateSession, the cookie set again when the session is fresh and
// cleared when it is invalid, the user and session in res.locals.
async function luciaMiddleware(app) {
  const pg = require("pg");
  const { Lucia, verifyRequestOrigin } = await import("lucia");
  const { NodePostgresAdapter } = await import("@lucia-auth/adapter-postgresql");
  const pool = new pg.Pool({ connectionString: url, max: POOL_SIZE });
  const adapter = new NodePostgresAdapter(pool, {
    user: `${prefix}${ALTERNATIVES.luciaUser}`,
    session: `${prefix}${ALTERNATIVES.luciaSession}`,
  });
  const lucia = new Lucia(adapter, {
    sessionCookie: { attributes: { secure: true } },
    getUserAttributes: (attributes) => ({
      username: attributes.username,
      createdAt: attributes.created_at,
      email: attributes.email,
      emailVerified: attributes.email_verified,
    }),
  });
  app.use((req, res, next) => {
    if (req.method === "GET") return next();
    const originHeader = req.headers.origin ?? null;
    const hostHeader = req.headers.host ?? null;
    if (!originHeader || !hostHeader || !verifyRequestOrigin(originHeader, [hostHeader])) return res.status(403).end();
    return next();
  });
  app.use(async (req, res, next) => {
    const sessionId = lucia.readSessionCookie(req.headers.cookie ?? "");
    if (!sessionId) {
      res.locals.user = null;
      res.locals.session = null;
      return next();
    }
    const { session, user } = await lucia.validateSession(sessionId);
    if (session && session.fresh) res.appendHeader("Set-Cookie", lucia.createSessionCookie(session.id).serialize());
    if (!session) res.appendHeader("Set-Cookie", lucia.createBlankSessionCookie().serialize());
    res.locals.user = user;
    res.locals.session = session;
    return next();
  });
}

// express-session with connect-pg-simple as their READMEs set them up for production: a pg Pool
// passed to the store, resave and saveUninitialized off, a 30-day cookie. The session carries the
// user id; the user is loaded by it on each request, as an app (or Passport's deserializeUser) does.
async function expressSessionMiddleware(app) {
  const pg = require("pg");
  const session = require("express-session");
  const PgSession = require("connect-pg-simple")(session);
  const pool = new pg.Pool({ connectionString: url, max: POOL_SIZE });
  app.use(
    session({
      store: new PgSession({
        pool,
        tableName: `${prefix}${ALTERNATIVES.expressSession}`,
        // Off by default: with it on, express-session's touch on each request no longer writes.
        disableTouch: variant === "express-session-no-touch",
      }),
      secret: ALTERNATIVES.expressSessionSecret,
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: 30 * 24 * 60 * 60 * 1000, httpOnly: true, sameSite: "lax" },
    }),
  );
  const userQuery = `select id, username, created_at, email, email_verified from ${prefix}auth_users where id = $1`;
  app.use(async (req, res, next) => {
    const userId = req.session.userId;
    if (userId === undefined) {
      req.user = null;
      return next();
    }
    const row = (await pool.query(userQuery, [userId])).rows[0];
    req.user =
      row === undefined
        ? null
        : {
            id: Number(row.id),
            username: row.username,
            createdAt: new Date(Number(row.created_at)),
            email: row.email,
            emailVerified: row.email !== null && Number(row.email_verified) === 1,
          };
    return next();
  });
}

async function honoApp() {
  const { Hono } = await import("hono");
  const app = new Hono();
  if (variant === "ours") {
    const { sessionMiddleware, requireUser } = await import("session-manager/hono");
    const manager = new SessionManager({ database: url, tablePrefix: prefix, autoMigrate: false });
    app.use(sessionMiddleware({ manager }));
    app.get("/me", requireUser(), (c) => c.json(c.get("user")));
  } else if (variant === "floor") {
    const user = floorUser(serverFloor(kind, url, prefix));
    app.use(async (c, next) => {
      c.set("user", await user(c.req.header("cookie")));
      await next();
    });
    app.get("/me", (c) => (c.get("user") ? c.json(c.get("user")) : c.json(unauthorized, 401)));
  } else throw new Error(`no ${variant} variant on Hono`);
  return app;
}

if (framework === "hono") {
  const { serve } = await import("@hono/node-server");
  const app = await honoApp();
  serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
    process.stdout.write(`${JSON.stringify({ port: info.port })}\n`);
  });
} else {
  const server = createServer(await expressApp());
  server.listen(0, "127.0.0.1", () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
}
process.on("SIGTERM", () => process.exit(0));
