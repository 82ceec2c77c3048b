import type {
  EmailTakenError,
  InvalidEmailError,
  InvalidPasswordError,
  InvalidUsernameError,
  LoginThrottledError,
  ServiceBusyError,
  TotpAlreadyEnabledError,
  TotpNotEnabledError,
  UsernameTakenError,
  UserNotFoundError,
} from "../errors.js";
import type { SessionMeta, User } from "../types.js";
import { InvalidOptionsError } from "../errors.js";
import { limitAddress, signIn, startSession } from "../internal.js";
import type { StartedSession } from "../session-lifecycle.js";
import type { PendingSignIn } from "../two-factor.js";
import { readBodyFields, type BodyFields } from "./body-fields.js";
import { readSessionCookieValues } from "./cookie.js";
import { FORBIDDEN, isRefusedByCsrf } from "./csrf.js";
import { isHttps } from "./middleware.js";
import {
  location,
  resolveHandlerOptions,
  type LoginHandlerOptions,
  type ResolvedHandlerOptions,
  type ResolvedMiddlewareOptions,
} from "./middleware-options.js";
import type { HttpResult, JsonBody, RequestReader } from "./request.js";
import { awaitingSecondFactor } from "./two-factor.js";

/** A user as the HTTP API shows it: never more than these fields. */
export function serializeUser(user: User): JsonBody {
  return {
    id: user.id,
    username: user.username,
    createdAt: user.createdAt.toISOString(),
    email: user.email,
    emailVerified: user.emailVerified,
  };
}

/** Login handler options after validation. */
export interface ResolvedLoginOptions extends ResolvedHandlerOptions {
  readonly remember: "always" | "checkbox";
  readonly twoFactorRedirectTo: string | null;
}

// What a checked "Remember me" sends: a form's checkbox `on` (or the value it was given), JSON `true`.
const CHECKED: ReadonlySet<string> = new Set(["on", "true", "1"]);

/** Checks the options of `loginHandler` at creation. */
export function resolveLoginOptions(options: LoginHandlerOptions = {}): ResolvedLoginOptions {
  const handler = resolveHandlerOptions(options, "loginHandler", ["remember", "twoFactorRedirectTo"]);
  const remember = options.remember ?? "always";
  if (remember !== "always" && remember !== "checkbox")
    throw new InvalidOptionsError('loginHandler(): remember must be "always" or "checkbox"');
  return Object.freeze({ ...handler, remember, twoFactorRedirectTo: location("twoFactorRedirectTo", options.twoFactorRedirectTo) });
}

/** The answer of `requireUser` to an anonymous request: 401 JSON, or 303 to `redirectTo`. */
export function unauthorized(handler: ResolvedHandlerOptions): HttpResult {
  if (handler.redirectTo !== null) return { status: 303, headers: [["Location", handler.redirectTo]], body: null };
  return { status: 401, headers: [], body: { error: "unauthorized" } };
}

/**
 * Logs in with the body's username and password. The session cookies already on the request are
 * revoked first, so that a session planted before login never becomes an authenticated one.
 */
export async function login<R>(
  options: ResolvedMiddlewareOptions,
  handler: ResolvedLoginOptions,
  reader: RequestReader<R>,
  req: R,
): Promise<HttpResult> {
  const credentials = await signInFields(options, handler, reader, req, ["remember"]);
  if (!isFields(credentials)) return credentials;
  const remember = handler.remember === "always" || CHECKED.has(credentials.remember ?? "");
  const previous = await revokePresentCookies(options, reader, req);
  let started: SignedIn | PendingSignIn | null;
  try {
    started = await options.manager[signIn](credentials.username, credentials.password, { ...meta(reader, req), remember });
  } catch (error) {
    if (hasCode(error, "login_throttled"))
      return failure(handler, 429, "too_many_attempts", clearing(options, reader, req, previous), retryAfter(error));
    if (hasCode(error, "service_busy"))
      return failure(handler, 503, "service_busy", clearing(options, reader, req, previous), retryAfter(error));
    throw error;
  }
  // One answer for an unknown user and a wrong password: the response tells nobody which usernames exist.
  if (started === null) return failure(handler, 401, "invalid_credentials", clearing(options, reader, req, previous));
  // The password was right, but the account has two-factor authentication: no session exists yet.
  if ("pendingToken" in started) return awaitingSecondFactor(options, handler, reader, req, started, previous);
  return signedIn(options, handler, reader, req, started.user, started, 200);
}

/** Creates the user from the body's username, password and optional email, and logs them in. */
export async function register<R>(
  options: ResolvedMiddlewareOptions,
  handler: ResolvedHandlerOptions,
  reader: RequestReader<R>,
  req: R,
): Promise<HttpResult> {
  const credentials = await signInFields(options, handler, reader, req, ["email"]);
  if (!isFields(credentials)) return credentials;
  // Every well-formed sign-up counts against its address, taken or not: each costs a hash, and a
  // 409 tells whether a username exists.
  const wait = await options.manager[limitAddress]("registration", reader.ip(req));
  if (wait !== null) return tooManyRequests(handler, wait);
  let user: User;
  try {
    user = await options.manager.createUser(credentials.username, credentials.password, { email: credentials.email ?? null });
  } catch (error) {
    if (hasCode(error, "username_taken")) return failure(handler, 409, "username_taken", []);
    if (hasCode(error, "email_taken")) return failure(handler, 409, "email_taken", []);
    if (hasCode(error, "invalid_username")) return failure(handler, 400, "invalid_username", []);
    if (hasCode(error, "invalid_password")) return failure(handler, 400, "invalid_password", []);
    if (hasCode(error, "invalid_email")) return failure(handler, 400, "invalid_email", []);
    if (hasCode(error, "service_busy")) return failure(handler, 503, "service_busy", [], retryAfter(error));
    throw error;
  }
  await revokePresentCookies(options, reader, req);
  return signedIn(options, handler, reader, req, user, await options.manager[startSession](user, meta(reader, req)), 201);
}

/**
 * Ends the request's session, if any, and clears the cookie: 204, or 303 to `redirectTo`. Every
 * value of the cookie is revoked: the user asked to be signed out, whichever one is theirs.
 */
export async function logout<R>(
  options: ResolvedMiddlewareOptions,
  handler: ResolvedHandlerOptions,
  reader: RequestReader<R>,
  req: R,
): Promise<HttpResult> {
  for (const token of presentTokens(options, reader, req)) await options.manager.logout(token);
  const headers: Array<[string, string]> = [["Set-Cookie", options.cookie.clear(isHttps(options, reader, req))]];
  if (handler.redirectTo === null) return { status: 204, headers, body: null };
  headers.push(["Location", handler.redirectTo]);
  return { status: 303, headers, body: null };
}

type SignedIn = StartedSession & { user: User };

/** True when a body was read, false for the answer refusing it. */
export function isFields<T extends object>(result: T | HttpResult): result is T {
  return !("status" in result);
}

/**
 * The username, password and `optional` fields of a sign-in request, or the answer refusing it:
 * 403 when it comes from another site (checked before the body and the database, so it costs
 * nothing), 400 for a malformed body, 413 past the size limit.
 */
async function signInFields<R, O extends string>(
  options: ResolvedMiddlewareOptions,
  handler: ResolvedHandlerOptions,
  reader: RequestReader<R>,
  req: R,
  optional: readonly O[],
): Promise<BodyFields<"username" | "password", O> | HttpResult> {
  if (isCrossSiteSignIn(options, reader, req)) return FORBIDDEN;
  return requestFields(handler, await readBodyFields(reader as RequestReader<unknown>, req, ["username", "password"], optional));
}

/** The fields read, or the answer to a body that could not be: 400 when malformed, 413 past the size limit. */
export function requestFields<T extends object>(handler: ResolvedHandlerOptions, fields: T | "invalid" | "too_large"): T | HttpResult {
  if (fields === "too_large") return failure(handler, 413, "payload_too_large", []);
  if (fields === "invalid") return failure(handler, 400, "invalid_request", []);
  return fields;
}

/**
 * A handler that signs in must refuse a cross-site request whether or not it carries a cookie:
 * a signed-out browser posting another site's form would otherwise be signed in to the
 * attacker's account (login CSRF). The middleware only checks requests with the cookie.
 */
export function isCrossSiteSignIn<R>(options: ResolvedMiddlewareOptions, reader: RequestReader<R>, req: R): boolean {
  return options.csrf && isRefusedByCsrf(options, reader, req);
}

// Errors by code, not instanceof: an adapter of one module format may drive a manager of the
// other, whose error classes are other classes with the same codes.
interface ErrorOfCode {
  email_taken: EmailTakenError;
  invalid_email: InvalidEmailError;
  invalid_password: InvalidPasswordError;
  invalid_username: InvalidUsernameError;
  login_throttled: LoginThrottledError;
  service_busy: ServiceBusyError;
  totp_already_enabled: TotpAlreadyEnabledError;
  totp_not_enabled: TotpNotEnabledError;
  username_taken: UsernameTakenError;
  user_not_found: UserNotFoundError;
}

export function hasCode<C extends keyof ErrorOfCode>(error: unknown, code: C): error is ErrorOfCode[C] {
  return error instanceof Error && (error as { code?: unknown }).code === code;
}

export function retryAfter(error: LoginThrottledError | ServiceBusyError): Array<[string, string]> {
  return [["Retry-After", String(error.retryAfterSeconds)]];
}

/** 429 `too_many_attempts` with `Retry-After`, for a client address past its hourly limit. */
export function tooManyRequests(handler: ResolvedHandlerOptions, seconds: number): HttpResult {
  return failure(handler, 429, "too_many_attempts", [], [["Retry-After", String(seconds)]]);
}

/** The first value of the session cookie on the request, under the middleware's cookie name, or null. */
export function requestToken<R>(options: ResolvedMiddlewareOptions, reader: RequestReader<R>, req: R): string | null {
  return presentTokens(options, reader, req)[0] ?? null;
}

/** Every value of the session cookie on the request (more than one when some were planted). */
export function presentTokens<R>(options: ResolvedMiddlewareOptions, reader: RequestReader<R>, req: R): readonly string[] {
  const tokens = readSessionCookieValues(reader.header(req, "cookie"), options.cookie.name);
  if (tokens === null) return [];
  return typeof tokens === "string" ? [tokens] : tokens;
}

export async function revokePresentCookies<R>(options: ResolvedMiddlewareOptions, reader: RequestReader<R>, req: R): Promise<boolean> {
  const tokens = presentTokens(options, reader, req);
  for (const token of tokens) await options.manager.revokeSession(token);
  return tokens.length > 0;
}

export function clearing<R>(
  options: ResolvedMiddlewareOptions,
  reader: RequestReader<R>,
  req: R,
  present: boolean,
): Array<[string, string]> {
  return present ? [["Set-Cookie", options.cookie.clear(isHttps(options, reader, req))]] : [];
}

export function meta<R>(reader: RequestReader<R>, req: R): SessionMeta {
  return { ip: reader.ip(req) ?? null, userAgent: reader.header(req, "user-agent") ?? null };
}

/** The cookie of a session just started or rotated: its expiry is measured from its `lastSeenAt` (now). */
export function sessionCookie<R>(options: ResolvedMiddlewareOptions, reader: RequestReader<R>, req: R, started: StartedSession): string {
  const { token, session } = started;
  const now = session.lastSeenAt ?? session.createdAt;
  return options.cookie.set(token, session.expiresAt, now, isHttps(options, reader, req), session.persistent);
}

/** The answer to a sign-in: the session cookie, with the user as JSON or a 303 to `redirectTo`. */
export function signedIn<R>(
  options: ResolvedMiddlewareOptions,
  handler: ResolvedHandlerOptions,
  reader: RequestReader<R>,
  req: R,
  user: User,
  started: StartedSession,
  status: number,
): HttpResult {
  const cookie = sessionCookie(options, reader, req, started);
  if (handler.redirectTo !== null)
    return {
      status: 303,
      headers: [
        ["Set-Cookie", cookie],
        ["Location", handler.redirectTo],
      ],
      body: null,
    };
  return {
    status,
    headers: [
      ["Set-Cookie", cookie],
      ["Cache-Control", "no-store"],
    ],
    body: { user: serializeUser(user) },
  };
}

export function failure(
  handler: ResolvedHandlerOptions,
  status: number,
  code: string,
  headers: Array<[string, string]>,
  extra: Array<[string, string]> = [],
): HttpResult {
  if (handler.failureRedirectTo !== null) {
    const separator = handler.failureRedirectTo.includes("?") ? "&" : "?";
    // A page shown after a 429 or 503 can say how long to wait.
    const wait = extra.find(([name]) => name === "Retry-After");
    const query = wait === undefined ? `error=${code}` : `error=${code}&retryAfter=${wait[1]}`;
    return { status: 303, headers: [...headers, ["Location", `${handler.failureRedirectTo}${separator}${query}`]], body: null };
  }
  return { status, headers: [...headers, ...extra], body: { error: code } };
}
