import { InvalidOptionsError } from "../errors.js";
import { NOT_NOW } from "../database/row-reader.js";
import { checkSessionNow } from "../session-manager.js";
import type { Session, SessionCheck, User } from "../types.js";
import { readSessionCookieValues } from "./cookie.js";
import { isRefusedByCsrf, isUnsafeMethod } from "./csrf.js";
import type { ResolvedMiddlewareOptions } from "./middleware-options.js";
import type { RequestReader } from "./request.js";

/** What `sessionMiddleware` learned about one request. */
export interface RequestSession {
  readonly user: User | null;
  readonly session: Session | null;
  /** A `Set-Cookie` value the response must carry (a renewed cookie, or one clearing a dead one), else null. */
  readonly setCookie: string | null;
  /** True when the CSRF check refused the request: answer `FORBIDDEN` and stop. */
  readonly forbidden: boolean;
}

const ANONYMOUS: RequestSession = Object.freeze({ user: null, session: null, setCookie: null, forbidden: false });
const REFUSED: RequestSession = Object.freeze({ user: null, session: null, setCookie: null, forbidden: true });

/**
 * Reads the session cookie, applies the CSRF check, validates the session and says which cookie
 * to send back. Answers synchronously when the manager can (see `checkSessionNow`), so that the
 * middleware hands on to the route in the same tick; else a promise. Database errors reject:
 * a broken database must never look like "signed out".
 */
export function authenticate<R>(options: ResolvedMiddlewareOptions, reader: RequestReader<R>, req: R): RequestSession | Promise<RequestSession> {
  const tokens = readSessionCookieValues(reader.header(req, "cookie"), options.cookie.name);
  // Without the cookie there is nothing to look up and nothing a forged request could ride on.
  if (tokens === null) return ANONYMOUS;
  if (options.csrf && isUnsafeMethod(reader.method(req)) && isRefusedByCsrf(options, reader, req)) return REFUSED;
  if (typeof tokens !== "string") return firstLiveSession(options, reader, req, tokens);
  let check: SessionCheck | null | typeof NOT_NOW;
  try {
    check = options.manager[checkSessionNow](tokens);
  } catch (error) {
    return Promise.reject(error);
  }
  if (check !== NOT_NOW) return requestSession(options, reader, req, tokens, check);
  return options.manager.checkSession(tokens).then((answer) => requestSession(options, reader, req, tokens, answer));
}

/**
 * Several cookies of our name (one planted for a parent domain by a sibling subdomain, say):
 * the first that validates is the session. The cookie is cleared only when none does, or a
 * planted value would sign the user out.
 */
async function firstLiveSession<R>(options: ResolvedMiddlewareOptions, reader: RequestReader<R>, req: R, tokens: readonly string[]): Promise<RequestSession> {
  for (const token of tokens) {
    const check = await options.manager.checkSession(token);
    if (check !== null) return requestSession(options, reader, req, token, check);
  }
  return requestSession(options, reader, req, tokens[0]!, null);
}

function requestSession<R>(options: ResolvedMiddlewareOptions, reader: RequestReader<R>, req: R, token: string, check: SessionCheck | null): RequestSession {
  if (check === null) return { user: null, session: null, setCookie: options.cookie.clear(isHttps(options, reader, req)), forbidden: false };
  const { user, session } = check;
  if (session.renewed !== true) return { user, session, setCookie: null, forbidden: false };
  // A renewal has just written lastSeenAt with the manager's own clock: the cookie's reference time.
  const now = session.lastSeenAt ?? session.createdAt;
  return { user, session, setCookie: options.cookie.set(token, session.expiresAt, now, isHttps(options, reader, req)), forbidden: false };
}

/**
 * Whether the browser reached the app over HTTPS, for `cookie.secure: "auto"`: the scheme of the
 * `origin` option when set (behind a proxy the framework may see plain HTTP), else the
 * framework's view.
 */
export function isHttps<R>(options: ResolvedMiddlewareOptions, reader: RequestReader<R>, req: R): boolean {
  return options.origin === null ? reader.secure(req) : options.origin.startsWith("https:");
}

// Which middleware handled a request, for the handlers. A WeakMap rather than a property: adding
// a property to a framework's request object costs a few microseconds (it has many already).
const bound = new WeakMap<object, ResolvedMiddlewareOptions>();

/** Remembers on the framework's request (or context) object which middleware handled it, for the handlers. */
export function bindMiddleware(target: object, options: ResolvedMiddlewareOptions): void {
  bound.set(target, options);
}

/** The options of the middleware that ran on this request; throws when none did. */
export function boundMiddleware(target: object, handler: string): ResolvedMiddlewareOptions {
  const options = bound.get(target);
  if (options === undefined) throw new InvalidOptionsError(`${handler}() needs sessionMiddleware() to run before it`);
  return options;
}
