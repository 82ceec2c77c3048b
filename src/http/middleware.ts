import { InvalidOptionsError } from "../errors.js";
import { validateToken } from "../internal.js";
import type { SessionCheck } from "../types.js";
import { readSessionCookieValues } from "./cookie.js";
import { isRefusedByCsrf, isUnsafeMethod } from "./csrf.js";
import type { RequestSession, ResolvedMiddlewareOptions } from "./middleware-options.js";
import type { RequestReader } from "./request.js";

/**
 * Reads the session cookie, applies the CSRF check, validates the session and says which cookie
 * to send back, remembering for the handlers which middleware ran. Synchronous when the manager's
 * validation is (see `validateToken` in session-lifecycle.ts), so that the middleware hands on to
 * the route in the same tick; else a promise. Database errors reject: a broken database must
 * never look like "signed out".
 */
export function authenticate<R extends object>(
  options: ResolvedMiddlewareOptions,
  reader: RequestReader<R>,
  req: R,
): RequestSession | Promise<RequestSession> {
  bound.set(req, options);
  const tokens = readSessionCookieValues(reader.header(req, "cookie"), options.cookie.name);
  // Without the cookie there is nothing to look up and nothing a forged request could ride on.
  if (tokens === null) return ANONYMOUS;
  if (options.csrf && isUnsafeMethod(reader.method(req)) && isRefusedByCsrf(options, reader, req)) return REFUSED;
  if (typeof tokens !== "string") return firstLiveSession(options, reader, req, tokens);
  let check: SessionCheck | null | Promise<SessionCheck | null>;
  try {
    check = options.manager[validateToken](tokens);
  } catch (error) {
    // A database error of the synchronous read: the same rejection the asynchronous one gives.
    return Promise.reject(error);
  }
  if (check instanceof Promise) return check.then((answer) => requestSession(options, reader, req, tokens, answer));
  return requestSession(options, reader, req, tokens, check);
}

/**
 * Several cookies of our name (one planted for a parent domain by a sibling subdomain, say):
 * the first that validates is the session. The cookie is cleared only when none does, or a
 * planted value would sign the user out.
 */
async function firstLiveSession<R extends object>(
  options: ResolvedMiddlewareOptions,
  reader: RequestReader<R>,
  req: R,
  tokens: readonly string[],
): Promise<RequestSession> {
  for (const token of tokens) {
    const check = await options.manager[validateToken](token);
    if (check !== null) return requestSession(options, reader, req, token, check);
  }
  return requestSession(options, reader, req, tokens[0]!, null);
}

function requestSession<R>(
  options: ResolvedMiddlewareOptions,
  reader: RequestReader<R>,
  req: R,
  token: string,
  check: SessionCheck | null,
): RequestSession {
  if (check === null)
    return { user: null, session: null, setCookie: options.cookie.clear(isHttps(options, reader, req)), forbidden: false };
  const { user, session } = check;
  if (session.renewed !== true) return { user, session, setCookie: null, forbidden: false };
  // A renewal has just written lastSeenAt with the manager's own clock: the cookie's reference time.
  const now = session.lastSeenAt ?? session.createdAt;
  return {
    user,
    session,
    setCookie: options.cookie.set(token, session.expiresAt, now, isHttps(options, reader, req), session.persistent),
    forbidden: false,
  };
}

/**
 * Whether the browser reached the app over HTTPS, for `cookie.secure: "auto"`: the scheme of the
 * `origin` option when set (behind a proxy the framework may see plain HTTP), else the
 * framework's view.
 */
export function isHttps<R>(options: ResolvedMiddlewareOptions, reader: RequestReader<R>, req: R): boolean {
  return options.origin === null ? reader.secure(req) : options.origin.startsWith("https:");
}

const ANONYMOUS: RequestSession = Object.freeze({ user: null, session: null, setCookie: null, forbidden: false });
const REFUSED: RequestSession = Object.freeze({ user: null, session: null, setCookie: null, forbidden: true });

// Which middleware handled a request, for the handlers. A WeakMap rather than a property: adding
// a property to a framework's request object costs a few microseconds (it has many already). Its
// values are the middleware's long-lived options, not per-request objects: young values in a
// WeakMap make every minor collection process them, measured at 7% of a Koa app's throughput.
const bound = new WeakMap<object, ResolvedMiddlewareOptions>();

/** The options of the `sessionMiddleware()` that handled this request (or context); throws when none did. */
export function boundMiddleware(target: object, handler: string): ResolvedMiddlewareOptions {
  const options = bound.get(target);
  if (options === undefined) throw new InvalidOptionsError(`${handler}() needs sessionMiddleware() to run before it`);
  return options;
}
