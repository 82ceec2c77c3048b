import type { NextFunction, Request, RequestHandler, Response } from "express";
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
import type { Session, User as SessionUser } from "../../src/types.js";

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

declare global {
  // Express types its request through this global namespace: merging is its extension point.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    /**
     * The signed-in user. Declared the way `@types/passport` declares it (an interface of this
     * namespace, `req.user` optional), so that both packages type-check in one app.
     */
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- merged with the app's and Passport's declarations
    interface User extends SessionUser {}
    interface Request {
      /** The signed-in user, undefined when anonymous; set by `sessionMiddleware()`. */
      user?: User | undefined;
      /** The current session, or null; set by `sessionMiddleware()`. */
      authSession: Session | null;
    }
  }
}

/** An Express request known to be signed in, as `withUser` hands it to its handler. */
export type SignedInRequest = Request & { user: Express.User; authSession: Session };

const reader: RequestReader<Request> = {
  method: (req) => req.method,
  header: (req, name) => {
    const value = req.headers[name];
    return typeof value === "string" ? value : undefined;
  },
  // req.protocol, req.host and req.secure follow the app's "trust proxy" setting.
  origin: (req) => `${req.protocol}://${req.host}`,
  secure: (req) => req.secure,
  ip: (req) => req.ip,
  query: (req, name) => {
    // A repeated parameter is an array: the first one counts, as in the other adapters.
    const value: unknown = req.query[name];
    const first: unknown = Array.isArray(value) ? value[0] : value;
    return typeof first === "string" ? first : undefined;
  },
  param: (req, name) => {
    const value: unknown = req.params[name];
    return typeof value === "string" ? value : undefined;
  },
  user: (req) => req.user ?? null,
  session: (req) => req.authSession ?? null,
  parsedBody: (req): unknown => req.body,
  readBody: (req, limit) => core.readNodeBody(req, limit),
};

function send(res: Response, result: HttpResult): void {
  for (const [name, value] of result.headers) res.append(name, value);
  res.status(result.status);
  if (result.body === null) res.end();
  else res.json(result.body);
}

/**
 * Sets `req.user` (undefined when anonymous) and `req.authSession` (null when anonymous), renews
 * or clears the session cookie, and refuses cross-site state-changing requests that carry it (403).
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { SessionManager } from "session-manager"
 * import { requireUser, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware({ manager: new SessionManager({ database: "postgres://localhost/app" }) }))
 * app.get("/me", requireUser(), (req, res) => {
 *   res.json({ user: req.user })
 * })
 * ```
 */
export function sessionMiddleware(options: SessionMiddlewareOptions = {}): RequestHandler {
  const resolved = core.resolveMiddlewareOptions(options);
  return function session(req: Request, res: Response, next: NextFunction): void {
    // Koa and Hono call a middleware with (context, next): this one was mounted in the wrong framework.
    if (typeof next !== "function") throw wrongFramework();
    const state = core.authenticate(resolved, reader, req);
    if (state instanceof Promise) state.then((answered) => proceed(req, res, next, answered), next);
    else proceed(req, res, next, state);
  };
}

function proceed(req: Request, res: Response, next: NextFunction, state: core.RequestSession): void {
  if (state.setCookie !== null) res.append("Set-Cookie", state.setCookie);
  if (state.forbidden) return send(res, core.FORBIDDEN);
  req.user = state.user ?? undefined;
  req.authSession = state.session;
  next();
}

function wrongFramework(): InvalidOptionsError {
  return new InvalidOptionsError(
    "this sessionMiddleware is session-manager/express's, but it was called the way Koa or Hono call middleware: import it from session-manager/koa or session-manager/hono",
  );
}

/**
 * Lets signed-in requests through; answers others 401 `{"error":"unauthorized"}` or 303 to
 * `redirectTo`. With `fresh: seconds`, a session whose password was last presented longer ago gets
 * 403 `{"error":"reauthentication_required"}`, or 303 to `reauthenticateRedirectTo`. Without
 * `sessionMiddleware()` before it, every request fails with an error naming it.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { requireUser, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.get("/me", requireUser(), (req, res) => {
 *   res.json({ user: req.user })
 * })
 * app.get("/account", requireUser({ redirectTo: "/login" }), (req, res) => {
 *   res.send(`Hello ${req.user?.username}`)
 * })
 * app.post("/account/delete", requireUser({ fresh: 600, reauthenticateRedirectTo: "/confirm-password" }), (req, res) => {
 *   res.sendStatus(204)
 * })
 * ```
 */
export function requireUser(options: RequireUserOptions = {}): RequestHandler {
  const guard = core.guard(options);
  return function requireUser(req: Request, res: Response, next: NextFunction): void {
    const refused = guard(reader, req);
    if (refused === null) next();
    else send(res, refused);
  };
}

/**
 * `requireUser` and the route handler in one, the handler getting a request whose `user` and
 * `authSession` are typed non-null: no `!` and no check in the handler.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { sessionMiddleware, withUser } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.get(
 *   "/account",
 *   withUser((req, res) => {
 *     res.send(`Hello ${req.user.username}, signed in since ${req.authSession.createdAt.toISOString()}`)
 *   }),
 * )
 * app.post("/account/delete", withUser((req, res) => res.sendStatus(204), { fresh: 600 }))
 * ```
 */
export function withUser(
  handler: (req: SignedInRequest, res: Response, next: NextFunction) => unknown,
  options: RequireUserOptions = {},
): RequestHandler {
  const guard = core.guard(options, "withUser");
  return async function withUser(req: Request, res: Response, next: NextFunction): Promise<void> {
    const refused = guard(reader, req);
    if (refused !== null) return send(res, refused);
    await handler(req as SignedInRequest, res, next);
  };
}

/**
 * Logs in from a JSON or form body with `username` and `password` (and `remember` with `{ remember: "checkbox" }`); 200 `{"user":…}` + cookie; for an account with two-factor authentication, 200 `{"twoFactorRequired":true}` (or 303 to `twoFactorRedirectTo`) with a short-lived pending cookie for `twoFactorHandler` instead; 401, 429 when throttled, 503 when hashing is saturated, 403 for a cross-site request.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { loginHandler, requireUser, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.post("/login", loginHandler({ remember: "checkbox", redirectTo: "/", failureRedirectTo: "/login" }))
 * ```
 */
export function loginHandler(options: LoginHandlerOptions = {}): RequestHandler {
  return flowHandler("loginHandler", core.flows.login(options));
}

/**
 * Finishes a sign-in that waits for its second factor: `code` (from the authenticator app, or a recovery code) against the pending cookie `loginHandler` set; 200 `{"user":…}` + session cookie or 303 to `redirectTo`, 401 `invalid_code` (a wrong code, or no pending sign-in: it lives 5 minutes and dies after 5 wrong codes), 429 while the username is throttled, 403 for a cross-site request.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { loginHandler, sessionMiddleware, twoFactorHandler } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.post("/login", loginHandler({ redirectTo: "/", twoFactorRedirectTo: "/login/code" }))
 * app.post("/login/code", twoFactorHandler({ redirectTo: "/", failureRedirectTo: "/login/code" }))
 * ```
 */
export function twoFactorHandler(options: HandlerOptions = {}): RequestHandler {
  return flowHandler("twoFactorHandler", core.flows.twoFactor(options));
}

/**
 * Signed in with the password within `fresh` seconds (default 600, else 403 `reauthentication_required`): begins setting up TOTP; 200 `{"secret":…,"uri":…}` (show `uri` as a QR code, `secret` for typing), 409 `totp_already_enabled`.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { recoveryCodesHandler, requireUser, sessionMiddleware, totpConfirmHandler, totpDisableHandler, totpSetupHandler } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.post("/account/two-factor/setup", totpSetupHandler())
 * app.post("/account/two-factor/confirm", totpConfirmHandler())
 * app.post("/account/two-factor/disable", totpDisableHandler())
 * app.post("/account/two-factor/recovery-codes", recoveryCodesHandler())
 * ```
 */
export function totpSetupHandler(options: TwoFactorSettingsOptions = {}): RequestHandler {
  return flowHandler("totpSetupHandler", core.flows.totpSetup(options));
}

/**
 * Signed in, freshly (as `totpSetupHandler`): POST `code` from the app turns TOTP on; 200 `{"recoveryCodes":[…]}` (10 codes, show them once), 400 `invalid_code`.
 */
export function totpConfirmHandler(options: TwoFactorSettingsOptions = {}): RequestHandler {
  return flowHandler("totpConfirmHandler", core.flows.totpConfirm(options));
}

/**
 * Signed in, freshly (as `totpSetupHandler`): turns TOTP off and signs out every other session; 204 or 303 to `redirectTo`, 409 `totp_not_enabled`.
 */
export function totpDisableHandler(options: TwoFactorSettingsOptions = {}): RequestHandler {
  return flowHandler("totpDisableHandler", core.flows.totpDisable(options));
}

/**
 * Signed in, freshly (as `totpSetupHandler`): new recovery codes, the old ones void, every other session signed out; 200 `{"recoveryCodes":[…]}`, 409 `totp_not_enabled`.
 */
export function recoveryCodesHandler(options: TwoFactorSettingsOptions = {}): RequestHandler {
  return flowHandler("recoveryCodesHandler", core.flows.recoveryCodes(options));
}

/**
 * Creates the user from `username`, `password` and an optional `email`, and logs in; 201 `{"user":…}` + cookie, 409 when the name or address is taken, 400 for an invalid one, 429 past `throttle.ipMaxRegistrations` sign-ups from the client's address in an hour, 503 when hashing is saturated, 403 for a cross-site request.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { registerHandler, requireUser, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.post("/register", registerHandler())
 * ```
 */
export function registerHandler(options: HandlerOptions = {}): RequestHandler {
  return flowHandler("registerHandler", core.flows.register(options));
}

/**
 * Ends the session and clears the cookie; 204, or 303 to `redirectTo`.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { logoutHandler, requireUser, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.post("/logout", logoutHandler({ redirectTo: "/login" }))
 * ```
 */
export function logoutHandler(options: HandlerOptions = {}): RequestHandler {
  return flowHandler("logoutHandler", core.flows.logout(options));
}

/**
 * Signed in, `password`: confirms the password for a sensitive action, marks the session freshly signed in for `requireUser({ fresh })` and rotates its token (new cookie); 200 `{"user":…}` or 303 to `redirectTo`; 401 `invalid_credentials`, 429 when throttled.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { reauthenticateHandler, requireUser, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.post("/confirm-password", requireUser(), reauthenticateHandler({ redirectTo: "/account/security", failureRedirectTo: "/confirm-password" }))
 * ```
 */
export function reauthenticateHandler(options: HandlerOptions = {}): RequestHandler {
  return flowHandler("reauthenticateHandler", core.flows.reauthenticate(options));
}

/**
 * Signed in, `currentPassword` and `newPassword`: checks the current password (throttled like a login), sets the new one, signs out every other device and rotates this session's token; 204 or 303 to `redirectTo`; 400 `invalid_password`, 401 `invalid_credentials`, 429.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { changePasswordHandler, requireUser, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.post("/account/password", requireUser({ fresh: 600, reauthenticateRedirectTo: "/confirm-password" }), changePasswordHandler({ redirectTo: "/account?changed=1", failureRedirectTo: "/account" }))
 * ```
 */
export function changePasswordHandler(options: HandlerOptions = {}): RequestHandler {
  return flowHandler("changePasswordHandler", core.flows.changePassword(options));
}

/**
 * Signed in: 200 `{"sessions":[…]}`, the user's live sessions newest first (`id`, `createdAt`, `expiresAt`, `lastSeenAt`, `authenticatedAt`, `ip`, `userAgent`, `persistent`, and `current: true` on this request's); never a token or a digest.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { sessionsHandler, requireUser, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.get("/sessions", requireUser(), sessionsHandler())
 * ```
 */
export function sessionsHandler(options: HandlerOptions = {}): RequestHandler {
  return flowHandler("sessionsHandler", core.flows.sessions(options));
}

/**
 * Signed in: revokes the user's session whose id is the route parameter `id` (else the body's or the query's `id`), or with `others` every session but this one; 200 `{"revoked":N}` or 303 to `redirectTo`; 404 `not_found` for an id that is not a live session of this user.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { revokeSessionHandler, requireUser, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.delete("/sessions/:id", requireUser(), revokeSessionHandler())
 * ```
 */
export function revokeSessionHandler(options: HandlerOptions = {}): RequestHandler {
  return flowHandler("revokeSessionHandler", core.flows.revokeSession(options));
}

/**
 * `identifier` (a username or an email address): always 202 `{"status":"accepted"}` for a well-formed body, at once, whether or not an account matched; the reset link is then sent to the account's stored address through `sendEmail`. Delivery errors become `email_delivery_failed` events. 429 past `throttle.ipMaxResetRequests` requests from the client's address in an hour, whatever the accounts.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { passwordResetRequestHandler, requireUser, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.post("/forgot-password", passwordResetRequestHandler({
 *   link: "https://app.example.com/reset-password",
 *   sendEmail: async (message) => console.log(`to ${message.to}: ${message.kind}`),
 * }))
 * ```
 */
export function passwordResetRequestHandler(options: EmailLinkHandlerOptions): RequestHandler {
  return flowHandler("passwordResetRequestHandler", core.flows.passwordResetRequest(options));
}

/**
 * `token` and `password`: sets the new password, revokes every session of the user and clears the session cookie; 200 `{"user":…}` or 303 to `redirectTo`; 400 `invalid_token`, 400 `invalid_password` (the token stays usable). Never signs in; only a POST reaches the token (405 otherwise).
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { passwordResetHandler, requireUser, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.post("/reset-password", passwordResetHandler({ redirectTo: "/login" }))
 * ```
 */
export function passwordResetHandler(options: HandlerOptions = {}): RequestHandler {
  return flowHandler("passwordResetHandler", core.flows.passwordReset(options));
}

/**
 * Signed in: sends a link verifying the user's address through `sendEmail`; 202, 401 when signed out.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { emailVerificationRequestHandler, requireUser, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.post("/send-verification", requireUser(), emailVerificationRequestHandler({
 *   link: "https://app.example.com/verify-email",
 *   sendEmail: async (message) => console.log(`to ${message.to}: ${message.kind}`),
 * }))
 * ```
 */
export function emailVerificationRequestHandler(options: EmailLinkHandlerOptions): RequestHandler {
  return flowHandler("emailVerificationRequestHandler", core.flows.emailVerificationRequest(options));
}

/**
 * GET (`?token=`, the link itself) or POST (`token`): marks the address verified; 200 `{"user":…}` or 303 to `redirectTo`; 400 `invalid_token`.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { verifyEmailHandler, requireUser, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.get("/verify-email", verifyEmailHandler({ redirectTo: "/account" }))
 * ```
 */
export function verifyEmailHandler(options: HandlerOptions = {}): RequestHandler {
  return flowHandler("verifyEmailHandler", core.flows.verifyEmail(options));
}

/**
 * Signed in, `email`: sends a confirmation link to the new address; the account keeps its address until the link is followed. 202; 400 `invalid_email`, 409 `email_taken`, 401 when signed out, 403 `reauthentication_required` when the password was last presented more than `fresh` seconds ago (default 600).
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { emailChangeHandler, requireUser, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.post("/change-email", requireUser({ fresh: 600, reauthenticateRedirectTo: "/confirm-password" }), emailChangeHandler({
 *   link: "https://app.example.com/confirm-email",
 *   sendEmail: async (message) => console.log(`to ${message.to}: ${message.kind}`),
 * }))
 * ```
 */
export function emailChangeHandler(options: EmailChangeHandlerOptions): RequestHandler {
  return flowHandler("emailChangeHandler", core.flows.emailChange(options));
}

/**
 * GET (`?token=`) or POST (`token`): gives the account its new, verified address, and with `sendEmail` tells the old address; 200 `{"user":…}` or 303 to `redirectTo`; 400 `invalid_token`.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { confirmEmailChangeHandler, requireUser, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.get("/confirm-email", confirmEmailChangeHandler({ redirectTo: "/account" }))
 * ```
 */
export function confirmEmailChangeHandler(options: ConfirmEmailChangeHandlerOptions = {}): RequestHandler {
  return flowHandler("confirmEmailChangeHandler", core.flows.confirmEmailChange(options));
}

/**
 * The session token in the request's cookie, under the name `sessionMiddleware()` was given: the
 * escape hatch for calling the core yourself (`manager.revokeOtherSessions(token)`). The handlers
 * never need it. Null when the request carries none; throws when `sessionMiddleware()` did not
 * run for the request.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { SessionManager } from "session-manager"
 * import { readSessionCookie, requireUser, sessionMiddleware } from "session-manager/express"
 *
 * const manager = new SessionManager()
 * const app = express()
 * app.use(sessionMiddleware({ manager, cookieName: "__Host-sid" }))
 * app.post("/rotate", requireUser(), async (req, res) => {
 *   const token = readSessionCookie(req)
 *   res.json({ rotated: token !== null && (await manager.rotateSession(token)) !== null })
 * })
 * ```
 */
export function readSessionCookie(req: Request): string | null {
  return core.requestToken(core.boundMiddleware(req, "readSessionCookie"), reader, req);
}

function flowHandler(name: string, flow: core.Flow): RequestHandler {
  // Express 5 passes a rejected promise, or a throw inside it, to the app's error handling.
  return async function sessionHandler(req: Request, res: Response): Promise<void> {
    send(res, await flow(core.boundMiddleware(req, name), reader, req));
  };
}
