import type { Context, Middleware, Next, ParameterizedContext } from "koa";
import * as core from "../../src/http/index.js";
import type {
  ConfirmEmailChangeHandlerOptions,
  EmailLinkHandlerOptions,
  HandlerOptions,
  HttpResult,
  RequestReader,
  SessionMiddlewareOptions,
} from "../../src/http/index.js";
import type { Session, User } from "../../src/types.js";

export type {
  ConfirmEmailChangeHandlerOptions,
  EmailLinkHandlerOptions,
  EmailMessage,
  HandlerOptions,
  SendEmail,
  SessionCookieOptions,
  SessionMiddlewareOptions,
} from "../../src/http/index.js";

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
  query: (ctx, name) => {
    // A repeated parameter is an array: the first one counts, as in the other adapters.
    const value = ctx.query[name];
    const first = Array.isArray(value) ? value[0] : value;
    return typeof first === "string" ? first : undefined;
  },
  user: (ctx) => (ctx.state as Partial<SessionState>).user ?? null,
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

/**
 * `POST` handler, `identifier` (a username or an email address): always 202 `{"status":"accepted"}` for a well-formed body, at once, whether or not an account matched; the reset link is then sent to the account's stored address through `sendEmail`. Delivery errors become `email_delivery_failed` events.
 *
 * ### Examples
 *
 * ```ts
 * import Router from "@koa/router"
 * import Koa from "koa"
 * import { passwordResetRequestHandler, sessionMiddleware, type SessionState } from "session-manager/koa"
 *
 * const app = new Koa<SessionState>()
 * const router = new Router<SessionState>()
 * app.use(sessionMiddleware())
 * app.use(router.routes())
 * router.post("/forgot-password", passwordResetRequestHandler({
 *   link: "https://app.example.com/reset-password",
 *   sendEmail: async (message) => console.log(`to ${message.to}: ${message.kind}`),
 * }))
 * ```
 */
export function passwordResetRequestHandler(options: EmailLinkHandlerOptions): Middleware<SessionState> {
  return flowHandler("passwordResetRequestHandler", core.recoveryFlows.passwordResetRequest(options));
}

/**
 * `POST` handler, `token` and `password`: sets the new password, revokes every session of the user and clears the session cookie; 200 `{"user":…}` or 303 to `redirectTo`; 400 `invalid_token`, 400 `invalid_password` (the token stays usable). Never signs in; a GET never consumes the token.
 *
 * ### Examples
 *
 * ```ts
 * import Router from "@koa/router"
 * import Koa from "koa"
 * import { passwordResetHandler, sessionMiddleware, type SessionState } from "session-manager/koa"
 *
 * const app = new Koa<SessionState>()
 * const router = new Router<SessionState>()
 * app.use(sessionMiddleware())
 * app.use(router.routes())
 * router.post("/reset-password", passwordResetHandler({ redirectTo: "/login" }))
 * ```
 */
export function passwordResetHandler(options: HandlerOptions = {}): Middleware<SessionState> {
  return flowHandler("passwordResetHandler", core.recoveryFlows.passwordReset(options));
}

/**
 * `POST` handler for a signed-in user: sends a link verifying their address through `sendEmail`; 202, 401 when signed out.
 *
 * ### Examples
 *
 * ```ts
 * import Router from "@koa/router"
 * import Koa from "koa"
 * import { emailVerificationRequestHandler, sessionMiddleware, type SessionState } from "session-manager/koa"
 *
 * const app = new Koa<SessionState>()
 * const router = new Router<SessionState>()
 * app.use(sessionMiddleware())
 * app.use(router.routes())
 * router.post("/send-verification", emailVerificationRequestHandler({
 *   link: "https://app.example.com/verify-email",
 *   sendEmail: async (message) => console.log(`to ${message.to}: ${message.kind}`),
 * }))
 * ```
 */
export function emailVerificationRequestHandler(options: EmailLinkHandlerOptions): Middleware<SessionState> {
  return flowHandler("emailVerificationRequestHandler", core.recoveryFlows.emailVerificationRequest(options));
}

/**
 * `GET` (`?token=`, the link itself) or `POST` (`token`) handler: marks the address verified; 200 `{"user":…}` or 303 to `redirectTo`; 400 `invalid_token`.
 *
 * ### Examples
 *
 * ```ts
 * import Router from "@koa/router"
 * import Koa from "koa"
 * import { verifyEmailHandler, sessionMiddleware, type SessionState } from "session-manager/koa"
 *
 * const app = new Koa<SessionState>()
 * const router = new Router<SessionState>()
 * app.use(sessionMiddleware())
 * app.use(router.routes())
 * router.get("/verify-email", verifyEmailHandler({ redirectTo: "/account" }))
 * router.post("/verify-email", verifyEmailHandler({ redirectTo: "/account" }))
 * ```
 */
export function verifyEmailHandler(options: HandlerOptions = {}): Middleware<SessionState> {
  return flowHandler("verifyEmailHandler", core.recoveryFlows.verifyEmail(options));
}

/**
 * `POST` handler for a signed-in user, `email`: sends a confirmation link to the new address; the account keeps its address until the link is followed. 202; 400 `invalid_email`, 409 `email_taken`, 401 when signed out.
 *
 * ### Examples
 *
 * ```ts
 * import Router from "@koa/router"
 * import Koa from "koa"
 * import { emailChangeHandler, sessionMiddleware, type SessionState } from "session-manager/koa"
 *
 * const app = new Koa<SessionState>()
 * const router = new Router<SessionState>()
 * app.use(sessionMiddleware())
 * app.use(router.routes())
 * router.post("/change-email", emailChangeHandler({
 *   link: "https://app.example.com/confirm-email",
 *   sendEmail: async (message) => console.log(`to ${message.to}: ${message.kind}`),
 * }))
 * ```
 */
export function emailChangeHandler(options: EmailLinkHandlerOptions): Middleware<SessionState> {
  return flowHandler("emailChangeHandler", core.recoveryFlows.emailChange(options));
}

/**
 * `GET` (`?token=`) or `POST` (`token`) handler: gives the account its new, verified address, and with `sendEmail` tells the old address; 200 `{"user":…}` or 303 to `redirectTo`; 400 `invalid_token`.
 *
 * ### Examples
 *
 * ```ts
 * import Router from "@koa/router"
 * import Koa from "koa"
 * import { confirmEmailChangeHandler, sessionMiddleware, type SessionState } from "session-manager/koa"
 *
 * const app = new Koa<SessionState>()
 * const router = new Router<SessionState>()
 * app.use(sessionMiddleware())
 * app.use(router.routes())
 * router.get("/confirm-email", confirmEmailChangeHandler({ redirectTo: "/account" }))
 * router.post("/confirm-email", confirmEmailChangeHandler({ redirectTo: "/account" }))
 * ```
 */
export function confirmEmailChangeHandler(options: ConfirmEmailChangeHandlerOptions = {}): Middleware<SessionState> {
  return flowHandler("confirmEmailChangeHandler", core.recoveryFlows.confirmEmailChange(options));
}

function handler(name: string, flow: typeof core.login, options: HandlerOptions): Middleware<SessionState> {
  const resolved = core.resolveHandlerOptions(options);
  return flowHandler(name, (middleware, reader, req) => flow(middleware, resolved, reader, req));
}

function flowHandler(name: string, flow: core.Flow): Middleware<SessionState> {
  return async function sessionHandler(ctx: ParameterizedContext<SessionState>): Promise<void> {
    send(ctx, await flow(core.boundMiddleware(ctx, name), reader, ctx));
  };
}
