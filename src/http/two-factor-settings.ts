import { InvalidOptionsError } from "../errors.js";
import { readBodyFields } from "./body-fields.js";
import { currentToken, isFresh } from "./account.js";
import { failure, hasCode, isFields, requestFields } from "./handlers.js";
import {
  resolveHandlerOptions,
  type HandlerOptions,
  type ResolvedHandlerOptions,
  type ResolvedMiddlewareOptions,
} from "./middleware-options.js";
import type { HttpResult, JsonBody, RequestReader } from "./request.js";

/**
 * Options of the two-factor settings handlers (`totpSetupHandler`, `totpConfirmHandler`,
 * `totpDisableHandler`, `recoveryCodesHandler`).
 */
export interface TwoFactorSettingsOptions extends HandlerOptions {
  /**
   * Seconds since the password was last presented for this session within which the change is
   * allowed; older sign-ins get 403 `reauthentication_required`. Default 600. Someone holding
   * a stolen session cookie must not be able to turn two-factor off, or on with their own phone.
   */
  fresh?: number;
}

/** Two-factor settings handler options after validation. */
export interface ResolvedTwoFactorSettings {
  readonly handler: ResolvedHandlerOptions;
  readonly freshMs: number;
}

/** Checks the options of a two-factor settings handler once, at creation. */
export function resolveTwoFactorSettings(name: string, options: TwoFactorSettingsOptions = {}): ResolvedTwoFactorSettings {
  const handler = resolveHandlerOptions(options, name, ["fresh"]);
  const fresh = options.fresh ?? 600;
  if (typeof fresh !== "number" || !Number.isFinite(fresh) || fresh <= 0) {
    throw new InvalidOptionsError(`${name}(): fresh must be a positive number of seconds`);
  }
  return Object.freeze({ handler, freshMs: fresh * 1000 });
}

type Change<R> = (
  options: ResolvedMiddlewareOptions,
  settings: ResolvedTwoFactorSettings,
  reader: RequestReader<R>,
  req: R,
  userId: number,
) => Promise<HttpResult>;

/**
 * The shared preamble: signed in (401), signed in with the password recently (403
 * `reauthentication_required`), then the change; the core's two-factor errors as answers.
 */
export function twoFactorChange(change: Change<unknown>) {
  return async <R>(
    options: ResolvedMiddlewareOptions,
    settings: ResolvedTwoFactorSettings,
    reader: RequestReader<R>,
    req: R,
  ): Promise<HttpResult> => {
    const { handler } = settings;
    const user = reader.user(req);
    const session = reader.session(req);
    if (user === null || session === null) return failure(handler, 401, "unauthorized", []);
    if (!isFresh(options, session, settings.freshMs)) return failure(handler, 403, "reauthentication_required", []);
    try {
      return await change(options, settings, reader, req, user.id);
    } catch (error) {
      if (hasCode(error, "totp_already_enabled")) return failure(handler, 409, "totp_already_enabled", []);
      if (hasCode(error, "totp_not_enabled")) return failure(handler, 409, "totp_not_enabled", []);
      if (hasCode(error, "user_not_found")) return failure(handler, 401, "unauthorized", []);
      throw error;
    }
  };
}

/** JSON the page shows once: never cached. */
function secretAnswer(body: JsonBody): HttpResult {
  return { status: 200, headers: [["Cache-Control", "no-store"]], body };
}

function done(handler: ResolvedHandlerOptions): HttpResult {
  if (handler.redirectTo !== null) return { status: 303, headers: [["Location", handler.redirectTo]], body: null };
  return { status: 204, headers: [], body: null };
}

/** POST: begins setting TOTP up; 200 `{ secret, uri }` for the QR code; 409 `totp_already_enabled`. */
export const totpSetup = twoFactorChange(async (options, _settings, _reader, _req, userId) => {
  const { secret, uri } = await options.manager.beginTotpSetup(userId);
  return secretAnswer({ secret, uri });
});

/** POST `code`: turns TOTP on; 200 `{ recoveryCodes }` (shown once); 400 `invalid_code`. */
export const totpConfirm = twoFactorChange(async (options, { handler }, reader, req, userId) => {
  const fields = requestFields(handler, await readBodyFields(reader, req, ["code"]));
  if (!isFields(fields)) return fields;
  const recoveryCodes = await options.manager.confirmTotpSetup(userId, fields.code);
  if (recoveryCodes === null) return failure(handler, 400, "invalid_code", []);
  return secretAnswer({ recoveryCodes });
});

/** POST: turns TOTP off and signs out every other session; 204 or 303; 409 `totp_not_enabled`. */
export const totpDisable = twoFactorChange(async (options, { handler }, reader, req, userId) => {
  const keepToken = (await currentToken(options, reader, req, reader.session(req)!)) ?? undefined;
  if (!(await options.manager.disableTotp(userId, { keepToken }))) return failure(handler, 409, "totp_not_enabled", []);
  return done(handler);
});

/** POST: new recovery codes, the old ones void, every other session signed out; 200 `{ recoveryCodes }`. */
export const recoveryCodes = twoFactorChange(async (options, _settings, reader, req, userId) => {
  const keepToken = (await currentToken(options, reader, req, reader.session(req)!)) ?? undefined;
  return secretAnswer({ recoveryCodes: await options.manager.regenerateRecoveryCodes(userId, { keepToken }) });
});
