import type { Generated } from "kysely";

/**
 * The tables as the library sees them. Times are milliseconds since the epoch in BIGINT columns:
 * the same integers on every database, compared in SQL without time-zone conversions.
 */
export interface Database {
  auth_users: UsersTable;
  auth_sessions: SessionsTable;
  auth_login_throttle: LoginThrottleTable;
  auth_one_time_tokens: OneTimeTokensTable;
}

export interface UsersTable {
  id: Generated<number>;
  /** Display form, as the user typed it after trimming and NFKC. */
  username: string;
  /**
   * Case-folded display form (`foldCase`); unique. Rows the re-key migration could not re-key
   * (see `rekeyUsernames`) keep the first release's lower-cased form.
   */
  username_key: string;
  password_hash: string;
  created_at: number | string;
  /** As the user gave it (trimmed), for display and delivery; null when the user has none. */
  email: string | null;
  /** Case-folded `email` (`foldCase`); unique. */
  email_key: string | null;
  /** 1 once a link sent to `email` was followed, else 0 (an integer: SQLite has no boolean). */
  email_verified: Generated<number>;
}

export interface SessionsTable {
  /** Public id, safe to show; never the token. */
  id: string;
  /** SHA-256 of the token, hex. */
  token_hash: string;
  user_id: number;
  created_at: number | string;
  expires_at: number | string;
  last_seen_at: number | string | null;
  ip: string | null;
  user_agent: string | null;
  /**
   * When the password was last presented for this session (login, reauthentication); null in a
   * row a process of an earlier release inserted, which counts as its `created_at`.
   */
  authenticated_at: number | string | null;
  /** 1 when the cookie outlives the browser session ("remember me"), else 0. */
  persistent: number;
}

export interface LoginThrottleTable {
  username_key: string;
  failures: number;
  locked_until: number | string;
  updated_at: number | string;
}

/**
 * Password reset, email verification and email change tokens. Only the SHA-256 digest is kept.
 * A consumed or voided token keeps its row, with `expires_at` 0, until `deleteExpiredSessions`
 * forgets it, so that the reset tokens issued within the last hour can still be counted.
 */
export interface OneTimeTokensTable {
  /** SHA-256 of the token, hex. */
  token_hash: string;
  purpose: "password_reset" | "email_verification" | "email_change";
  user_id: number;
  /** The address the token was sent to, as given: the one it is bound to. */
  email: string;
  created_at: number | string;
  expires_at: number | string;
}

/** The names the library uses for its tables before any `tablePrefix`. */
export const TABLE_NAMES: ReadonlySet<string> = new Set(["auth_users", "auth_sessions", "auth_login_throttle", "auth_one_time_tokens"]);
export const MIGRATION_TABLE = "auth_migrations";
export const MIGRATION_LOCK_TABLE = "auth_migrations_lock";
