import { InvalidPasswordError, InvalidUsernameError, LoginThrottledError, UsernameTakenError } from "../errors.js";
import type { SessionMeta, User } from "../types.js";
import { readCredentials, type Credentials, type CredentialsResult } from "./body.js";
import { readSessionCookie } from "./cookie.js";
import type { ResolvedHandlerOptions, ResolvedMiddlewareOptions } from "./middleware-options.js";
import type { HttpResult, JsonBody, RequestReader } from "./request.js";

/** A user as the HTTP API shows it: never more than these three fields. */
export function serializeUser(user: User): JsonBody {
  return { id: user.id, username: user.username, createdAt: user.createdAt.toISOString() };
}

/** The answer of `requireUser` to an anonymous request: 401 JSON, or 303 to `redirectTo`. */
export function unauthorized(handler: ResolvedHandlerOptions): HttpResult {
  if (handler.redirectTo !== null) return { status: 303, headers: [["Location", handler.redirectTo]], body: null };
  return { status: 401, headers: [], body: { error: "unauthorized" } };
}

/**
 * Logs in with the body's username and password. A session cookie already on the request is
 * revoked first, so that a session planted before login never becomes an authenticated one.
 */
export async function login<R>(options: ResolvedMiddlewareOptions, handler: ResolvedHandlerOptions, reader: RequestReader<R>, req: R): Promise<HttpResult> {
  const credentials = await readCredentials(reader, req);
  if (!isCredentials(credentials)) return refused(handler, credentials);
  const previous = await revokePresentCookie(options, reader, req);
  let token: string | null;
  try {
    token = await options.manager.login(credentials.username, credentials.password, meta(reader, req));
  } catch (error) {
    if (!(error instanceof LoginThrottledError)) throw error;
    return failure(handler, 429, "too_many_attempts", clearing(options, reader, req, previous), [["Retry-After", String(error.retryAfterSeconds)]]);
  }
  // One answer for an unknown user and a wrong password: the response tells nobody which usernames exist.
  if (token === null) return failure(handler, 401, "invalid_credentials", clearing(options, reader, req, previous));
  return started(options, handler, reader, req, token, 200);
}

/** Creates the user from the body's username and password and logs them in. */
export async function register<R>(options: ResolvedMiddlewareOptions, handler: ResolvedHandlerOptions, reader: RequestReader<R>, req: R): Promise<HttpResult> {
  const credentials = await readCredentials(reader, req);
  if (!isCredentials(credentials)) return refused(handler, credentials);
  let user: User;
  try {
    user = await options.manager.createUser(credentials.username, credentials.password);
  } catch (error) {
    if (error instanceof UsernameTakenError) return failure(handler, 409, "username_taken", []);
    if (error instanceof InvalidUsernameError) return failure(handler, 400, "invalid_username", []);
    if (error instanceof InvalidPasswordError) return failure(handler, 400, "invalid_password", []);
    throw error;
  }
  await revokePresentCookie(options, reader, req);
  const token = await options.manager.createSession(user.id, meta(reader, req));
  return started(options, handler, reader, req, token, 201);
}

/** Ends the request's session, if any, and clears the cookie: 204, or 303 to `redirectTo`. */
export async function logout<R>(options: ResolvedMiddlewareOptions, handler: ResolvedHandlerOptions, reader: RequestReader<R>, req: R): Promise<HttpResult> {
  const token = readSessionCookie(reader.header(req, "cookie"), options.cookie.name);
  if (token !== null) await options.manager.logout(token);
  const headers: Array<[string, string]> = [["Set-Cookie", options.cookie.clear(reader.secure(req))]];
  if (handler.redirectTo === null) return { status: 204, headers, body: null };
  headers.push(["Location", handler.redirectTo]);
  return { status: 303, headers, body: null };
}

function isCredentials(result: CredentialsResult): result is Credentials {
  return typeof result === "object";
}

function refused(handler: ResolvedHandlerOptions, reason: "invalid" | "too_large"): HttpResult {
  return reason === "too_large" ? failure(handler, 413, "payload_too_large", []) : failure(handler, 400, "invalid_request", []);
}

async function revokePresentCookie<R>(options: ResolvedMiddlewareOptions, reader: RequestReader<R>, req: R): Promise<boolean> {
  const token = readSessionCookie(reader.header(req, "cookie"), options.cookie.name);
  if (token === null) return false;
  await options.manager.revokeSession(token);
  return true;
}

function clearing<R>(options: ResolvedMiddlewareOptions, reader: RequestReader<R>, req: R, present: boolean): Array<[string, string]> {
  return present ? [["Set-Cookie", options.cookie.clear(reader.secure(req))]] : [];
}

function meta<R>(reader: RequestReader<R>, req: R): SessionMeta {
  return { ip: reader.ip(req) ?? null, userAgent: reader.header(req, "user-agent") ?? null };
}

async function started<R>(options: ResolvedMiddlewareOptions, handler: ResolvedHandlerOptions, reader: RequestReader<R>, req: R, token: string, status: number): Promise<HttpResult> {
  // The token alone does not say when it expires: ask the manager, which knows its own clock.
  const check = await options.manager.checkSession(token);
  if (check === null) throw new Error("the session just created is not live");
  const { user, session } = check;
  const cookie = options.cookie.set(token, session.expiresAt, session.lastSeenAt ?? session.createdAt, reader.secure(req));
  if (handler.redirectTo !== null) return { status: 303, headers: [["Set-Cookie", cookie], ["Location", handler.redirectTo]], body: null };
  return { status, headers: [["Set-Cookie", cookie], ["Cache-Control", "no-store"]], body: { user: serializeUser(user) } };
}

function failure(handler: ResolvedHandlerOptions, status: number, code: string, headers: Array<[string, string]>, extra: Array<[string, string]> = []): HttpResult {
  if (handler.failureRedirectTo !== null) {
    const separator = handler.failureRedirectTo.includes("?") ? "&" : "?";
    return { status: 303, headers: [...headers, ["Location", `${handler.failureRedirectTo}${separator}error=${code}`]], body: null };
  }
  return { status, headers: [...headers, ...extra], body: { error: code } };
}
