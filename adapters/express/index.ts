import type { NextFunction, Request, RequestHandler, Response } from "express";
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

declare global {
  // Express types its request through this global namespace: merging is its extension point.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The signed-in user, or null; set by `sessionMiddleware()`. */
      user: User | null;
      /** The current session, or null; set by `sessionMiddleware()`. */
      authSession: Session | null;
    }
  }
}

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
  user: (req) => req.user ?? null,
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
 * Sets `req.user` and `req.authSession` (null when anonymous), renews or clears the session
 * cookie, and refuses cross-site state-changing requests that carry it (403).
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
    const state = core.authenticate(resolved, reader, req);
    if (state instanceof Promise) state.then((answered) => proceed(req, res, next, answered), next);
    else proceed(req, res, next, state);
  };
}

function proceed(req: Request, res: Response, next: NextFunction, state: core.RequestSession): void {
  if (state.setCookie !== null) res.append("Set-Cookie", state.setCookie);
  if (state.forbidden) return send(res, core.FORBIDDEN);
  req.user = state.user;
  req.authSession = state.session;
  next();
}

/**
 * Lets signed-in requests through; answers others 401 `{"error":"unauthorized"}` or 303 to `redirectTo`.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { loginHandler, logoutHandler, registerHandler, requireUser, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.get("/me", requireUser(), (req, res) => {
 *   res.json({ user: req.user })
 * })
 * app.get("/account", requireUser({ redirectTo: "/login" }), (req, res) => {
 *   res.send(`Hello ${req.user?.username}`)
 * })
 * ```
 */
export function requireUser(options: HandlerOptions = {}): RequestHandler {
  const answer = core.unauthorized(core.resolveHandlerOptions(options));
  return function requireUser(req: Request, res: Response, next: NextFunction): void {
    if (req.user) next();
    else send(res, answer);
  };
}

/**
 * `POST` handler: logs in from a JSON or form body with `username` and `password`; 200 `{"user":…}` + cookie; 401, 429 when throttled, 503 when hashing is saturated, 403 for a cross-site request.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { loginHandler, logoutHandler, registerHandler, requireUser, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.post("/login", loginHandler())
 * // HTML forms: 303 to "/" on success, to "/login?error=…" on failure
 * app.post("/login-form", loginHandler({ redirectTo: "/", failureRedirectTo: "/login" }))
 * ```
 */
export function loginHandler(options: HandlerOptions = {}): RequestHandler {
  return handler("loginHandler", core.login, options);
}

/**
 * `POST` handler: creates the user and logs in; 201 `{"user":…}` + cookie, 409 when the name is taken, 503 when hashing is saturated, 403 for a cross-site request.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { loginHandler, logoutHandler, registerHandler, requireUser, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.post("/register", registerHandler())
 * ```
 */
export function registerHandler(options: HandlerOptions = {}): RequestHandler {
  return handler("registerHandler", core.register, options);
}

/**
 * `POST` handler: ends the session and clears the cookie; 204, or 303 to `redirectTo`.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { loginHandler, logoutHandler, registerHandler, requireUser, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.post("/logout", logoutHandler({ redirectTo: "/login" }))
 * ```
 */
export function logoutHandler(options: HandlerOptions = {}): RequestHandler {
  return handler("logoutHandler", core.logout, options);
}

/**
 * `POST` handler, `identifier` (a username or an email address): always 202 `{"status":"accepted"}` for a well-formed body, at once, whether or not an account matched; the reset link is then sent to the account's stored address through `sendEmail`. Delivery errors become `email_delivery_failed` events.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { passwordResetRequestHandler, sessionMiddleware } from "session-manager/express"
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
  return flowHandler("passwordResetRequestHandler", core.recoveryFlows.passwordResetRequest(options));
}

/**
 * `POST` handler, `token` and `password`: sets the new password, revokes every session of the user and clears the session cookie; 200 `{"user":…}` or 303 to `redirectTo`; 400 `invalid_token`, 400 `invalid_password` (the token stays usable). Never signs in; a GET never consumes the token.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { passwordResetHandler, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.post("/reset-password", passwordResetHandler({ redirectTo: "/login" }))
 * ```
 */
export function passwordResetHandler(options: HandlerOptions = {}): RequestHandler {
  return flowHandler("passwordResetHandler", core.recoveryFlows.passwordReset(options));
}

/**
 * `POST` handler for a signed-in user: sends a link verifying their address through `sendEmail`; 202, 401 when signed out.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { emailVerificationRequestHandler, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.post("/send-verification", emailVerificationRequestHandler({
 *   link: "https://app.example.com/verify-email",
 *   sendEmail: async (message) => console.log(`to ${message.to}: ${message.kind}`),
 * }))
 * ```
 */
export function emailVerificationRequestHandler(options: EmailLinkHandlerOptions): RequestHandler {
  return flowHandler("emailVerificationRequestHandler", core.recoveryFlows.emailVerificationRequest(options));
}

/**
 * `GET` (`?token=`, the link itself) or `POST` (`token`) handler: marks the address verified; 200 `{"user":…}` or 303 to `redirectTo`; 400 `invalid_token`.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { verifyEmailHandler, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.get("/verify-email", verifyEmailHandler({ redirectTo: "/account" }))
 * app.post("/verify-email", verifyEmailHandler({ redirectTo: "/account" }))
 * ```
 */
export function verifyEmailHandler(options: HandlerOptions = {}): RequestHandler {
  return flowHandler("verifyEmailHandler", core.recoveryFlows.verifyEmail(options));
}

/**
 * `POST` handler for a signed-in user, `email`: sends a confirmation link to the new address; the account keeps its address until the link is followed. 202; 400 `invalid_email`, 409 `email_taken`, 401 when signed out.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { emailChangeHandler, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.post("/change-email", emailChangeHandler({
 *   link: "https://app.example.com/confirm-email",
 *   sendEmail: async (message) => console.log(`to ${message.to}: ${message.kind}`),
 * }))
 * ```
 */
export function emailChangeHandler(options: EmailLinkHandlerOptions): RequestHandler {
  return flowHandler("emailChangeHandler", core.recoveryFlows.emailChange(options));
}

/**
 * `GET` (`?token=`) or `POST` (`token`) handler: gives the account its new, verified address, and with `sendEmail` tells the old address; 200 `{"user":…}` or 303 to `redirectTo`; 400 `invalid_token`.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { confirmEmailChangeHandler, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.get("/confirm-email", confirmEmailChangeHandler({ redirectTo: "/account" }))
 * app.post("/confirm-email", confirmEmailChangeHandler({ redirectTo: "/account" }))
 * ```
 */
export function confirmEmailChangeHandler(options: ConfirmEmailChangeHandlerOptions = {}): RequestHandler {
  return flowHandler("confirmEmailChangeHandler", core.recoveryFlows.confirmEmailChange(options));
}

function handler(name: string, flow: typeof core.login, options: HandlerOptions): RequestHandler {
  const resolved = core.resolveHandlerOptions(options);
  return flowHandler(name, (middleware, reader, req) => flow(middleware, resolved, reader, req));
}

function flowHandler(name: string, flow: core.Flow): RequestHandler {
  // Express 5 passes a rejected promise, or a throw inside it, to the app's error handling.
  return async function sessionHandler(req: Request, res: Response): Promise<void> {
    send(res, await flow(core.boundMiddleware(req, name), reader, req));
  };
}
