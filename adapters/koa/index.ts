import type { Context, Middleware, Next, ParameterizedContext } from "koa";
import * as core from "../../src/http/index.js";
import type { HandlerOptions, HttpResult, RequestReader, SessionMiddlewareOptions } from "../../src/http/index.js";
import type { Session, User } from "../../src/types.js";

export type { HandlerOptions, SessionCookieOptions, SessionMiddlewareOptions } from "../../src/http/index.js";

/**
 * What `sessionMiddleware()` puts in `ctx.state`.
 *
 * ### Examples
 *
 * ```ts
 * import Koa from "koa"
 * import { sessionMiddleware, type SessionState } from "session-manager/koa"
 *
 * const app = new Koa<SessionState>()
 * app.use(sessionMiddleware())
 * app.use((ctx) => {
 *   ctx.body = ctx.state.user === null ? "anonymous" : `hello ${ctx.state.user.username}`
 * })
 * ```
 */
export interface SessionState {
  /** The signed-in user, or null. */
  user: User | null;
  /** The current session, or null. */
  session: Session | null;
}

const reader: RequestReader<Context> = {
  method: (ctx) => ctx.method,
  header: (ctx, name) => {
    const value = ctx.headers[name];
    return typeof value === "string" ? value : undefined;
  },
  // ctx.protocol, ctx.host, ctx.secure and ctx.ip follow app.proxy (Koa 3's ctx.origin is the Origin header).
  origin: (ctx) => `${ctx.protocol}://${ctx.host}`,
  secure: (ctx) => ctx.secure,
  ip: (ctx) => ctx.ip,
  // Set by @koa/bodyparser or koa-body when one runs before the handler.
  parsedBody: (ctx) => (ctx.request as { body?: unknown }).body,
  readBody: (ctx, limit) => core.readNodeBody(ctx.req, limit),
};

function send(ctx: Context, result: HttpResult): void {
  for (const [name, value] of result.headers) ctx.append(name, value);
  // Koa turns a null body into 204 unless the status comes after it.
  ctx.body = result.body;
  ctx.status = result.status;
}

/**
 * Sets `ctx.state.user` and `ctx.state.session` (null when anonymous), renews or clears the
 * session cookie, and refuses cross-site state-changing requests that carry it (403).
 *
 * ### Examples
 *
 * ```ts
 * import Koa from "koa"
 * import { SessionManager } from "session-manager"
 * import { sessionMiddleware, type SessionState } from "session-manager/koa"
 *
 * const app = new Koa<SessionState>()
 * app.use(sessionMiddleware({ manager: new SessionManager() }))
 * app.use((ctx) => {
 *   ctx.body = { user: ctx.state.user }
 * })
 * ```
 */
export function sessionMiddleware(options: SessionMiddlewareOptions = {}): Middleware<SessionState> {
  const resolved = core.resolveMiddlewareOptions(options);
  return async function session(ctx: ParameterizedContext<SessionState>, next: Next): Promise<void> {
    const answer = core.authenticate(resolved, reader, ctx);
    const state = answer instanceof Promise ? await answer : answer;
    if (state.setCookie !== null) ctx.append("Set-Cookie", state.setCookie);
    if (state.forbidden) return send(ctx, core.FORBIDDEN);
    ctx.state.user = state.user;
    ctx.state.session = state.session;
    await next();
  };
}

/**
 * Lets signed-in requests through; answers others 401 `{"error":"unauthorized"}` or 303 to `redirectTo`.
 *
 * ### Examples
 *
 * ```ts
 * import Router from "@koa/router"
 * import Koa from "koa"
 * import { loginHandler, logoutHandler, registerHandler, requireUser, sessionMiddleware, type SessionState } from "session-manager/koa"
 *
 * const app = new Koa<SessionState>()
 * const router = new Router<SessionState>()
 * app.use(sessionMiddleware())
 * app.use(router.routes())
 * router.get("/me", requireUser(), (ctx) => {
 *   ctx.body = { user: ctx.state.user }
 * })
 * ```
 */
export function requireUser(options: HandlerOptions = {}): Middleware<SessionState> {
  const answer = core.unauthorized(core.resolveHandlerOptions(options));
  return async function requireUser(ctx: ParameterizedContext<SessionState>, next: Next): Promise<void> {
    if (ctx.state.user) await next();
    else send(ctx, answer);
  };
}

/**
 * Logs in from a JSON or form body with `username` and `password`; 200 `{"user":…}` + cookie; 401, 429
 * when throttled, 503 when hashing is saturated, 403 for a cross-site request.
 *
 * ### Examples
 *
 * ```ts
 * import Router from "@koa/router"
 * import Koa from "koa"
 * import { loginHandler, logoutHandler, registerHandler, requireUser, sessionMiddleware, type SessionState } from "session-manager/koa"
 *
 * const app = new Koa<SessionState>()
 * const router = new Router<SessionState>()
 * app.use(sessionMiddleware())
 * app.use(router.routes())
 * router.post("/login", loginHandler())
 * ```
 */
export function loginHandler(options: HandlerOptions = {}): Middleware<SessionState> {
  return handler("loginHandler", core.login, options);
}

/**
 * Creates the user and logs in; 201 `{"user":…}` + cookie, 409 when the name is taken, 503 when hashing
 * is saturated, 403 for a cross-site request.
 *
 * ### Examples
 *
 * ```ts
 * import Router from "@koa/router"
 * import Koa from "koa"
 * import { loginHandler, logoutHandler, registerHandler, requireUser, sessionMiddleware, type SessionState } from "session-manager/koa"
 *
 * const app = new Koa<SessionState>()
 * const router = new Router<SessionState>()
 * app.use(sessionMiddleware())
 * app.use(router.routes())
 * router.post("/register", registerHandler())
 * ```
 */
export function registerHandler(options: HandlerOptions = {}): Middleware<SessionState> {
  return handler("registerHandler", core.register, options);
}

/**
 * Ends the session and clears the cookie; 204, or 303 to `redirectTo`.
 *
 * ### Examples
 *
 * ```ts
 * import Router from "@koa/router"
 * import Koa from "koa"
 * import { loginHandler, logoutHandler, registerHandler, requireUser, sessionMiddleware, type SessionState } from "session-manager/koa"
 *
 * const app = new Koa<SessionState>()
 * const router = new Router<SessionState>()
 * app.use(sessionMiddleware())
 * app.use(router.routes())
 * router.post("/logout", logoutHandler({ redirectTo: "/login" }))
 * ```
 */
export function logoutHandler(options: HandlerOptions = {}): Middleware<SessionState> {
  return handler("logoutHandler", core.logout, options);
}

function handler(name: string, flow: typeof core.login, options: HandlerOptions): Middleware<SessionState> {
  const resolved = core.resolveHandlerOptions(options);
  return async function sessionHandler(ctx: ParameterizedContext<SessionState>): Promise<void> {
    send(ctx, await flow(core.boundMiddleware(ctx, name), resolved, reader, ctx));
  };
}
