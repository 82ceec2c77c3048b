import { InvalidOptionsError } from "../errors.js";
import { refuseUnknownKeys } from "../option-keys.js";
import type { Session, User } from "../types.js";
import { MANAGER_BRAND } from "../internal.js";
import { SessionManager } from "../session-manager.js";
import { cookiePrefix, SessionCookie } from "./cookie.js";
import { originOf } from "./origin.js";

/**
 * Attributes of the session cookie; every one is optional.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * // A cookie for every subdomain, sent only over HTTPS, never on cross-site requests.
 * app.use(sessionMiddleware({ cookie: { domain: "example.com", secure: true, sameSite: "strict" } }))
 * ```
 */
export interface SessionCookieOptions {
  /**
   * `"auto"` (default): `Secure` when the request is HTTPS, as the framework sees it behind
   * trusted proxies, or when the middleware's `origin` is `https:`. A `__Host-` or `__Secure-`
   * cookie name is always `Secure`.
   */
  secure?: "auto" | boolean;
  /** Default `"lax"`. `"none"` needs `secure` to be `true` or `"auto"`. */
  sameSite?: "lax" | "strict" | "none";
  /** Default `"/"`. */
  path?: string;
  /** Default: none, a host-only cookie. */
  domain?: string;
}

/**
 * Options of `sessionMiddleware(options)` in every adapter. Checked when the middleware is
 * created: a bad value throws `InvalidOptionsError` then, not on the first request.
 *
 * ### Examples
 *
 * ```ts
 * import { Hono } from "hono"
 * import { SessionManager } from "session-manager"
 * import { sessionMiddleware, type SessionVariables } from "session-manager/hono"
 *
 * const app = new Hono<{ Variables: SessionVariables }>()
 * app.use(
 *   sessionMiddleware({
 *     manager: new SessionManager({ database: "postgres://localhost/app" }),
 *     origin: "https://app.example.com",
 *     cookieName: "__Host-session",
 *     trustedOrigins: ["https://admin.example.com"],
 *   }),
 * )
 * ```
 */
export interface SessionMiddlewareOptions {
  /** Default: one shared `new SessionManager()`, created on first use (SQLite `sessions.db`). */
  manager?: SessionManager;
  /**
   * The app's public origin (`"https://app.example.com"`), as browsers see it. The CSRF check
   * compares against it instead of the scheme, host and port the framework sees, which behind a
   * reverse proxy may be `http://` or an internal name; `cookie.secure: "auto"` follows its
   * scheme. Default: the request's own origin.
   */
  origin?: string;
  /** Default `"session"`. */
  cookieName?: string;
  cookie?: SessionCookieOptions;
  /**
   * Origin checks on POST, PUT, PATCH and DELETE that carry the session cookie, and on every
   * request to a handler that signs in (login, register). Default true.
   */
  csrf?: boolean;
  /** Further origins (`https://app.example.com`) allowed to send state-changing requests. */
  trustedOrigins?: readonly string[];
}

/**
 * Options of `loginHandler`, `registerHandler`, `logoutHandler` and `requireUser`.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { loginHandler, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * app.post("/login", loginHandler({ redirectTo: "/account", failureRedirectTo: "/login" }))
 * ```
 */
export interface HandlerOptions {
  /** Answer success with a 303 to this location instead of JSON (HTML forms). */
  redirectTo?: string;
  /**
   * Answer a refused request (400, 401, 409, 413, 429, 503) with a 303 to this location, its
   * `error` query parameter set to the error code, instead of JSON (HTML forms).
   */
  failureRedirectTo?: string;
}

/**
 * Options of `loginHandler`.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { loginHandler, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * // A "Remember me" checkbox named `remember`: unchecked, the cookie ends with the browser session.
 * app.post("/login", loginHandler({ remember: "checkbox", redirectTo: "/", failureRedirectTo: "/login" }))
 * ```
 */
export interface LoginHandlerOptions extends HandlerOptions {
  /**
   * `"always"` (default): every session's cookie outlives the browser session. `"checkbox"`: only
   * when the body's `remember` field is `on`, `true` or `1`; otherwise the cookie has no expiry
   * and the browser drops it when it closes (the server-side expiry is the same).
   */
  remember?: "always" | "checkbox";
  /**
   * Where to send the browser (303) when the password was right and the account has two-factor
   * authentication: the page asking for the code, which posts to `twoFactorHandler`. Without it
   * the answer is 200 `{"twoFactorRequired":true}`. Either way the response sets the short-lived
   * pending cookie, not the session cookie.
   */
  twoFactorRedirectTo?: string;
}

/**
 * Options of `requireUser`.
 *
 * ### Examples
 *
 * ```ts
 * import express from "express"
 * import { requireUser, sessionMiddleware } from "session-manager/express"
 *
 * const app = express()
 * app.use(sessionMiddleware())
 * // Signed in with the password within the last 10 minutes, else 403 reauthentication_required.
 * app.post("/account/delete", requireUser({ fresh: 600 }), (req, res) => {
 *   res.sendStatus(204)
 * })
 * ```
 */
export interface RequireUserOptions {
  /** Send anonymous requests here with a 303 instead of answering 401 (HTML pages). */
  redirectTo?: string;
  /**
   * Seconds since the password was last presented for this session (login or
   * `reauthenticateHandler`); past that the request gets 403 `{"error":"reauthentication_required"}`.
   */
  fresh?: number;
  /** With `fresh`: send a stale session here with a 303 instead of the 403 (a "confirm your password" page). */
  reauthenticateRedirectTo?: string;
}

/** Handler options after validation. */
export interface ResolvedHandlerOptions {
  readonly redirectTo: string | null;
  readonly failureRedirectTo: string | null;
}

/** What `sessionMiddleware` learned about one request. */
export interface RequestSession {
  readonly user: User | null;
  readonly session: Session | null;
  /** A `Set-Cookie` value the response must carry (a renewed cookie, or one clearing a dead one), else null. */
  readonly setCookie: string | null;
  /** True when the CSRF check refused the request: answer `FORBIDDEN` and stop. */
  readonly forbidden: boolean;
}

/** Middleware options after validation: what every request of one middleware shares. */
export interface ResolvedMiddlewareOptions {
  readonly manager: SessionManager;
  /** The `origin` option, else null: the request's own origin. */
  readonly origin: string | null;
  readonly cookie: SessionCookie;
  /**
   * The cookie carrying a sign-in that waits for its second factor: the session cookie's name
   * with `-2fa` appended, and its attributes.
   */
  readonly pendingCookie: SessionCookie;
  readonly csrf: boolean;
  readonly trustedOrigins: ReadonlySet<string>;
}

// RFC 6265 §4.1.1: a cookie name is an RFC 7230 token.
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Path and domain attribute values: no separators and no control characters.
const ATTRIBUTE_VALUE = /^[\u0021-\u003a\u003c-\u007e]+$/;

let defaultManager: SessionManager | null = null;

/** The manager of `sessionMiddleware()` without one: created once, on first use, never at import. */
export function getDefaultManager(): SessionManager {
  defaultManager ??= new SessionManager();
  return defaultManager;
}

/**
 * Checks the middleware options once, at creation, so that bad configuration never waits for a
 * request; `extraKeys` are the options of one adapter's own, which it checks itself.
 */
export function resolveMiddlewareOptions(
  options: SessionMiddlewareOptions = {},
  extraKeys: readonly string[] = [],
): ResolvedMiddlewareOptions {
  if (isSessionManager(options)) {
    throw new InvalidOptionsError("sessionMiddleware takes options: write sessionMiddleware({ manager }), not sessionMiddleware(manager)");
  }
  refuseUnknownKeys("sessionMiddleware(options)", options, [
    "manager",
    "origin",
    "cookieName",
    "cookie",
    "csrf",
    "trustedOrigins",
    ...extraKeys,
  ]);
  refuseUnknownKeys("cookie", options.cookie, ["secure", "sameSite", "path", "domain"]);
  // Not instanceof: the CommonJS and the ESM build each have their own SessionManager class, and
  // an app may well create its manager with one and its middleware with the other.
  if (options.manager !== undefined && !isSessionManager(options.manager)) {
    throw new InvalidOptionsError("manager must be a SessionManager");
  }
  const name = options.cookieName ?? "session";
  if (typeof name !== "string" || !COOKIE_NAME.test(name)) throw new InvalidOptionsError("cookieName must be a cookie name token");
  const cookie = options.cookie ?? {};
  const secure = cookie.secure ?? "auto";
  if (secure !== "auto" && typeof secure !== "boolean") throw new InvalidOptionsError('cookie.secure must be "auto", true or false');
  const sameSite = cookie.sameSite ?? "lax";
  if (sameSite !== "lax" && sameSite !== "strict" && sameSite !== "none") {
    throw new InvalidOptionsError('cookie.sameSite must be "lax", "strict" or "none"');
  }
  if (sameSite === "none" && secure === false) throw new InvalidOptionsError("browsers refuse SameSite=None cookies without Secure");
  const path = cookie.path ?? "/";
  if (typeof path !== "string" || !path.startsWith("/") || !ATTRIBUTE_VALUE.test(path)) {
    throw new InvalidOptionsError('cookie.path must start with "/" and hold no ";" or control characters');
  }
  const domain = cookie.domain;
  if (domain !== undefined && (typeof domain !== "string" || !ATTRIBUTE_VALUE.test(domain))) {
    throw new InvalidOptionsError("cookie.domain must be a domain name");
  }
  // RFC 6265bis §4.1.3: browsers drop prefixed cookies that break the prefix's rules, silently.
  const prefix = cookiePrefix(name);
  if (prefix === "__Secure-" && secure === false) throw new InvalidOptionsError("a __Secure- cookie needs Secure");
  if (prefix === "__Host-" && (secure === false || path !== "/" || domain !== undefined)) {
    throw new InvalidOptionsError('a __Host- cookie needs Secure, path "/" and no domain');
  }
  const origin = options.origin ?? null;
  if (origin !== null && !isOrigin(origin)) {
    throw new InvalidOptionsError(`origin must be an origin such as "https://app.example.com", got ${JSON.stringify(origin)}`);
  }
  const trusted = options.trustedOrigins ?? [];
  if (!Array.isArray(trusted)) throw new InvalidOptionsError("trustedOrigins must be an array of origins");
  for (const entry of trusted) {
    if (!isOrigin(entry)) {
      throw new InvalidOptionsError(
        `trustedOrigins entries must be origins such as "https://app.example.com", got ${JSON.stringify(entry)}`,
      );
    }
  }
  const csrf = options.csrf ?? true;
  if (typeof csrf !== "boolean") throw new InvalidOptionsError("csrf must be true or false");
  return Object.freeze({
    manager: options.manager ?? getDefaultManager(),
    origin,
    cookie: new SessionCookie(name, Object.freeze({ secure, sameSite, path, domain })),
    pendingCookie: new SessionCookie(`${name}-2fa`, Object.freeze({ secure, sameSite, path, domain })),
    csrf,
    trustedOrigins: new Set(trusted),
  });
}

// Exactly the serialized form browsers send in Origin: scheme, host, port only when not the default.
function isOrigin(value: unknown): value is string {
  return typeof value === "string" && value !== "null" && originOf(value) === value;
}

/**
 * Checks handler options at creation; `handler` names the factory in errors, and `extraKeys` are
 * the options it takes besides `redirectTo` and `failureRedirectTo`.
 */
export function resolveHandlerOptions(
  options: HandlerOptions = {},
  handler = "handler",
  extraKeys: readonly string[] = [],
): ResolvedHandlerOptions {
  refuseUnknownKeys(`${handler}(options)`, options, ["redirectTo", "failureRedirectTo", ...extraKeys]);
  return Object.freeze({
    redirectTo: location("redirectTo", options.redirectTo),
    failureRedirectTo: location("failureRedirectTo", options.failureRedirectTo),
  });
}

export function location(name: string, value: string | undefined): string | null {
  if (value === undefined) return null;
  // A CR or LF would split the Location header.
  if (typeof value !== "string" || value === "" || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new InvalidOptionsError(`${name} must be a non-empty URL or path`);
  }
  return value;
}

// Not instanceof: the CommonJS and the ESM build each have their own SessionManager class.
function isSessionManager(value: unknown): value is SessionManager {
  return typeof value === "object" && value !== null && (value as { [MANAGER_BRAND]?: unknown })[MANAGER_BRAND] === true;
}
