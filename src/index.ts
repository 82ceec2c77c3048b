export {
  SessionManager,
  type ChangePasswordOptions,
  type CreateUserOptions,
  type MigrateOptions,
  type MigrationReport,
} from "./session-manager.js";
export type { EmailToken, PasswordResetToken } from "./recovery.js";
export type { PendingSignIn, SignedIn, TotpSetup, TwoFactorChangeOptions } from "./two-factor.js";
export type { UsernameConflict, RefusedUsername } from "./database/username-keys.js";
export {
  SessionManagerError,
  InvalidUsernameError,
  InvalidPasswordError,
  UsernameTakenError,
  UserNotFoundError,
  LoginThrottledError,
  UnsupportedDatabaseError,
  InvalidOptionsError,
  ServiceBusyError,
  DatabaseTimeoutError,
  InvalidEmailError,
  EmailTakenError,
  TwoFactorRequiredError,
  TotpKeyError,
  TotpAlreadyEnabledError,
  TotpNotEnabledError,
  type SessionManagerErrorCode,
} from "./errors.js";
export type { SessionManagerOptions, PasswordOptions, ThrottleOptions, TokenOptions, TotpOptions } from "./options.js";
export type { DialectKind } from "./database/dialect.js";
export type { DatabaseDriver } from "./database/connect.js";
export type { SqliteDriver } from "./database/sqlite-drivers.js";
export type * from "./types.js";
export { readSessionCookie } from "./http/cookie.js";
export type { SessionMiddlewareOptions, SessionCookieOptions, HandlerOptions } from "./http/middleware-options.js";
export type {
  ConfirmEmailChangeHandlerOptions,
  EmailChangeHandlerOptions,
  EmailLinkHandlerOptions,
  EmailMessage,
  SendEmail,
} from "./http/recovery.js";
export { errorMessage, type HttpErrorCode } from "./http/error-messages.js";
export type { LoginHandlerOptions, RequireUserOptions } from "./http/middleware-options.js";
