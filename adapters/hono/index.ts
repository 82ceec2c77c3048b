import type { Context, MiddlewareHandler } from "hono";
import type { ContentfulStatusCode, StatusCode } from "hono/utils/http-status";
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
  query: (c, name) => c.req.query(name),
  user: (c) => (c as Context<SessionEnv>).get("user") ?? null,
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

/**
 * `POST` handler, `identifier` (a username or an email address): always 202 `{"status":"accepted"}` for a well-formed body, at once, whether or not an account matched; the reset link is then sent to the account's stored address through `sendEmail`. Delivery errors become `email_delivery_failed` events.
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { passwordResetRequestHandler, sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware())
 * app.post("/forgot-password", passwordResetRequestHandler({
 *   link: "https://app.example.com/reset-password",
 *   sendEmail: async (message) => console.log(`to ${message.to}: ${message.kind}`),
 * }))
 * ```
 */
export function passwordResetRequestHandler(options: EmailLinkHandlerOptions): MiddlewareHandler<SessionEnv> {
  return flowHandler("passwordResetRequestHandler", core.recoveryFlows.passwordResetRequest(options));
}

/**
 * `POST` handler, `token` and `password`: sets the new password, revokes every session of the user and clears the session cookie; 200 `{"user":…}` or 303 to `redirectTo`; 400 `invalid_token`, 400 `invalid_password` (the token stays usable). Never signs in; a GET never consumes the token.
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { passwordResetHandler, sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware())
 * app.post("/reset-password", passwordResetHandler({ redirectTo: "/login" }))
 * ```
 */
export function passwordResetHandler(options: HandlerOptions = {}): MiddlewareHandler<SessionEnv> {
  return flowHandler("passwordResetHandler", core.recoveryFlows.passwordReset(options));
}

/**
 * `POST` handler for a signed-in user: sends a link verifying their address through `sendEmail`; 202, 401 when signed out.
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { emailVerificationRequestHandler, sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware())
 * app.post("/send-verification", emailVerificationRequestHandler({
 *   link: "https://app.example.com/verify-email",
 *   sendEmail: async (message) => console.log(`to ${message.to}: ${message.kind}`),
 * }))
 * ```
 */
export function emailVerificationRequestHandler(options: EmailLinkHandlerOptions): MiddlewareHandler<SessionEnv> {
  return flowHandler("emailVerificationRequestHandler", core.recoveryFlows.emailVerificationRequest(options));
}

/**
 * `GET` (`?token=`, the link itself) or `POST` (`token`) handler: marks the address verified; 200 `{"user":…}` or 303 to `redirectTo`; 400 `invalid_token`.
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { verifyEmailHandler, sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware())
 * app.get("/verify-email", verifyEmailHandler({ redirectTo: "/account" }))
 * app.post("/verify-email", verifyEmailHandler({ redirectTo: "/account" }))
 * ```
 */
export function verifyEmailHandler(options: HandlerOptions = {}): MiddlewareHandler<SessionEnv> {
  return flowHandler("verifyEmailHandler", core.recoveryFlows.verifyEmail(options));
}

/**
 * `POST` handler for a signed-in user, `email`: sends a confirmation link to the new address; the account keeps its address until the link is followed. 202; 400 `invalid_email`, 409 `email_taken`, 401 when signed out.
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { emailChangeHandler, sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware())
 * app.post("/change-email", emailChangeHandler({
 *   link: "https://app.example.com/confirm-email",
 *   sendEmail: async (message) => console.log(`to ${message.to}: ${message.kind}`),
 * }))
 * ```
 */
export function emailChangeHandler(options: EmailLinkHandlerOptions): MiddlewareHandler<SessionEnv> {
  return flowHandler("emailChangeHandler", core.recoveryFlows.emailChange(options));
}

/**
 * `GET` (`?token=`) or `POST` (`token`) handler: gives the account its new, verified address, and with `sendEmail` tells the old address; 200 `{"user":…}` or 303 to `redirectTo`; 400 `invalid_token`.
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { confirmEmailChangeHandler, sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware())
 * app.get("/confirm-email", confirmEmailChangeHandler({ redirectTo: "/account" }))
 * app.post("/confirm-email", confirmEmailChangeHandler({ redirectTo: "/account" }))
 * ```
 */
export function confirmEmailChangeHandler(options: ConfirmEmailChangeHandlerOptions = {}): MiddlewareHandler<SessionEnv> {
  return flowHandler("confirmEmailChangeHandler", core.recoveryFlows.confirmEmailChange(options));
}

function handler(name: string, flow: typeof core.login, options: HandlerOptions): MiddlewareHandler<SessionEnv> {
  const resolved = core.resolveHandlerOptions(options);
  return flowHandler(name, (middleware, reader, req) => flow(middleware, resolved, reader, req));
}

function flowHandler(name: string, flow: core.Flow): MiddlewareHandler<SessionEnv> {
  return async function sessionHandler(c) {
    return send(c, await flow(core.boundMiddleware(c, name), reader, c));
  };
}
