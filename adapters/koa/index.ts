import type { Context, Middleware, Next, ParameterizedContext } from "koa";
import { InvalidOptionsError } from "../../src/errors.js";
import * as core from "../../src/http/index.js";
import type {
  ConfirmEmailChangeHandlerOptions,
  EmailChangeHandlerOptions,
  EmailLinkHandlerOptions,
  HandlerOptions,
  HttpResult,
  LoginHandlerOptions,
  RequestReader,
  RequireUserOptions,
  SessionMiddlewareOptions,
  TwoFactorSettingsOptions,
} from "../../src/http/index.js";
import type { Session, User } from "../../src/types.js";

export type {
  ConfirmEmailChangeHandlerOptions,
  EmailChangeHandlerOptions,
  EmailLinkHandlerOptions,
  EmailMessage,
  HandlerOptions,
  LoginHandlerOptions,
  RequireUserOptions,
  SendEmail,
  SessionCookieOptions,
  SessionMiddlewareOptions,
  TwoFactorSettingsOptions,
} from "../../src/http/index.js";
export { errorMessage } from "../../src/http/index.js";

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
  // Set by @koa/router (or any router that fills ctx.params).
  param: (ctx, name) => {
    const value: unknown = (ctx as { params?: Record<string, unknown> }).params?.[name];
    return typeof value === "string" ? value : undefined;
  },
  user: (ctx) => (ctx.state as Partial<SessionState>).user ?? null,
  session: (ctx) => (ctx.state as Partial<SessionState>).session ?? null,
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
    // Express calls a middleware with (req, res, next), Hono with a context that has no `state`.
    if (typeof next !== "function" || typeof ctx.state !== "object") throw wrongFramework();
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
export function requireUser(options: RequireUserOptions = {}): Middleware<SessionState> {
  const guard = core.guard(options);
  return async function requireUser(ctx: ParameterizedContext<SessionState>, next: Next): Promise<void> {
    const refused = guard(reader, ctx);
    if (refused === null) await next();
    else send(ctx, refused);
  };
}

function wrongFramework(): InvalidOptionsError {
  return new InvalidOptionsError(
    "this sessionMiddleware is session-manager/koa's, but it was called the way Express or Hono call middleware: import it from session-manager/express or session-manager/hono",
  );
}

/**
 * Logs in from a JSON or form body with `username` and `password` (and `remember` with `{ remember: "checkbox" }`); 200 `{"user":…}` + cookie; for an account with two-factor authentication, 200 `{"twoFactorRequired":true}` (or 303 to `twoFactorRedirectTo`) with a short-lived pending cookie for `twoFactorHandler` instead; 401, 429 when throttled, 503 when hashing is saturated, 403 for a cross-site request.
 *
 * ### Examples
 *
 * ```ts
 * import Router from "@koa/router"
 * import Koa from "koa"
 * import { loginHandler, requireUser, sessionMiddleware, type SessionState } from "session-manager/koa"
 *
 * const app = new Koa<SessionState>()
 * const router = new Router<SessionState>()
 * app.use(sessionMiddleware())
 * app.use(router.routes())
 * router.post("/login", loginHandler({ remember: "checkbox", redirectTo: "/", failureRedirectTo: "/login" }))
 * ```
 */
export function loginHandler(options: LoginHandlerOptions = {}): Middleware<SessionState> {
  return flowHandler("loginHandler", core.flows.login(options));
}

/**
 * Finishes a sign-in that waits for its second factor: `code` (from the authenticator app, or a recovery code) against the pending cookie `loginHandler` set; 200 `{"user":…}` + session cookie or 303 to `redirectTo`, 401 `invalid_code` (a wrong code, or no pending sign-in: it lives 5 minutes and dies after 5 wrong codes), 429 while the username is throttled, 403 for a cross-site request.
 *
 * ### Examples
 *
 * ```ts
 * import Router from "@koa/router"
 * import Koa from "koa"
 * import { loginHandler, sessionMiddleware, twoFactorHandler, type SessionState } from "session-manager/koa"
 *
 * const app = new Koa<SessionState>()
 * const router = new Router<SessionState>()
 * app.use(sessionMiddleware())
 * app.use(router.routes())
 * router.post("/login", loginHandler())
 * router.post("/login/code", twoFactorHandler())
 * ```
 */
export function twoFactorHandler(options: HandlerOptions = {}): Middleware<SessionState> {
  return flowHandler("twoFactorHandler", core.flows.twoFactor(options));
}

/**
 * Signed in with the password within `fresh` seconds (default 600, else 403 `reauthentication_required`): begins setting up TOTP; 200 `{"secret":…,"uri":…}` (show `uri` as a QR code, `secret` for typing), 409 `totp_already_enabled`.
 *
 * ### Examples
 *
 * ```ts
 * import Router from "@koa/router"
 * import Koa from "koa"
 * import { recoveryCodesHandler, sessionMiddleware, totpConfirmHandler, totpDisableHandler, totpSetupHandler, type SessionState } from "session-manager/koa"
 *
 * const app = new Koa<SessionState>()
 * const router = new Router<SessionState>()
 * app.use(sessionMiddleware())
 * app.use(router.routes())
 * router.post("/account/two-factor/setup", totpSetupHandler())
 * router.post("/account/two-factor/confirm", totpConfirmHandler())
 * router.post("/account/two-factor/disable", totpDisableHandler())
 * router.post("/account/two-factor/recovery-codes", recoveryCodesHandler())
 * ```
 */
export function totpSetupHandler(options: TwoFactorSettingsOptions = {}): Middleware<SessionState> {
  return flowHandler("totpSetupHandler", core.flows.totpSetup(options));
}

/**
 * Signed in, freshly (as `totpSetupHandler`): POST `code` from the app turns TOTP on; 200 `{"recoveryCodes":[…]}` (10 codes, show them once), 400 `invalid_code`.
 */
export function totpConfirmHandler(options: TwoFactorSettingsOptions = {}): Middleware<SessionState> {
  return flowHandler("totpConfirmHandler", core.flows.totpConfirm(options));
}

/**
 * Signed in, freshly (as `totpSetupHandler`): turns TOTP off and signs out every other session; 204 or 303 to `redirectTo`, 409 `totp_not_enabled`.
 */
export function totpDisableHandler(options: TwoFactorSettingsOptions = {}): Middleware<SessionState> {
  return flowHandler("totpDisableHandler", core.flows.totpDisable(options));
}

/**
 * Signed in, freshly (as `totpSetupHandler`): new recovery codes, the old ones void, every other session signed out; 200 `{"recoveryCodes":[…]}`, 409 `totp_not_enabled`.
 */
export function recoveryCodesHandler(options: TwoFactorSettingsOptions = {}): Middleware<SessionState> {
  return flowHandler("recoveryCodesHandler", core.flows.recoveryCodes(options));
}

/**
 * Creates the user from `username`, `password` and an optional `email`, and logs in; 201 `{"user":…}` + cookie, 409 when the name or address is taken, 400 for an invalid one, 429 past `throttle.ipMaxRegistrations` sign-ups from the client's address in an hour, 503 when hashing is saturated, 403 for a cross-site request.
 *
 * ### Examples
 *
 * ```ts
 * import Router from "@koa/router"
 * import Koa from "koa"
 * import { registerHandler, requireUser, sessionMiddleware, type SessionState } from "session-manager/koa"
 *
 * const app = new Koa<SessionState>()
 * const router = new Router<SessionState>()
 * app.use(sessionMiddleware())
 * app.use(router.routes())
 * router.post("/register", registerHandler())
 * ```
 */
export function registerHandler(options: HandlerOptions = {}): Middleware<SessionState> {
  return flowHandler("registerHandler", core.flows.register(options));
}

/**
 * Ends the session and clears the cookie; 204, or 303 to `redirectTo`.
 *
 * ### Examples
 *
 * ```ts
 * import Router from "@koa/router"
 * import Koa from "koa"
 * import { logoutHandler, requireUser, sessionMiddleware, type SessionState } from "session-manager/koa"
 *
 * const app = new Koa<SessionState>()
 * const router = new Router<SessionState>()
 * app.use(sessionMiddleware())
 * app.use(router.routes())
 * router.post("/logout", logoutHandler({ redirectTo: "/login" }))
 * ```
 */
export function logoutHandler(options: HandlerOptions = {}): Middleware<SessionState> {
  return flowHandler("logoutHandler", core.flows.logout(options));
}

/**
 * Signed in, `password`: confirms the password for a sensitive action, marks the session freshly signed in for `requireUser({ fresh })` and rotates its token (new cookie); 200 `{"user":…}` or 303 to `redirectTo`; 401 `invalid_credentials`, 429 when throttled.
 *
 * ### Examples
 *
 * ```ts
 * import Router from "@koa/router"
 * import Koa from "koa"
 * import { reauthenticateHandler, requireUser, sessionMiddleware, type SessionState } from "session-manager/koa"
 *
 * const app = new Koa<SessionState>()
 * const router = new Router<SessionState>()
 * app.use(sessionMiddleware())
 * app.use(router.routes())
 * router.post("/confirm-password", requireUser(), reauthenticateHandler({ redirectTo: "/account/security", failureRedirectTo: "/confirm-password" }))
 * ```
 */
export function reauthenticateHandler(options: HandlerOptions = {}): Middleware<SessionState> {
  return flowHandler("reauthenticateHandler", core.flows.reauthenticate(options));
}

/**
 * Signed in, `currentPassword` and `newPassword`: checks the current password (throttled like a login), sets the new one, signs out every other device and rotates this session's token; 204 or 303 to `redirectTo`; 400 `invalid_password`, 401 `invalid_credentials`, 429.
 *
 * ### Examples
 *
 * ```ts
 * import Router from "@koa/router"
 * import Koa from "koa"
 * import { changePasswordHandler, requireUser, sessionMiddleware, type SessionState } from "session-manager/koa"
 *
 * const app = new Koa<SessionState>()
 * const router = new Router<SessionState>()
 * app.use(sessionMiddleware())
 * app.use(router.routes())
 * router.post("/account/password", requireUser({ fresh: 600, reauthenticateRedirectTo: "/confirm-password" }), changePasswordHandler({ redirectTo: "/account?changed=1", failureRedirectTo: "/account" }))
 * ```
 */
export function changePasswordHandler(options: HandlerOptions = {}): Middleware<SessionState> {
  return flowHandler("changePasswordHandler", core.flows.changePassword(options));
}

/**
 * Signed in: 200 `{"sessions":[…]}`, the user's live sessions newest first (`id`, `createdAt`, `expiresAt`, `lastSeenAt`, `authenticatedAt`, `ip`, `userAgent`, `persistent`, and `current: true` on this request's); never a token or a digest.
 *
 * ### Examples
 *
 * ```ts
 * import Router from "@koa/router"
 * import Koa from "koa"
 * import { sessionsHandler, requireUser, sessionMiddleware, type SessionState } from "session-manager/koa"
 *
 * const app = new Koa<SessionState>()
 * const router = new Router<SessionState>()
 * app.use(sessionMiddleware())
 * app.use(router.routes())
 * router.get("/sessions", requireUser(), sessionsHandler())
 * ```
 */
export function sessionsHandler(options: HandlerOptions = {}): Middleware<SessionState> {
  return flowHandler("sessionsHandler", core.flows.sessions(options));
}

/**
 * Signed in: revokes the user's session whose id is the route parameter `id` (else the body's or the query's `id`), or with `others` every session but this one; 200 `{"revoked":N}` or 303 to `redirectTo`; 404 `not_found` for an id that is not a live session of this user.
 *
 * ### Examples
 *
 * ```ts
 * import Router from "@koa/router"
 * import Koa from "koa"
 * import { revokeSessionHandler, requireUser, sessionMiddleware, type SessionState } from "session-manager/koa"
 *
 * const app = new Koa<SessionState>()
 * const router = new Router<SessionState>()
 * app.use(sessionMiddleware())
 * app.use(router.routes())
 * router.delete("/sessions/:id", requireUser(), revokeSessionHandler())
 * ```
 */
export function revokeSessionHandler(options: HandlerOptions = {}): Middleware<SessionState> {
  return flowHandler("revokeSessionHandler", core.flows.revokeSession(options));
}

/**
 * `identifier` (a username or an email address): always 202 `{"status":"accepted"}` for a well-formed body, at once, whether or not an account matched; the reset link is then sent to the account's stored address through `sendEmail`. Delivery errors become `email_delivery_failed` events. 429 past `throttle.ipMaxResetRequests` requests from the client's address in an hour, whatever the accounts.
 *
 * ### Examples
 *
 * ```ts
 * import Router from "@koa/router"
 * import Koa from "koa"
 * import { passwordResetRequestHandler, requireUser, sessionMiddleware, type SessionState } from "session-manager/koa"
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
  return flowHandler("passwordResetRequestHandler", core.flows.passwordResetRequest(options));
}

/**
 * `token` and `password`: sets the new password, revokes every session of the user and clears the session cookie; 200 `{"user":…}` or 303 to `redirectTo`; 400 `invalid_token`, 400 `invalid_password` (the token stays usable). Never signs in; only a POST reaches the token (405 otherwise).
 *
 * ### Examples
 *
 * ```ts
 * import Router from "@koa/router"
 * import Koa from "koa"
 * import { passwordResetHandler, requireUser, sessionMiddleware, type SessionState } from "session-manager/koa"
 *
 * const app = new Koa<SessionState>()
 * const router = new Router<SessionState>()
 * app.use(sessionMiddleware())
 * app.use(router.routes())
 * router.post("/reset-password", passwordResetHandler({ redirectTo: "/login" }))
 * ```
 */
export function passwordResetHandler(options: HandlerOptions = {}): Middleware<SessionState> {
  return flowHandler("passwordResetHandler", core.flows.passwordReset(options));
}

/**
 * Signed in: sends a link verifying the user's address through `sendEmail`; 202, 401 when signed out.
 *
 * ### Examples
 *
 * ```ts
 * import Router from "@koa/router"
 * import Koa from "koa"
 * import { emailVerificationRequestHandler, requireUser, sessionMiddleware, type SessionState } from "session-manager/koa"
 *
 * const app = new Koa<SessionState>()
 * const router = new Router<SessionState>()
 * app.use(sessionMiddleware())
 * app.use(router.routes())
 * router.post("/send-verification", requireUser(), emailVerificationRequestHandler({
 *   link: "https://app.example.com/verify-email",
 *   sendEmail: async (message) => console.log(`to ${message.to}: ${message.kind}`),
 * }))
 * ```
 */
export function emailVerificationRequestHandler(options: EmailLinkHandlerOptions): Middleware<SessionState> {
  return flowHandler("emailVerificationRequestHandler", core.flows.emailVerificationRequest(options));
}

/**
 * GET (`?token=`, the link itself) or POST (`token`): marks the address verified; 200 `{"user":…}` or 303 to `redirectTo`; 400 `invalid_token`.
 *
 * ### Examples
 *
 * ```ts
 * import Router from "@koa/router"
 * import Koa from "koa"
 * import { verifyEmailHandler, requireUser, sessionMiddleware, type SessionState } from "session-manager/koa"
 *
 * const app = new Koa<SessionState>()
 * const router = new Router<SessionState>()
 * app.use(sessionMiddleware())
 * app.use(router.routes())
 * router.get("/verify-email", verifyEmailHandler({ redirectTo: "/account" }))
 * ```
 */
export function verifyEmailHandler(options: HandlerOptions = {}): Middleware<SessionState> {
  return flowHandler("verifyEmailHandler", core.flows.verifyEmail(options));
}

/**
 * Signed in, `email`: sends a confirmation link to the new address; the account keeps its address until the link is followed. 202; 400 `invalid_email`, 409 `email_taken`, 401 when signed out, 403 `reauthentication_required` when the password was last presented more than `fresh` seconds ago (default 600).
 *
 * ### Examples
 *
 * ```ts
 * import Router from "@koa/router"
 * import Koa from "koa"
 * import { emailChangeHandler, requireUser, sessionMiddleware, type SessionState } from "session-manager/koa"
 *
 * const app = new Koa<SessionState>()
 * const router = new Router<SessionState>()
 * app.use(sessionMiddleware())
 * app.use(router.routes())
 * router.post("/change-email", requireUser({ fresh: 600, reauthenticateRedirectTo: "/confirm-password" }), emailChangeHandler({
 *   link: "https://app.example.com/confirm-email",
 *   sendEmail: async (message) => console.log(`to ${message.to}: ${message.kind}`),
 * }))
 * ```
 */
export function emailChangeHandler(options: EmailChangeHandlerOptions): Middleware<SessionState> {
  return flowHandler("emailChangeHandler", core.flows.emailChange(options));
}

/**
 * GET (`?token=`) or POST (`token`): gives the account its new, verified address, and with `sendEmail` tells the old address; 200 `{"user":…}` or 303 to `redirectTo`; 400 `invalid_token`.
 *
 * ### Examples
 *
 * ```ts
 * import Router from "@koa/router"
 * import Koa from "koa"
 * import { confirmEmailChangeHandler, requireUser, sessionMiddleware, type SessionState } from "session-manager/koa"
 *
 * const app = new Koa<SessionState>()
 * const router = new Router<SessionState>()
 * app.use(sessionMiddleware())
 * app.use(router.routes())
 * router.get("/confirm-email", confirmEmailChangeHandler({ redirectTo: "/account" }))
 * ```
 */
export function confirmEmailChangeHandler(options: ConfirmEmailChangeHandlerOptions = {}): Middleware<SessionState> {
  return flowHandler("confirmEmailChangeHandler", core.flows.confirmEmailChange(options));
}

/**
 * The session token in the request's cookie, under the name `sessionMiddleware()` was given: the
 * escape hatch for calling the core yourself. The handlers never need it. Null when the request
 * carries none; throws when `sessionMiddleware()` did not run for the request.
 *
 * ### Examples
 *
 * ```ts
 * import Koa from "koa"
 * import { SessionManager } from "session-manager"
 * import { readSessionCookie, sessionMiddleware, type SessionState } from "session-manager/koa"
 *
 * const manager = new SessionManager()
 * const app = new Koa<SessionState>()
 * app.use(sessionMiddleware({ manager, cookieName: "__Host-sid" }))
 * app.use(async (ctx) => {
 *   const token = readSessionCookie(ctx)
 *   ctx.body = { rotated: token !== null && (await manager.rotateSession(token)) !== null }
 * })
 * ```
 */
export function readSessionCookie(ctx: Context): string | null {
  return core.requestToken(core.boundMiddleware(ctx, "readSessionCookie"), reader, ctx);
}

function flowHandler(name: string, flow: core.Flow): Middleware<SessionState> {
  return async function sessionHandler(ctx: ParameterizedContext<SessionState>): Promise<void> {
    send(ctx, await flow(core.boundMiddleware(ctx, name), reader, ctx));
  };
}
