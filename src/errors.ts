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
  | "email_taken";

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
