import { InvalidOptionsError } from "../errors.js";
import { changeEmail, emitAuthEvent, limitAddress } from "../internal.js";
import type { EmailToken } from "../recovery.js";
import type { SessionManager } from "../session-manager.js";
import type { User } from "../types.js";
import { isFresh } from "./account.js";
import { readBodyFields } from "./body-fields.js";
import { FORBIDDEN, isRefusedByCsrf } from "./csrf.js";
import { clearing, failure, hasCode, isFields, requestFields, retryAfter, serializeUser, tooManyRequests } from "./handlers.js";
import {
  resolveHandlerOptions,
  type HandlerOptions,
  type ResolvedHandlerOptions,
  type ResolvedMiddlewareOptions,
} from "./middleware-options.js";
import type { HttpResult, RequestReader } from "./request.js";

/**
 * A message for the app to deliver. The three link messages carry the one-time `token` and the
 * `url` to follow (`link` with `token` added); the notice of a changed address carries neither.
 */
export type EmailMessage =
  | {
      kind: "password_reset" | "email_verification" | "email_change";
      /** The address to send to: the one stored on the account, or the new one for `email_change`. */
      to: string;
      user: User;
      token: string;
      url: string;
      expiresAt: Date;
    }
  | {
      kind: "email_changed_notice";
      /** The address the account had before. */
      to: string;
      user: User;
      /** The address the account has now. */
      newEmail: string;
    };

/** Delivers one message; a throw or a rejection is reported as an `email_delivery_failed` event. */
export type SendEmail = (message: EmailMessage) => void | Promise<void>;

/** Options of the handlers that send a link: where the link points and how mail is sent. */
export interface EmailLinkHandlerOptions extends HandlerOptions {
  sendEmail: SendEmail;
  /**
   * The absolute URL of the page that takes the token (`"https://app.example.com/reset-password"`);
   * the token is added as its `token` query parameter. Never built from the request's `Host`,
   * which a client chooses.
   */
  link: string;
}

/** Options of `emailChangeHandler`. */
export interface EmailChangeHandlerOptions extends EmailLinkHandlerOptions {
  /**
   * Seconds since the password was last presented for the session (login or
   * `reauthenticateHandler`); past that the request gets 403 `reauthentication_required`, or a
   * 303 to `failureRedirectTo` with that error. Default 600: changing the address is how an
   * attacker holding a stolen session would take the account over.
   */
  fresh?: number;
}

/** Options of `confirmEmailChangeHandler`: `sendEmail` sends the notice to the old address. */
export interface ConfirmEmailChangeHandlerOptions extends HandlerOptions {
  sendEmail?: SendEmail;
}

/** Link handler options after validation. */
export interface ResolvedEmailLinkOptions {
  readonly handler: ResolvedHandlerOptions;
  readonly sendEmail: SendEmail;
  readonly link: URL;
}

// Deliveries that may be under way at once per handler; past that, new ones are dropped and
// reported rather than piling up in memory under a flood of requests.
const MAX_PENDING_DELIVERIES = 256;
const ACCEPTED: HttpResult = Object.freeze({
  status: 202,
  headers: Object.freeze([["Referrer-Policy", "no-referrer"] as const]),
  body: Object.freeze({ status: "accepted" }),
});
const NO_REFERRER: readonly [string, string] = ["Referrer-Policy", "no-referrer"];

/** Checks the options of a link handler once, when it is created. */
export function resolveEmailLinkOptions(
  name: string,
  options: EmailLinkHandlerOptions,
  extraKeys: readonly string[] = [],
): ResolvedEmailLinkOptions {
  if (typeof options !== "object" || options === null) throw new InvalidOptionsError(`${name}() needs { sendEmail, link }`);
  if (typeof options.sendEmail !== "function") throw new InvalidOptionsError(`${name}(): sendEmail must be a function`);
  let link: URL;
  try {
    link = new URL(options.link);
  } catch {
    throw new InvalidOptionsError(`${name}(): link must be an absolute URL such as "https://app.example.com/reset-password"`);
  }
  if (link.protocol !== "https:" && link.protocol !== "http:") throw new InvalidOptionsError(`${name}(): link must be an http(s) URL`);
  if (link.searchParams.has("token")) throw new InvalidOptionsError(`${name}(): link must not have a token parameter of its own`);
  return Object.freeze({
    handler: resolveHandlerOptions(options, name, ["sendEmail", "link", ...extraKeys]),
    sendEmail: options.sendEmail,
    link,
  });
}

/** Checks the options of `confirmEmailChangeHandler` once. */
export function resolveConfirmOptions(options: ConfirmEmailChangeHandlerOptions): {
  handler: ResolvedHandlerOptions;
  sendEmail: SendEmail | null;
} {
  if (options.sendEmail !== undefined && typeof options.sendEmail !== "function") {
    throw new InvalidOptionsError("confirmEmailChangeHandler(): sendEmail must be a function");
  }
  return { handler: resolveHandlerOptions(options, "confirmEmailChangeHandler", ["sendEmail"]), sendEmail: options.sendEmail ?? null };
}

/**
 * Counts the deliveries under way, per handler. Work runs after the answer is sent (`setImmediate`):
 * nothing the requester sees depends on it, and a failure is reported as `email_delivery_failed`.
 */
export class DeliveryQueue {
  #pending = 0;

  run(manager: SessionManager, kind: EmailMessage["kind"], work: () => Promise<void>): void {
    if (this.#pending >= MAX_PENDING_DELIVERIES) {
      manager[emitAuthEvent]("email_delivery_failed", { emailKind: kind, reason: "too many deliveries pending" });
      return;
    }
    this.#pending++;
    setImmediate(() => {
      work()
        .catch((error: unknown) => {
          // The error's code or class only: a message may quote the mail, and the mail holds a token.
          const reason = errorName(error);
          manager[emitAuthEvent]("email_delivery_failed", { emailKind: kind, reason });
        })
        .finally(() => this.#pending--);
    });
  }
}

/**
 * POST `identifier` (a username or an email address): 202 whatever happens next, so the answer
 * tells nobody whether an account matched; the lookup, the token and the delivery run after it.
 * Past `ipMaxResetRequests` from one client address within the hour: 429, whatever the identifier.
 */
export async function passwordResetRequest<R>(
  options: ResolvedMiddlewareOptions,
  mail: ResolvedEmailLinkOptions,
  queue: DeliveryQueue,
  reader: RequestReader<R>,
  req: R,
): Promise<HttpResult> {
  if (options.csrf && isRefusedByCsrf(options, reader, req)) return CROSS_SITE;
  const fields = requestFields(mail.handler, await readBodyFields(reader as RequestReader<unknown>, req, ["identifier"]));
  if (!isFields(fields)) return withNoReferrer(fields);
  const manager = options.manager;
  // Counted by address only, before anything looks at the identifier: a 429 says nothing about accounts.
  const wait = await manager[limitAddress]("reset_request", reader.ip(req));
  if (wait !== null) return withNoReferrer(tooManyRequests(mail.handler, wait));
  queue.run(manager, "password_reset", async () => {
    const issued = await manager.createPasswordResetToken(fields.identifier);
    if (issued !== null) await send(mail, "password_reset", issued.user, issued);
  });
  return accepted(mail.handler);
}

/**
 * POST `token` and `password`: sets the new password (`resetPassword`) and clears the session
 * cookie, since every session of the user has just been revoked. Only POST: a GET (a mail
 * scanner following the link, say) never reaches the token.
 */
export async function passwordReset<R>(
  options: ResolvedMiddlewareOptions,
  handler: ResolvedHandlerOptions,
  reader: RequestReader<R>,
  req: R,
): Promise<HttpResult> {
  if (reader.method(req) !== "POST") return METHOD_NOT_ALLOWED;
  if (options.csrf && isRefusedByCsrf(options, reader, req)) return CROSS_SITE;
  const fields = requestFields(handler, await readBodyFields(reader as RequestReader<unknown>, req, ["token", "password"]));
  if (!isFields(fields)) return withNoReferrer(fields);
  const cookie = clearing(options, reader, req, true);
  let user: User | null;
  try {
    user = await options.manager.resetPassword(fields.token, fields.password);
  } catch (error) {
    // The token is still good: a form sends the user back to it to try another password.
    if (hasCode(error, "invalid_password")) return withNoReferrer(keepToken(failure(handler, 400, "invalid_password", []), fields.token));
    if (hasCode(error, "service_busy"))
      return withNoReferrer(keepToken(failure(handler, 503, "service_busy", [], retryAfter(error)), fields.token));
    throw error;
  }
  if (user === null) return withNoReferrer(failure(handler, 400, "invalid_token", []));
  return withNoReferrer(success(handler, user, cookie));
}

/** POST, signed in: sends a link verifying the user's address; 202. */
export function emailVerificationRequest<R>(
  options: ResolvedMiddlewareOptions,
  mail: ResolvedEmailLinkOptions,
  queue: DeliveryQueue,
  reader: RequestReader<R>,
  req: R,
): HttpResult {
  const user = reader.user(req);
  if (user === null) return failure(mail.handler, 401, "unauthorized", []);
  const manager = options.manager;
  queue.run(manager, "email_verification", async () => {
    const issued = await manager.createEmailVerificationToken(user.id);
    if (issued !== null) await send(mail, "email_verification", user, issued);
  });
  return accepted(mail.handler);
}

/** GET `?token=` (the link itself) or POST `token`: verifies the address; 200 `{"user":…}` or 303. */
export async function verifyEmail<R>(
  options: ResolvedMiddlewareOptions,
  handler: ResolvedHandlerOptions,
  reader: RequestReader<R>,
  req: R,
): Promise<HttpResult> {
  const token = await tokenOf(options, handler, reader, req);
  if (typeof token !== "string") return token;
  const user = await options.manager.verifyEmail(token);
  if (user === null) return withNoReferrer(failure(handler, 400, "invalid_token", []));
  return withNoReferrer(success(handler, user, []));
}

/**
 * POST `email`, signed in with the password presented within `freshMs`: sends a confirmation link
 * to the new address; 202.
 */
export async function emailChange<R>(
  options: ResolvedMiddlewareOptions,
  mail: ResolvedEmailLinkOptions,
  freshMs: number,
  queue: DeliveryQueue,
  reader: RequestReader<R>,
  req: R,
): Promise<HttpResult> {
  const user = reader.user(req);
  const session = reader.session(req);
  if (user === null || session === null) return failure(mail.handler, 401, "unauthorized", []);
  if (!isFresh(options, session, freshMs)) return failure(mail.handler, 403, "reauthentication_required", []);
  const fields = requestFields(mail.handler, await readBodyFields(reader as RequestReader<unknown>, req, ["email"]));
  if (!isFields(fields)) return fields;
  let issued: EmailToken;
  try {
    issued = await options.manager.requestEmailChange(user.id, fields.email);
  } catch (error) {
    if (hasCode(error, "invalid_email")) return failure(mail.handler, 400, "invalid_email", []);
    if (hasCode(error, "email_taken")) return failure(mail.handler, 409, "email_taken", []);
    if (hasCode(error, "user_not_found")) return failure(mail.handler, 401, "unauthorized", []);
    throw error;
  }
  queue.run(options.manager, "email_change", () => send(mail, "email_change", user, issued));
  return accepted(mail.handler);
}

/** GET `?token=` or POST `token`: gives the account its new address; 200 `{"user":…}` or 303. */
export async function confirmEmailChange<R>(
  options: ResolvedMiddlewareOptions,
  confirm: { handler: ResolvedHandlerOptions; sendEmail: SendEmail | null },
  queue: DeliveryQueue,
  reader: RequestReader<R>,
  req: R,
): Promise<HttpResult> {
  const token = await tokenOf(options, confirm.handler, reader, req);
  if (typeof token !== "string") return token;
  const change = await options.manager[changeEmail](token);
  if (change === null) return withNoReferrer(failure(confirm.handler, 400, "invalid_token", []));
  const { user, previousEmail } = change;
  const sendEmail = confirm.sendEmail;
  if (sendEmail !== null && previousEmail !== null && user.email !== null) {
    const notice: EmailMessage = { kind: "email_changed_notice", to: previousEmail, user, newEmail: user.email };
    queue.run(options.manager, "email_changed_notice", async () => sendEmail(notice));
  }
  return withNoReferrer(success(confirm.handler, user, []));
}

/** The token of a GET link (`?token=`) or a POST body (`token`), or the answer refusing the request. */
async function tokenOf<R>(
  options: ResolvedMiddlewareOptions,
  handler: ResolvedHandlerOptions,
  reader: RequestReader<R>,
  req: R,
): Promise<string | HttpResult> {
  const method = reader.method(req);
  if (method === "GET" || method === "HEAD") {
    const token = reader.query(req, "token");
    return token === undefined ? withNoReferrer(failure(handler, 400, "invalid_token", [])) : token;
  }
  if (method !== "POST") return METHOD_NOT_ALLOWED;
  if (options.csrf && isRefusedByCsrf(options, reader, req)) return CROSS_SITE;
  const fields = requestFields(handler, await readBodyFields(reader as RequestReader<unknown>, req, ["token"]));
  return isFields(fields) ? fields.token : withNoReferrer(fields);
}

async function send(
  mail: ResolvedEmailLinkOptions,
  kind: "password_reset" | "email_verification" | "email_change",
  user: User,
  issued: EmailToken,
): Promise<void> {
  const url = new URL(mail.link);
  url.searchParams.set("token", issued.token);
  await mail.sendEmail({ kind, to: issued.email, user, token: issued.token, url: url.href, expiresAt: issued.expiresAt });
}

function accepted(handler: ResolvedHandlerOptions): HttpResult {
  if (handler.redirectTo === null) return ACCEPTED;
  return { status: 303, headers: [NO_REFERRER, ["Location", handler.redirectTo]], body: null };
}

function success(handler: ResolvedHandlerOptions, user: User, headers: ReadonlyArray<readonly [string, string]>): HttpResult {
  if (handler.redirectTo !== null) return { status: 303, headers: [...headers, ["Location", handler.redirectTo]], body: null };
  return { status: 200, headers: [...headers, ["Cache-Control", "no-store"]], body: { user: serializeUser(user) } };
}

// Refusals carry Referrer-Policy like every other answer of these handlers: the URL they answer may hold a token.
const METHOD_NOT_ALLOWED: HttpResult = Object.freeze({
  status: 405,
  headers: Object.freeze([["Allow", "POST"] as const, NO_REFERRER]),
  body: Object.freeze({ error: "method_not_allowed" }),
});
const CROSS_SITE: HttpResult = Object.freeze({ ...FORBIDDEN, headers: Object.freeze([...FORBIDDEN.headers, NO_REFERRER]) });

function withNoReferrer(result: HttpResult): HttpResult {
  return { ...result, headers: [...result.headers, NO_REFERRER] };
}

/** A failure redirect that takes the form back to the same token. */
function keepToken(result: HttpResult, token: string): HttpResult {
  if (result.status !== 303) return result;
  return {
    ...result,
    headers: result.headers.map(([name, value]) =>
      name === "Location" ? [name, `${value}&token=${encodeURIComponent(token)}`] : [name, value],
    ),
  };
}

function errorName(error: unknown): string {
  if (typeof error === "object" && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string") return code.slice(0, 64);
    const name = (error as { name?: unknown }).name;
    if (typeof name === "string") return name.slice(0, 64);
  }
  return "error";
}
