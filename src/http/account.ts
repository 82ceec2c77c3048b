import { InvalidOptionsError } from "../errors.js";
import { currentTime, reauthenticateSession } from "../internal.js";
import { normalizePassword } from "../passwords.js";
import type { StartedSession } from "../session-lifecycle.js";
import type { Session } from "../types.js";
import { readBodyFields } from "./body-fields.js";
import {
  clearing,
  failure,
  hasCode,
  isFields,
  meta,
  presentTokens,
  requestFields,
  retryAfter,
  serializeUser,
  sessionCookie,
  unauthorized,
} from "./handlers.js";
import {
  location,
  resolveHandlerOptions,
  type RequireUserOptions,
  type ResolvedHandlerOptions,
  type ResolvedMiddlewareOptions,
} from "./middleware-options.js";
import { boundMiddleware } from "./middleware.js";
import type { HttpResult, RequestReader } from "./request.js";

/**
 * Account settings and fresh sign-in over HTTP: the guard of `requireUser`, confirming the
 * password, changing it, and the user's list of sessions with revocation by id. None of them
 * needs the app to touch the session token: they find it on the request themselves.
 */

/** `requireUser` options after validation. */
export interface ResolvedRequireUser {
  readonly anonymous: HttpResult;
  readonly freshMs: number | null;
  readonly stale: HttpResult | null;
}

const REAUTHENTICATE: HttpResult = Object.freeze({
  status: 403,
  headers: Object.freeze([]),
  body: Object.freeze({ error: "reauthentication_required" }),
});

function redirectTo(location: string): HttpResult {
  return { status: 303, headers: [["Location", location]], body: null };
}

/** Checks the options of `requireUser` once, at creation. */
export function resolveRequireUser(options: RequireUserOptions = {}): ResolvedRequireUser {
  const handler = resolveHandlerOptions(options, "requireUser", ["fresh", "reauthenticateRedirectTo"]);
  if (handler.failureRedirectTo !== null) throw new InvalidOptionsError("requireUser(): use redirectTo for anonymous requests");
  const fresh = options.fresh;
  if (fresh !== undefined && (typeof fresh !== "number" || !Number.isFinite(fresh) || fresh <= 0)) {
    throw new InvalidOptionsError("requireUser(): fresh must be a positive number of seconds");
  }
  const redirect = location("reauthenticateRedirectTo", options.reauthenticateRedirectTo);
  if (redirect !== null && fresh === undefined) throw new InvalidOptionsError("requireUser(): reauthenticateRedirectTo needs fresh");
  return Object.freeze({
    anonymous: unauthorized(handler),
    freshMs: fresh === undefined ? null : fresh * 1000,
    stale: fresh === undefined ? null : redirect === null ? REAUTHENTICATE : redirectTo(redirect),
  });
}

/**
 * What `requireUser` answers instead of letting the request through, or null to let it through:
 * 401 (or 303) when anonymous, and with `fresh`, 403 `reauthentication_required` (or 303) when
 * the password was last presented for this session longer ago, by the manager's clock. Throws,
 * naming the fix, when `sessionMiddleware()` did not run for the request.
 */
export function refusal<R extends object>(guard: ResolvedRequireUser, name: string, reader: RequestReader<R>, req: R): HttpResult | null {
  const session = reader.session(req);
  // The common case, a signed-in request without a freshness rule, needs nothing more.
  if (session !== null && guard.freshMs === null && reader.user(req) !== null) return null;
  const options = boundMiddleware(req, name);
  if (session === null || reader.user(req) === null) return guard.anonymous;
  if (guard.freshMs === null) return null;
  return isFresh(options, session, guard.freshMs) ? null : guard.stale;
}

/** True when the password was presented for the session within `freshMs`, by the manager's clock. */
export function isFresh(options: ResolvedMiddlewareOptions, session: Session, freshMs: number): boolean {
  return options.manager[currentTime]() - session.authenticatedAt.getTime() <= freshMs;
}

/**
 * POST `password`, signed in: confirms the password, marks the session freshly signed in and
 * rotates its token (new cookie); 200 `{"user":…}` or 303 to `redirectTo`; 401
 * `invalid_credentials`, 429 when throttled.
 */
export async function reauthenticate<R>(
  options: ResolvedMiddlewareOptions,
  handler: ResolvedHandlerOptions,
  reader: RequestReader<R>,
  req: R,
): Promise<HttpResult> {
  const user = reader.user(req);
  if (user === null) return failure(handler, 401, "unauthorized", []);
  const fields = requestFields(handler, await readBodyFields(reader as RequestReader<unknown>, req, ["password"]));
  if (!isFields(fields)) return fields;
  const confirmed = await confirmPassword(options, handler, reader, req, fields.password);
  if ("status" in confirmed) return confirmed;
  const cookie: Array<[string, string]> = [["Set-Cookie", sessionCookie(options, reader, req, confirmed)]];
  if (handler.redirectTo !== null) return { status: 303, headers: [...cookie, ["Location", handler.redirectTo]], body: null };
  return { status: 200, headers: [...cookie, ["Cache-Control", "no-store"]], body: { user: serializeUser(user) } };
}

/**
 * POST `currentPassword` and `newPassword`, signed in: checks the current password (throttled
 * like a login), sets the new one, revokes every other session of the user and rotates this one
 * (new cookie); 204 or 303 to `redirectTo`; 400 `invalid_password`, 401 `invalid_credentials`, 429.
 */
export async function changePassword<R>(
  options: ResolvedMiddlewareOptions,
  handler: ResolvedHandlerOptions,
  reader: RequestReader<R>,
  req: R,
): Promise<HttpResult> {
  const user = reader.user(req);
  if (user === null) return failure(handler, 401, "unauthorized", []);
  const fields = requestFields(handler, await readBodyFields(reader as RequestReader<unknown>, req, ["currentPassword", "newPassword"]));
  if (!isFields(fields)) return fields;
  // Checked before the current password, so that a refused new password costs no attempt.
  if (normalizePassword(fields.newPassword) === null) return failure(handler, 400, "invalid_password", []);
  const confirmed = await confirmPassword(options, handler, reader, req, fields.currentPassword);
  if ("status" in confirmed) return confirmed;
  try {
    await options.manager.changePassword(user.id, fields.newPassword, { keepToken: confirmed.token });
  } catch (error) {
    if (hasCode(error, "service_busy")) return failure(handler, 503, "service_busy", [], retryAfter(error));
    if (hasCode(error, "user_not_found")) return failure(handler, 401, "unauthorized", clearing(options, reader, req, true));
    throw error;
  }
  const cookie: Array<[string, string]> = [["Set-Cookie", sessionCookie(options, reader, req, confirmed)]];
  if (handler.redirectTo !== null) return { status: 303, headers: [...cookie, ["Location", handler.redirectTo]], body: null };
  return { status: 204, headers: cookie, body: null };
}

/** GET, signed in: the user's live sessions, this request's marked `current`; never a token or digest. */
export async function listSessions<R>(
  options: ResolvedMiddlewareOptions,
  handler: ResolvedHandlerOptions,
  reader: RequestReader<R>,
  req: R,
): Promise<HttpResult> {
  const user = reader.user(req);
  const current = reader.session(req);
  if (user === null || current === null) return failure(handler, 401, "unauthorized", []);
  const sessions = await options.manager.listSessions(user.id);
  return {
    status: 200,
    headers: [["Cache-Control", "no-store"]],
    body: { sessions: sessions.map((session) => serializeSession(session, session.id === current.id)) },
  };
}

/**
 * Signed in: revokes one of the user's sessions by id (the route parameter `id`, else the body's,
 * else the query's), or with `others` every session but this one; 200 `{"revoked":N}` or 303 to
 * `redirectTo`; 404 `not_found` for an id that is not a live session of this user. Revoking the
 * current session also clears its cookie.
 */
export async function revokeSession<R>(
  options: ResolvedMiddlewareOptions,
  handler: ResolvedHandlerOptions,
  reader: RequestReader<R>,
  req: R,
): Promise<HttpResult> {
  const user = reader.user(req);
  const current = reader.session(req);
  if (user === null || current === null) return failure(handler, 401, "unauthorized", []);
  const named = requestFields(handler, await sessionIdOf(reader, req));
  if (!isFields(named)) return named;
  const id = named.id;
  let revoked: number;
  let headers: Array<[string, string]> = [];
  if (id === "others") {
    const token = await currentToken(options, reader, req, current);
    revoked = token === null ? 0 : await options.manager.revokeOtherSessions(token);
  } else {
    if (!(await options.manager.revokeSessionById(user.id, id))) return failure(handler, 404, "not_found", []);
    revoked = 1;
    if (id === current.id) headers = clearing(options, reader, req, true);
  }
  if (handler.redirectTo !== null) return { status: 303, headers: [...headers, ["Location", handler.redirectTo]], body: null };
  return { status: 200, headers, body: { revoked } };
}

/** A session as the HTTP API shows it. */
export function serializeSession(session: Session, current: boolean): Record<string, unknown> {
  return {
    id: session.id,
    createdAt: session.createdAt.toISOString(),
    expiresAt: session.expiresAt.toISOString(),
    lastSeenAt: session.lastSeenAt?.toISOString() ?? null,
    authenticatedAt: session.authenticatedAt.toISOString(),
    ip: session.ip,
    userAgent: session.userAgent,
    persistent: session.persistent,
    current,
  };
}

/** Checks the password for the request's session and rotates its token; the new session, or the answer refusing it. */
async function confirmPassword<R>(
  options: ResolvedMiddlewareOptions,
  handler: ResolvedHandlerOptions,
  reader: RequestReader<R>,
  req: R,
  password: string,
): Promise<StartedSession | HttpResult> {
  const current = reader.session(req);
  const token = current === null ? null : await currentToken(options, reader, req, current);
  if (token === null) return failure(handler, 401, "unauthorized", []);
  let confirmed: StartedSession | null;
  try {
    confirmed = await options.manager[reauthenticateSession](token, password, meta(reader, req));
  } catch (error) {
    if (hasCode(error, "login_throttled")) return failure(handler, 429, "too_many_attempts", [], retryAfter(error));
    if (hasCode(error, "service_busy")) return failure(handler, 503, "service_busy", [], retryAfter(error));
    throw error;
  }
  return confirmed ?? failure(handler, 401, "invalid_credentials", []);
}

/**
 * The cookie value that is this request's session: the middleware validated one of them, and
 * with several values on the request (one planted for a parent domain) it must be that one.
 */
export async function currentToken<R>(
  options: ResolvedMiddlewareOptions,
  reader: RequestReader<R>,
  req: R,
  current: Session,
): Promise<string | null> {
  const tokens = presentTokens(options, reader, req);
  if (tokens.length === 1) return tokens[0]!;
  for (const token of tokens) if ((await options.manager.checkSession(token))?.session.id === current.id) return token;
  return null;
}

/** The session id a revocation names, or why the request names none. */
async function sessionIdOf<R>(reader: RequestReader<R>, req: R): Promise<{ id: string } | "invalid" | "too_large"> {
  const param = reader.param(req, "id");
  if (param !== undefined && param !== "") return { id: param };
  if (reader.header(req, "content-type") !== undefined || reader.parsedBody(req) !== undefined) {
    const fields = await readBodyFields(reader as RequestReader<unknown>, req, [], ["id"]);
    if (typeof fields !== "object") return fields;
    if (fields.id !== undefined) return { id: fields.id };
  }
  const query = reader.query(req, "id");
  return query === undefined ? "invalid" : { id: query };
}
