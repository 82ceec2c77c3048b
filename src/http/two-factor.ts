import { currentTime, finishSignIn } from "../internal.js";
import type { PendingSignIn } from "../two-factor.js";
import { readBodyFields } from "./body-fields.js";
import { readSessionCookieValues } from "./cookie.js";
import { FORBIDDEN } from "./csrf.js";
import {
  clearing,
  failure,
  hasCode,
  isFields,
  isCrossSiteSignIn,
  meta,
  requestFields,
  retryAfter,
  revokePresentCookies,
  signedIn,
  type ResolvedLoginOptions,
} from "./handlers.js";
import { isHttps } from "./middleware.js";
import type { ResolvedHandlerOptions, ResolvedMiddlewareOptions } from "./middleware-options.js";
import type { HttpResult, RequestReader } from "./request.js";

/**
 * The answer to a right password on an account with two-factor authentication: the pending
 * cookie (HttpOnly, for as long as the pending sign-in lives) and no session cookie, then 200
 * `{"twoFactorRequired":true}` or 303 to `twoFactorRedirectTo`. The pending token lives only in
 * the cookie: script on the page never sees it, and the code form posts nothing else.
 */
export function awaitingSecondFactor<R>(
  options: ResolvedMiddlewareOptions,
  handler: ResolvedLoginOptions,
  reader: RequestReader<R>,
  req: R,
  pending: PendingSignIn,
  previous: boolean,
): HttpResult {
  const https = isHttps(options, reader, req);
  const now = new Date(options.manager[currentTime]());
  const headers: Array<[string, string]> = [
    ...clearing(options, reader, req, previous),
    ["Set-Cookie", options.pendingCookie.set(pending.pendingToken, pending.expiresAt, now, https)],
    ["Cache-Control", "no-store"],
  ];
  if (handler.twoFactorRedirectTo !== null)
    return { status: 303, headers: [...headers, ["Location", handler.twoFactorRedirectTo]], body: null };
  return { status: 200, headers, body: { twoFactorRequired: true } };
}

/**
 * Finishes a sign-in waiting for its second factor: the body's `code` (from the authenticator
 * app, or a recovery code) against the pending cookie. Success: the session cookie, the pending
 * cookie cleared, 200 with the user or 303 to `redirectTo`. A wrong code, or no live pending
 * sign-in: 401 `invalid_code` (the pending sign-in dies after 5 wrong codes or 5 minutes); 429
 * while the username is throttled; 403 from another site, like every sign-in.
 */
export async function twoFactor<R>(
  options: ResolvedMiddlewareOptions,
  handler: ResolvedHandlerOptions,
  reader: RequestReader<R>,
  req: R,
): Promise<HttpResult> {
  if (isCrossSiteSignIn(options, reader, req)) return FORBIDDEN;
  const fields = requestFields(handler, await readBodyFields(reader as RequestReader<unknown>, req, ["code"]));
  if (!isFields(fields)) return fields;
  const values = readSessionCookieValues(reader.header(req, "cookie"), options.pendingCookie.name);
  const pendingToken = typeof values === "string" ? values : (values?.[0] ?? null);
  if (pendingToken === null) return failure(handler, 401, "invalid_code", []);
  let started;
  try {
    started = await options.manager[finishSignIn](pendingToken, fields.code, meta(reader, req));
  } catch (error) {
    if (hasCode(error, "login_throttled")) return failure(handler, 429, "too_many_attempts", [], retryAfter(error));
    throw error;
  }
  if (started === null) return failure(handler, 401, "invalid_code", []);
  // A session cookie planted while the code was typed is revoked; the new one replaces it.
  await revokePresentCookies(options, reader, req);
  const answer = signedIn(options, handler, reader, req, started.user, started, 200);
  return { ...answer, headers: [...answer.headers, ["Set-Cookie", options.pendingCookie.clear(isHttps(options, reader, req))]] };
}
