import type { Context, MiddlewareHandler } from "hono";
import type { ContentfulStatusCode, StatusCode } from "hono/utils/http-status";
import * as core from "../../src/http/index.js";
import type { HandlerOptions, HttpResult, RequestReader, SessionMiddlewareOptions } from "../../src/http/index.js";
import type { Session, User } from "../../src/types.js";

export type { HandlerOptions, SessionCookieOptions, SessionMiddlewareOptions } from "../../src/http/index.js";

/**
 * The variables `sessionMiddleware()` sets: `c.get("user")` and `c.get("session")`, null when
 * anonymous. Use it as `new Hono<{ Variables: SessionVariables }>()`.
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware())
 * app.get("/", (c) => c.text(c.get("user")?.username ?? "anonymous"))
 * ```
 */
export type SessionVariables = {
  user: User | null;
  session: Session | null;
};

type SessionEnv = { Variables: SessionVariables };

const reader: RequestReader<Context> = {
  method: (c) => c.req.method,
  header: (c, name) => c.req.header(name),
  // Hono's view of the request is its URL: behind a TLS proxy, give the app the https URL.
  origin: (c) => new URL(c.req.url).origin,
  secure: (c) => c.req.url.startsWith("https:"),
  // @hono/node-server passes the Node.js request as c.env.incoming; other runtimes report no address.
  ip: (c) => (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress,
  parsedBody: () => undefined,
  readBody: (c, limit) => core.readWebBody(c.req.raw.body, limit),
};

function send(c: Context, result: HttpResult): Response {
  for (const [name, value] of result.headers) c.header(name, value, { append: true });
  if (result.body === null) return c.body(null, result.status as StatusCode);
  return c.json(result.body, result.status as ContentfulStatusCode);
}

/**
 * Sets `c.get("user")` and `c.get("session")` (null when anonymous), renews or clears the
 * session cookie, and refuses cross-site state-changing requests that carry it (403).
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { SessionManager } from "session-manager"
 * import { requireUser, sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware({ manager: new SessionManager() }))
 * app.get("/me", requireUser(), (c) => c.json({ user: c.get("user") }))
 * ```
 */
export function sessionMiddleware(options: SessionMiddlewareOptions = {}): MiddlewareHandler<SessionEnv> {
  const resolved = core.resolveMiddlewareOptions(options);
  return async function session(c, next) {
    const answer = core.authenticate(resolved, reader, c);
    const state = answer instanceof Promise ? await answer : answer;
    if (state.setCookie !== null) c.header("Set-Cookie", state.setCookie, { append: true });
    if (state.forbidden) return send(c, core.FORBIDDEN);
    c.set("user", state.user);
    c.set("session", state.session);
    await next();
  };
}

/**
 * Lets signed-in requests through; answers others 401 `{"error":"unauthorized"}` or 303 to `redirectTo`.
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { loginHandler, logoutHandler, registerHandler, requireUser, sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware())
 * app.get("/me", requireUser(), (c) => c.json({ user: c.get("user") }))
 * ```
 */
export function requireUser(options: HandlerOptions = {}): MiddlewareHandler<SessionEnv> {
  const answer = core.unauthorized(core.resolveHandlerOptions(options));
  return async function requireUser(c, next) {
    if (c.get("user")) await next();
    else return send(c, answer);
  };
}

/**
 * Logs in from a JSON or form body with `username` and `password`; 200 `{"user":…}` + cookie; 401, 429
 * when throttled, 503 when hashing is saturated, 403 for a cross-site request.
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { loginHandler, logoutHandler, registerHandler, requireUser, sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware())
 * app.post("/login", loginHandler())
 * ```
 */
export function loginHandler(options: HandlerOptions = {}): MiddlewareHandler<SessionEnv> {
  return handler("loginHandler", core.login, options);
}

/**
 * Creates the user and logs in; 201 `{"user":…}` + cookie, 409 when the name is taken, 503 when hashing
 * is saturated, 403 for a cross-site request.
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { loginHandler, logoutHandler, registerHandler, requireUser, sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware())
 * app.post("/register", registerHandler())
 * ```
 */
export function registerHandler(options: HandlerOptions = {}): MiddlewareHandler<SessionEnv> {
  return handler("registerHandler", core.register, options);
}

/**
 * Ends the session and clears the cookie; 204, or 303 to `redirectTo`.
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { loginHandler, logoutHandler, registerHandler, requireUser, sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware())
 * app.post("/logout", logoutHandler({ redirectTo: "/login" }))
 * ```
 */
export function logoutHandler(options: HandlerOptions = {}): MiddlewareHandler<SessionEnv> {
  return handler("logoutHandler", core.logout, options);
}

function handler(name: string, flow: typeof core.login, options: HandlerOptions): MiddlewareHandler<SessionEnv> {
  const resolved = core.resolveHandlerOptions(options);
  return async function sessionHandler(c) {
    return send(c, await flow(core.boundMiddleware(c, name), resolved, reader, c));
  };
}
