import type { Context, MiddlewareHandler } from "hono";
import type { ContentfulStatusCode, StatusCode } from "hono/utils/http-status";
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
  ResolvedMiddlewareOptions,
  SessionMiddlewareOptions as CoreSessionMiddlewareOptions,
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
  TwoFactorSettingsOptions,
} from "../../src/http/index.js";
export { errorMessage } from "../../src/http/index.js";

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

/**
 * Options of `sessionMiddleware(options)`: those of every adapter, and `clientAddress`.
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { getConnInfo } from "@hono/node-server/conninfo"
 * import { sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * // The peer address as the runtime reports it (here Node.js; Bun, Deno and others have their own getConnInfo).
 * app.use(sessionMiddleware({ clientAddress: (c) => getConnInfo(c).remote.address }))
 * ```
 */
export interface SessionMiddlewareOptions extends CoreSessionMiddlewareOptions {
  /**
   * The client's address: what the per-address login throttle and the limits on sign-ups and
   * reset requests count by, and what sessions and events record as `ip`. Default: the peer
   * address the runtime's server reports, read as its `getConnInfo` reads it, under
   * `@hono/node-server`, `Bun.serve` (with `fetch: app.fetch`, or `(req, server) =>
   * app.fetch(req, server)`) and `Deno.serve(app.fetch)`; none elsewhere (Cloudflare, Lambda…:
   * only the per-username rule then applies), where you pass that runtime's `getConnInfo`.
   * Behind a reverse proxy, read the
   * address the proxy appended to `X-Forwarded-For` (its last entry), and only then: any other
   * entry, or the header without a proxy that sets it, is whatever the client wrote.
   */
  clientAddress?: (c: Context) => string | null | undefined;
}

// The `clientAddress` of each middleware that has one, by its resolved options.
const clientAddresses = new WeakMap<ResolvedMiddlewareOptions, (c: Context) => string | null | undefined>();

function clientAddress(c: Context): string | undefined {
  const pick = clientAddresses.get(core.boundMiddleware(c, "sessionMiddleware"));
  if (pick === undefined) return peerAddress(c);
  const address: unknown = pick(c);
  return typeof address === "string" ? address : undefined;
}

/** What the servers of Node.js, Bun and Deno pass to `app.fetch` besides the request, as far as read here. */
interface ServerEnv {
  /** @hono/node-server: the Node.js request. */
  incoming?: { socket?: { remoteAddress?: string } };
  /** Bun.serve: the server itself (or under `server`, when the app passes an object). */
  requestIP?: (request: Request) => { address: string } | null;
  server?: { requestIP?: (request: Request) => { address: string } | null };
  /** Deno.serve: the connection's info. */
  remoteAddr?: { hostname?: string; transport?: string };
}

/**
 * The peer address, read the way each runtime's `getConnInfo` reads it (`@hono/node-server/conninfo`,
 * `hono/bun`, `hono/deno`) from what the runtime's server passed as `c.env`; none when the app
 * runs elsewhere or passes no such `env`.
 */
function peerAddress(c: Context): string | undefined {
  const env = c.env as ServerEnv | undefined;
  if (env === undefined || env === null) return undefined;
  const node = env.incoming?.socket?.remoteAddress;
  if (node !== undefined) return node;
  const bun = typeof env.requestIP === "function" ? env : env.server;
  if (typeof bun?.requestIP === "function") return bun.requestIP(c.req.raw)?.address;
  const deno = env.remoteAddr;
  // A Unix socket's "address" is a path, not a client's.
  return deno?.transport === "tcp" || deno?.transport === "udp" ? deno.hostname : undefined;
}

const reader: RequestReader<Context> = {
  method: (c) => c.req.method,
  header: (c, name) => c.req.header(name),
  // Hono's view of the request is its URL: behind a TLS proxy, give the app the https URL.
  origin: (c) => new URL(c.req.url).origin,
  secure: (c) => c.req.url.startsWith("https:"),
  ip: clientAddress,
  query: (c, name) => c.req.query(name),
  param: (c, name) => c.req.param(name),
  user: (c) => (c as Context<SessionEnv>).get("user") ?? null,
  session: (c) => (c as Context<SessionEnv>).get("session") ?? null,
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
  const pick = (options as SessionMiddlewareOptions | undefined)?.clientAddress;
  if (pick !== undefined && typeof pick !== "function") throw new InvalidOptionsError("clientAddress must be a function of the context");
  const resolved = core.resolveMiddlewareOptions(options, ["clientAddress"]);
  if (pick !== undefined) clientAddresses.set(resolved, pick);
  return async function session(c, next) {
    // Express calls a middleware with (req, res, next), Koa with a context whose `req` is Node.js's.
    if (typeof next !== "function" || typeof (c.req as { header?: unknown } | undefined)?.header !== "function") throw wrongFramework();
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
export function requireUser(options: RequireUserOptions = {}): MiddlewareHandler<SessionEnv> {
  const guard = core.guard(options);
  return async function requireUser(c, next) {
    const refused = guard(reader, c);
    if (refused === null) await next();
    else return send(c, refused);
  };
}

function wrongFramework(): InvalidOptionsError {
  return new InvalidOptionsError(
    "this sessionMiddleware is session-manager/hono's, but it was called the way Express or Koa call middleware: import it from session-manager/express or session-manager/koa",
  );
}

/**
 * Logs in from a JSON or form body with `username` and `password` (and `remember` with `{ remember: "checkbox" }`); 200 `{"user":…}` + cookie; for an account with two-factor authentication, 200 `{"twoFactorRequired":true}` (or 303 to `twoFactorRedirectTo`) with a short-lived pending cookie for `twoFactorHandler` instead; 401, 429 when throttled, 503 when hashing is saturated, 403 for a cross-site request.
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { loginHandler, requireUser, sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware())
 * app.post("/login", loginHandler({ remember: "checkbox", redirectTo: "/", failureRedirectTo: "/login" }))
 * ```
 */
export function loginHandler(options: LoginHandlerOptions = {}): MiddlewareHandler<SessionEnv> {
  return flowHandler("loginHandler", core.flows.login(options));
}

/**
 * Finishes a sign-in that waits for its second factor: `code` (from the authenticator app, or a recovery code) against the pending cookie `loginHandler` set; 200 `{"user":…}` + session cookie or 303 to `redirectTo`, 401 `invalid_code` (a wrong code, or no pending sign-in: it lives 5 minutes and dies after 5 wrong codes), 429 while the username is throttled, 403 for a cross-site request.
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { loginHandler, sessionMiddleware, twoFactorHandler, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware())
 * app.post("/login", loginHandler())
 * app.post("/login/code", twoFactorHandler())
 * ```
 */
export function twoFactorHandler(options: HandlerOptions = {}): MiddlewareHandler<SessionEnv> {
  return flowHandler("twoFactorHandler", core.flows.twoFactor(options));
}

/**
 * Signed in with the password within `fresh` seconds (default 600, else 403 `reauthentication_required`): begins setting up TOTP; 200 `{"secret":…,"uri":…}` (show `uri` as a QR code, `secret` for typing), 409 `totp_already_enabled`.
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { recoveryCodesHandler, sessionMiddleware, totpConfirmHandler, totpDisableHandler, totpSetupHandler, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware())
 * app.post("/account/two-factor/setup", totpSetupHandler())
 * app.post("/account/two-factor/confirm", totpConfirmHandler())
 * app.post("/account/two-factor/disable", totpDisableHandler())
 * app.post("/account/two-factor/recovery-codes", recoveryCodesHandler())
 * ```
 */
export function totpSetupHandler(options: TwoFactorSettingsOptions = {}): MiddlewareHandler<SessionEnv> {
  return flowHandler("totpSetupHandler", core.flows.totpSetup(options));
}

/**
 * Signed in, freshly (as `totpSetupHandler`): POST `code` from the app turns TOTP on; 200 `{"recoveryCodes":[…]}` (10 codes, show them once), 400 `invalid_code`.
 */
export function totpConfirmHandler(options: TwoFactorSettingsOptions = {}): MiddlewareHandler<SessionEnv> {
  return flowHandler("totpConfirmHandler", core.flows.totpConfirm(options));
}

/**
 * Signed in, freshly (as `totpSetupHandler`): turns TOTP off and signs out every other session; 204 or 303 to `redirectTo`, 409 `totp_not_enabled`.
 */
export function totpDisableHandler(options: TwoFactorSettingsOptions = {}): MiddlewareHandler<SessionEnv> {
  return flowHandler("totpDisableHandler", core.flows.totpDisable(options));
}

/**
 * Signed in, freshly (as `totpSetupHandler`): new recovery codes, the old ones void, every other session signed out; 200 `{"recoveryCodes":[…]}`, 409 `totp_not_enabled`.
 */
export function recoveryCodesHandler(options: TwoFactorSettingsOptions = {}): MiddlewareHandler<SessionEnv> {
  return flowHandler("recoveryCodesHandler", core.flows.recoveryCodes(options));
}

/**
 * Creates the user from `username`, `password` and an optional `email`, and logs in; 201 `{"user":…}` + cookie, 409 when the name or address is taken, 400 for an invalid one, 429 past `throttle.ipMaxRegistrations` sign-ups from the client's address in an hour, 503 when hashing is saturated, 403 for a cross-site request.
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { registerHandler, requireUser, sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware())
 * app.post("/register", registerHandler())
 * ```
 */
export function registerHandler(options: HandlerOptions = {}): MiddlewareHandler<SessionEnv> {
  return flowHandler("registerHandler", core.flows.register(options));
}

/**
 * Ends the session and clears the cookie; 204, or 303 to `redirectTo`.
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { logoutHandler, requireUser, sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware())
 * app.post("/logout", logoutHandler({ redirectTo: "/login" }))
 * ```
 */
export function logoutHandler(options: HandlerOptions = {}): MiddlewareHandler<SessionEnv> {
  return flowHandler("logoutHandler", core.flows.logout(options));
}

/**
 * Signed in, `password`: confirms the password for a sensitive action, marks the session freshly signed in for `requireUser({ fresh })` and rotates its token (new cookie); 200 `{"user":…}` or 303 to `redirectTo`; 401 `invalid_credentials`, 429 when throttled.
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { reauthenticateHandler, requireUser, sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware())
 * app.post("/confirm-password", requireUser(), reauthenticateHandler({ redirectTo: "/account/security", failureRedirectTo: "/confirm-password" }))
 * ```
 */
export function reauthenticateHandler(options: HandlerOptions = {}): MiddlewareHandler<SessionEnv> {
  return flowHandler("reauthenticateHandler", core.flows.reauthenticate(options));
}

/**
 * Signed in, `currentPassword` and `newPassword`: checks the current password (throttled like a login), sets the new one, signs out every other device and rotates this session's token; 204 or 303 to `redirectTo`; 400 `invalid_password`, 401 `invalid_credentials`, 429.
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { changePasswordHandler, requireUser, sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware())
 * app.post("/account/password", requireUser({ fresh: 600, reauthenticateRedirectTo: "/confirm-password" }), changePasswordHandler({ redirectTo: "/account?changed=1", failureRedirectTo: "/account" }))
 * ```
 */
export function changePasswordHandler(options: HandlerOptions = {}): MiddlewareHandler<SessionEnv> {
  return flowHandler("changePasswordHandler", core.flows.changePassword(options));
}

/**
 * Signed in: 200 `{"sessions":[…]}`, the user's live sessions newest first (`id`, `createdAt`, `expiresAt`, `lastSeenAt`, `authenticatedAt`, `ip`, `userAgent`, `persistent`, and `current: true` on this request's); never a token or a digest.
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { sessionsHandler, requireUser, sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware())
 * app.get("/sessions", requireUser(), sessionsHandler())
 * ```
 */
export function sessionsHandler(options: HandlerOptions = {}): MiddlewareHandler<SessionEnv> {
  return flowHandler("sessionsHandler", core.flows.sessions(options));
}

/**
 * Signed in: revokes the user's session whose id is the route parameter `id` (else the body's or the query's `id`), or with `others` every session but this one; 200 `{"revoked":N}` or 303 to `redirectTo`; 404 `not_found` for an id that is not a live session of this user.
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { revokeSessionHandler, requireUser, sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware())
 * app.delete("/sessions/:id", requireUser(), revokeSessionHandler())
 * ```
 */
export function revokeSessionHandler(options: HandlerOptions = {}): MiddlewareHandler<SessionEnv> {
  return flowHandler("revokeSessionHandler", core.flows.revokeSession(options));
}

/**
 * `identifier` (a username or an email address): always 202 `{"status":"accepted"}` for a well-formed body, at once, whether or not an account matched; the reset link is then sent to the account's stored address through `sendEmail`. Delivery errors become `email_delivery_failed` events. 429 past `throttle.ipMaxResetRequests` requests from the client's address in an hour, whatever the accounts.
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { passwordResetRequestHandler, requireUser, sessionMiddleware, type SessionVariables } from "session-manager/hono"
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
  return flowHandler("passwordResetRequestHandler", core.flows.passwordResetRequest(options));
}

/**
 * `token` and `password`: sets the new password, revokes every session of the user and clears the session cookie; 200 `{"user":…}` or 303 to `redirectTo`; 400 `invalid_token`, 400 `invalid_password` (the token stays usable). Never signs in; only a POST reaches the token (405 otherwise).
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { passwordResetHandler, requireUser, sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware())
 * app.post("/reset-password", passwordResetHandler({ redirectTo: "/login" }))
 * ```
 */
export function passwordResetHandler(options: HandlerOptions = {}): MiddlewareHandler<SessionEnv> {
  return flowHandler("passwordResetHandler", core.flows.passwordReset(options));
}

/**
 * Signed in: sends a link verifying the user's address through `sendEmail`; 202, 401 when signed out.
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { emailVerificationRequestHandler, requireUser, sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware())
 * app.post("/send-verification", requireUser(), emailVerificationRequestHandler({
 *   link: "https://app.example.com/verify-email",
 *   sendEmail: async (message) => console.log(`to ${message.to}: ${message.kind}`),
 * }))
 * ```
 */
export function emailVerificationRequestHandler(options: EmailLinkHandlerOptions): MiddlewareHandler<SessionEnv> {
  return flowHandler("emailVerificationRequestHandler", core.flows.emailVerificationRequest(options));
}

/**
 * GET (`?token=`, the link itself) or POST (`token`): marks the address verified; 200 `{"user":…}` or 303 to `redirectTo`; 400 `invalid_token`.
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { verifyEmailHandler, requireUser, sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware())
 * app.get("/verify-email", verifyEmailHandler({ redirectTo: "/account" }))
 * ```
 */
export function verifyEmailHandler(options: HandlerOptions = {}): MiddlewareHandler<SessionEnv> {
  return flowHandler("verifyEmailHandler", core.flows.verifyEmail(options));
}

/**
 * Signed in, `email`: sends a confirmation link to the new address; the account keeps its address until the link is followed. 202; 400 `invalid_email`, 409 `email_taken`, 401 when signed out, 403 `reauthentication_required` when the password was last presented more than `fresh` seconds ago (default 600).
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { emailChangeHandler, requireUser, sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware())
 * app.post("/change-email", requireUser({ fresh: 600, reauthenticateRedirectTo: "/confirm-password" }), emailChangeHandler({
 *   link: "https://app.example.com/confirm-email",
 *   sendEmail: async (message) => console.log(`to ${message.to}: ${message.kind}`),
 * }))
 * ```
 */
export function emailChangeHandler(options: EmailChangeHandlerOptions): MiddlewareHandler<SessionEnv> {
  return flowHandler("emailChangeHandler", core.flows.emailChange(options));
}

/**
 * GET (`?token=`) or POST (`token`): gives the account its new, verified address, and with `sendEmail` tells the old address; 200 `{"user":…}` or 303 to `redirectTo`; 400 `invalid_token`.
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { confirmEmailChangeHandler, requireUser, sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware())
 * app.get("/confirm-email", confirmEmailChangeHandler({ redirectTo: "/account" }))
 * ```
 */
export function confirmEmailChangeHandler(options: ConfirmEmailChangeHandlerOptions = {}): MiddlewareHandler<SessionEnv> {
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
 * import { Hono } from "hono"
 * import { SessionManager } from "session-manager"
 * import { readSessionCookie, sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const manager = new SessionManager()
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(sessionMiddleware({ manager, cookieName: "__Host-sid" }))
 * app.post("/rotate", async (c) => {
 *   const token = readSessionCookie(c)
 *   return c.json({ rotated: token !== null && (await manager.rotateSession(token)) !== null })
 * })
 * ```
 */
export function readSessionCookie(c: Context): string | null {
  return core.requestToken(core.boundMiddleware(c, "readSessionCookie"), reader, c);
}

function flowHandler(name: string, flow: core.Flow): MiddlewareHandler<SessionEnv> {
  return async function sessionHandler(c) {
    return send(c, await flow(core.boundMiddleware(c, name), reader, c));
  };
}
