import type { NextFunction, Request, RequestHandler, Response } from "express";
import * as core from "../../src/http/index.js";
import type { HandlerOptions, HttpResult, RequestReader, SessionMiddlewareOptions } from "../../src/http/index.js";
import type { Session, User } from "../../src/types.js";

export type { HandlerOptions, SessionCookieOptions, SessionMiddlewareOptions } from "../../src/http/index.js";

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

function handler(name: string, flow: typeof core.login, options: HandlerOptions): RequestHandler {
  const resolved = core.resolveHandlerOptions(options);
  // Express 5 passes a rejected promise, or a throw inside it, to the app's error handling.
  return async function sessionHandler(req: Request, res: Response): Promise<void> {
    send(res, await flow(core.boundMiddleware(req, name), resolved, reader, req));
  };
}
