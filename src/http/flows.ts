import { InvalidOptionsError } from "../errors.js";
import {
  changePassword,
  listSessions,
  reauthenticate,
  resolveRequireUser,
  revokeSession,
  refusal,
  type ResolvedRequireUser,
} from "./account.js";
import { login, logout, register, resolveLoginOptions } from "./handlers.js";
import {
  resolveHandlerOptions,
  type HandlerOptions,
  type LoginHandlerOptions,
  type RequireUserOptions,
  type ResolvedMiddlewareOptions,
} from "./middleware-options.js";
import {
  confirmEmailChange,
  DeliveryQueue,
  emailChange,
  emailVerificationRequest,
  passwordReset,
  passwordResetRequest,
  resolveConfirmOptions,
  resolveEmailLinkOptions,
  verifyEmail,
  type ConfirmEmailChangeHandlerOptions,
  type EmailChangeHandlerOptions,
  type EmailLinkHandlerOptions,
} from "./recovery.js";
import type { HttpResult, RequestReader } from "./request.js";
import { twoFactor } from "./two-factor.js";
import {
  recoveryCodes,
  resolveTwoFactorSettings,
  type twoFactorChange,
  totpConfirm,
  totpDisable,
  totpSetup,
  type TwoFactorSettingsOptions,
} from "./two-factor-settings.js";

/** A handler's logic with its own options bound: what an adapter runs for one request. */
export type Flow = <R extends object>(options: ResolvedMiddlewareOptions, reader: RequestReader<R>, req: R) => Promise<HttpResult>;

/**
 * `requireUser`'s check with its options bound: the answer refusing the request, or null to let
 * it through. Throws when `sessionMiddleware()` did not run for the request.
 */
export type Guard = <R extends object>(reader: RequestReader<R>, req: R) => HttpResult | null;

type PlainFlow = <R>(
  options: ResolvedMiddlewareOptions,
  handler: ReturnType<typeof resolveHandlerOptions>,
  reader: RequestReader<R>,
  req: R,
) => Promise<HttpResult>;

/** A flow that takes only the common handler options. */
function plain(name: string, flow: PlainFlow, options: HandlerOptions): Flow {
  const handler = resolveHandlerOptions(options, name);
  return (middleware, reader, req) => flow(middleware, handler, reader, req);
}

/** A two-factor settings flow: signed in, freshly, then the change. */
function settings(name: string, flow: ReturnType<typeof twoFactorChange>, options: TwoFactorSettingsOptions): Flow {
  const resolved = resolveTwoFactorSettings(name, options);
  return (middleware, reader, req) => flow(middleware, resolved, reader, req);
}

/**
 * Every handler's logic, its options checked once, when the adapter's factory is called; each
 * adapter exports one function per entry, of the same name with `Handler` added.
 */
export const flows = {
  login(options: LoginHandlerOptions): Flow {
    const handler = resolveLoginOptions(options);
    return (middleware, reader, req) => login(middleware, handler, reader, req);
  },
  twoFactor: (options: HandlerOptions): Flow => plain("twoFactorHandler", twoFactor, options),
  totpSetup: (options: TwoFactorSettingsOptions): Flow => settings("totpSetupHandler", totpSetup, options),
  totpConfirm: (options: TwoFactorSettingsOptions): Flow => settings("totpConfirmHandler", totpConfirm, options),
  totpDisable: (options: TwoFactorSettingsOptions): Flow => settings("totpDisableHandler", totpDisable, options),
  recoveryCodes: (options: TwoFactorSettingsOptions): Flow => settings("recoveryCodesHandler", recoveryCodes, options),
  register: (options: HandlerOptions): Flow => plain("registerHandler", register, options),
  logout: (options: HandlerOptions): Flow => plain("logoutHandler", logout, options),
  reauthenticate: (options: HandlerOptions): Flow => plain("reauthenticateHandler", reauthenticate, options),
  changePassword: (options: HandlerOptions): Flow => plain("changePasswordHandler", changePassword, options),
  sessions: (options: HandlerOptions): Flow => plain("sessionsHandler", listSessions, options),
  revokeSession: (options: HandlerOptions): Flow => plain("revokeSessionHandler", revokeSession, options),
  passwordResetRequest(options: EmailLinkHandlerOptions): Flow {
    const mail = resolveEmailLinkOptions("passwordResetRequestHandler", options);
    const queue = new DeliveryQueue();
    return (middleware, reader, req) => passwordResetRequest(middleware, mail, queue, reader, req);
  },
  passwordReset: (options: HandlerOptions): Flow => plain("passwordResetHandler", passwordReset, options),
  emailVerificationRequest(options: EmailLinkHandlerOptions): Flow {
    const mail = resolveEmailLinkOptions("emailVerificationRequestHandler", options);
    const queue = new DeliveryQueue();
    return (middleware, reader, req) => Promise.resolve(emailVerificationRequest(middleware, mail, queue, reader, req));
  },
  verifyEmail: (options: HandlerOptions): Flow => plain("verifyEmailHandler", verifyEmail, options),
  emailChange(options: EmailChangeHandlerOptions): Flow {
    const mail = resolveEmailLinkOptions("emailChangeHandler", options, ["fresh"]);
    const fresh = options.fresh ?? 600;
    if (typeof fresh !== "number" || !Number.isFinite(fresh) || fresh <= 0) {
      throw new InvalidOptionsError("emailChangeHandler(): fresh must be a positive number of seconds");
    }
    const queue = new DeliveryQueue();
    return (middleware, reader, req) => emailChange(middleware, mail, fresh * 1000, queue, reader, req);
  },
  confirmEmailChange(options: ConfirmEmailChangeHandlerOptions): Flow {
    const confirm = resolveConfirmOptions(options);
    const queue = new DeliveryQueue();
    return (middleware, reader, req) => confirmEmailChange(middleware, confirm, queue, reader, req);
  },
};

/** `requireUser`'s check, its options checked once. */
export function guard(options: RequireUserOptions, name = "requireUser"): Guard {
  const resolved: ResolvedRequireUser = resolveRequireUser(options);
  return (reader, req) => refusal(resolved, name, reader, req);
}
