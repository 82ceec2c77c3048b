/**
 * Stable machine-readable codes carried by every error the library throws.
 *
 * ### Examples
 *
 * ```ts
 * import { SessionManagerError, type SessionManagerErrorCode } from "session-manager"
 *
 * function status(error: unknown): number {
 *   const code: SessionManagerErrorCode | null = error instanceof SessionManagerError ? error.code : null
 *   return code === "username_taken" ? 409 : code === "login_throttled" ? 429 : 500
 * }
 * ```
 */
export type SessionManagerErrorCode =
  | "invalid_username"
  | "invalid_password"
  | "username_taken"
  | "user_not_found"
  | "login_throttled"
  | "unsupported_database"
  | "invalid_options"
  | "service_busy"
  | "database_timeout"
  | "invalid_email"
  | "email_taken"
  | "two_factor_required"
  | "totp_key"
  | "totp_already_enabled"
  | "totp_not_enabled";

/**
 * Base class of every error thrown by session-manager. Switch on `code`, which is stable across
 * versions, rather than on the message.
 *
 * ### Examples
 *
 * ```ts
 * import { SessionManager, SessionManagerError } from "session-manager"
 *
 * const sm = new SessionManager()
 * try {
 *   await sm.createUser("alice", "hunter2")
 * } catch (error) {
 *   if (error instanceof SessionManagerError && error.code === "invalid_password") {
 *     // ask for a longer password
 *   }
 * }
 * ```
 */
export class SessionManagerError extends Error {
  readonly code: SessionManagerErrorCode;

  constructor(code: SessionManagerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * The username is not a string, is empty after trimming, is longer than 64 characters, or holds a
 * character that is invisible or changes how text around it is shown: controls, format and
 * bidirectional characters, default-ignorable code points (zero-width joiners, soft hyphen,
 * variation selectors), blank letters (Hangul fillers, U+2800), whitespace other than the plain
 * space, unassigned code points.
 */
export class InvalidUsernameError extends SessionManagerError {
  constructor(message = "username must be 1 to 64 characters without invisible, control or format characters") {
    super("invalid_username", message);
  }
}

/** The password is not a string or not 8 to 1024 characters, or an imported hash is not argon2. */
export class InvalidPasswordError extends SessionManagerError {
  constructor(message = "password must be 8 to 1024 characters") {
    super("invalid_password", message);
  }
}

/** Another user already has this username (compared case-insensitively after NFKC). */
export class UsernameTakenError extends SessionManagerError {
  constructor() {
    super("username_taken", "username is already taken");
  }
}

/**
 * The email address is not a string, is not 3 to 254 characters after trimming, does not have
 * exactly one `@` with text on both sides, or holds whitespace, control or invisible characters.
 */
export class InvalidEmailError extends SessionManagerError {
  constructor(message = "email must be 3 to 254 characters with one @ and no whitespace or invisible characters") {
    super("invalid_email", message);
  }
}

/** Another user already has this email address (compared case-insensitively after NFKC). */
export class EmailTakenError extends SessionManagerError {
  constructor() {
    super("email_taken", "email is already taken");
  }
}

/** No user has the given id. */
export class UserNotFoundError extends SessionManagerError {
  constructor() {
    super("user_not_found", "user not found");
  }
}

/**
 * Too many failed logins on this username; try again after `retryAfterSeconds`.
 *
 * ### Examples
 *
 * ```ts
 * import { LoginThrottledError, SessionManager } from "session-manager"
 *
 * const sm = new SessionManager()
 * try {
 *   await sm.login("alice", "guess")
 * } catch (error) {
 *   if (error instanceof LoginThrottledError) console.log(`retry in ${error.retryAfterSeconds} s`)
 * }
 * ```
 */
export class LoginThrottledError extends SessionManagerError {
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number) {
    super("login_throttled", `too many failed logins; retry after ${retryAfterSeconds} s`);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The database URL has an unknown scheme, or the driver package it needs is not installed. */
export class UnsupportedDatabaseError extends SessionManagerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("unsupported_database", message, options);
  }
}

/** A `SessionManager` option has a value outside its documented range. */
export class InvalidOptionsError extends SessionManagerError {
  constructor(message: string) {
    super("invalid_options", message);
  }
}

/**
 * Too many password hashes are already waiting: the operation was refused at once instead of
 * queueing behind them. Retry after `retryAfterSeconds`; over HTTP the handlers answer 503.
 *
 * ### Examples
 *
 * ```ts
 * import { ServiceBusyError, SessionManager } from "session-manager"
 *
 * const sm = new SessionManager()
 * try {
 *   await sm.login("alice", "correct horse battery staple")
 * } catch (error) {
 *   if (error instanceof ServiceBusyError) console.log(`busy; retry in ${error.retryAfterSeconds} s`)
 * }
 * ```
 */
export class ServiceBusyError extends SessionManagerError {
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number) {
    super("service_busy", `too many password checks waiting; retry after ${retryAfterSeconds} s`);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The database did not answer a connection attempt or a query within its timeout. */
export class DatabaseTimeoutError extends SessionManagerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("database_timeout", message, options);
  }
}

/**
 * The password was right, but the user has two-factor authentication: `login()` started no
 * session. Ask for a code from the authenticator app (or a recovery code) and pass it with
 * `pendingToken` to `completeSignIn`. The pending token works once, for 5 minutes, and dies
 * after 5 wrong codes; keep it like a session token (an HttpOnly cookie), never in a URL or a log.
 *
 * ### Examples
 *
 * ```ts
 * import { SessionManager, TwoFactorRequiredError } from "session-manager"
 *
 * const sm = new SessionManager()
 * try {
 *   await sm.login("alice", "correct horse battery staple")
 * } catch (error) {
 *   if (error instanceof TwoFactorRequiredError) {
 *     // later, with the code the user typed:
 *     const signedIn = await sm.completeSignIn(error.pendingToken, "123456")
 *     if (signedIn !== null) console.log("session token", signedIn.token)
 *   }
 * }
 * ```
 */
export class TwoFactorRequiredError extends SessionManagerError {
  /** The token that `completeSignIn` takes with the code. Never part of the message. */
  readonly pendingToken: string;
  /** When the pending token stops working. */
  readonly expiresAt: Date;

  constructor(pendingToken: string, expiresAt: Date) {
    super("two_factor_required", "the password is right, but this account needs a second factor: pass a code to completeSignIn");
    this.pendingToken = pendingToken;
    this.expiresAt = expiresAt;
  }
}

/**
 * A stored TOTP secret cannot be decrypted with the keys of the `totp.secretKey` option: the key
 * it was encrypted under is not in the list (a key was dropped before every secret was
 * re-encrypted), the key is wrong, or the ciphertext was altered or copied from another user's
 * row. A configuration or data problem, never reported as a wrong code.
 */
export class TotpKeyError extends SessionManagerError {
  constructor(message: string) {
    super("totp_key", message);
  }
}

/** `beginTotpSetup` for a user whose TOTP is already on: disable it first to set up another. */
export class TotpAlreadyEnabledError extends SessionManagerError {
  constructor() {
    super("totp_already_enabled", "two-factor authentication is already enabled for this user");
  }
}

/** `regenerateRecoveryCodes` for a user without TOTP: recovery codes exist only beside it. */
export class TotpNotEnabledError extends SessionManagerError {
  constructor() {
    super("totp_not_enabled", "two-factor authentication is not enabled for this user");
  }
}
