import { InvalidOptionsError } from "../errors.js";
import type { Session, User } from "../types.js";
import { readSessionCookie } from "./cookie.js";
import { isAllowedOrigin, isUnsafeMethod } from "./csrf.js";
import type { ResolvedMiddlewareOptions } from "./middleware-options.js";
import type { HttpResult, RequestReader } from "./request.js";

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

/** The answer to a request refused by the CSRF check. */
export const FORBIDDEN: HttpResult = Object.freeze({ status: 403, headers: [], body: Object.freeze({ error: "forbidden" }) });

/**
 * Reads the session cookie, applies the CSRF check, validates the session and says which cookie
 * to send back. Database errors propagate: a broken database must never look like "signed out".
 */
export async function authenticate<R>(options: ResolvedMiddlewareOptions, reader: RequestReader<R>, req: R): Promise<RequestSession> {
  const token = readSessionCookie(reader.header(req, "cookie"), options.cookie.name);
  // Without the cookie there is nothing to look up and nothing a forged request could ride on.
  if (token === null) return ANONYMOUS;
  if (options.csrf && isUnsafeMethod(reader.method(req))) {
    const headers = { origin: reader.header(req, "origin"), referer: reader.header(req, "referer"), secFetchSite: reader.header(req, "sec-fetch-site") };
    if (!isAllowedOrigin(headers, () => reader.origin(req), options.trustedOrigins)) return REFUSED;
  }
  const check = await options.manager.checkSession(token);
  if (check === null) return { user: null, session: null, setCookie: options.cookie.clear(reader.secure(req)), forbidden: false };
  const { user, session } = check;
  if (session.renewed !== true) return { user, session, setCookie: null, forbidden: false };
  // A renewal has just written lastSeenAt with the manager's own clock: the cookie's reference time.
  const now = session.lastSeenAt ?? session.createdAt;
  return { user, session, setCookie: options.cookie.set(token, session.expiresAt, now, reader.secure(req)), forbidden: false };
}

const BOUND = Symbol("session-manager.middleware");

/** Remembers on the framework's request (or context) object which middleware handled it, for the handlers. */
export function bindMiddleware(target: object, options: ResolvedMiddlewareOptions): void {
  (target as { [BOUND]?: ResolvedMiddlewareOptions })[BOUND] = options;
}

/** The options of the middleware that ran on this request; throws when none did. */
export function boundMiddleware(target: object, handler: string): ResolvedMiddlewareOptions {
  const options = (target as { [BOUND]?: ResolvedMiddlewareOptions })[BOUND];
  if (options === undefined) throw new InvalidOptionsError(`${handler}() needs sessionMiddleware() to run before it`);
  return options;
}
