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
  auth_address_throttle: AddressThrottleTable;
  auth_totp: TotpTable;
  auth_recovery_codes: RecoveryCodesTable;
  auth_pending_sign_ins: PendingSignInsTable;
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
 * The per-address rules: one row per client address key (see src/client-address.ts), whatever
 * it does, so a flood from many addresses costs one row each. Every counter belongs to a window
 * that opened at its `_since` time (0: none yet) and is void once the window has passed; a row
 * whose windows and lockout are all over carries nothing and is deleted by
 * `deleteExpiredSessions`. Rows are read and written only under the row's lock.
 */
export interface AddressThrottleTable {
  /** An IPv4 address, an IPv6 /64 (`2001:db8:1:2::/64`), or `unparsed`. */
  address_key: string;
  /** Login attempts from this address are refused until then. */
  locked_until: number | string;
  /** Failed logins in the 15-minute window opened at `failures_since`. */
  failures: number;
  /** Logins of that window whose password is still being checked. */
  pending: number;
  failures_since: number | string;
  /**
   * The usernames failed on in the hour opened at `usernames_since`, as space-separated
   * `digest:failed:running` entries: a truncated SHA-256 of the username key, how many
   * attempts on it failed, and how many are still being checked. At most `ipMaxUsernames`
   * entries.
   */
  usernames: string;
  usernames_since: number | string;
  /** Sign-ups through `registerHandler` in the hour opened at `registrations_since`. */
  registrations: number;
  registrations_since: number | string;
  /** Password reset requests in the hour opened at `reset_requests_since`. */
  reset_requests: number;
  reset_requests_since: number | string;
  /** The last time a counter or the lockout changed. */
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

/**
 * A user's TOTP secret: at most one row per user, unconfirmed from `beginTotpSetup` until
 * `confirmTotpSetup` sets `confirmed_at`. Two-factor sign-in applies once it is confirmed.
 */
export interface TotpTable {
  user_id: number;
  /**
   * The secret encrypted with AES-256-GCM under a key of the `totp.secretKey` option, bound to
   * the user id: `v1.<key id>.<iv>.<ciphertext and tag>` (see src/totp-secrets.ts). Never the
   * secret itself.
   */
  secret_encrypted: string;
  created_at: number | string;
  /** When the setup was confirmed with a code; null while it is not. */
  confirmed_at: number | string | null;
  /**
   * The last 30-second time step whose code was accepted: a code of this step or an earlier one
   * is refused (replay). Advanced only by a conditional UPDATE, so one step is accepted once.
   */
  last_used_step: number | string | null;
}

/** Recovery codes: SHA-256 digests only, each used once (`used_at` set). */
export interface RecoveryCodesTable {
  user_id: number;
  /** SHA-256, hex, of the user id and the normalized code (see src/recovery-codes.ts). */
  code_digest: string;
  created_at: number | string;
  used_at: number | string | null;
}

/**
 * Sign-ins waiting for the second factor: the password was right, no session exists yet. Only
 * the SHA-256 digest of the pending token is kept. `expires_at` 0 marks one used up.
 */
export interface PendingSignInsTable {
  /** SHA-256 of the pending token, hex. */
  token_hash: string;
  user_id: number;
  created_at: number | string;
  expires_at: number | string;
  /** Wrong codes given with this token; at the limit it is dead. */
  failures: number;
  /** 1 when the session it leads to outlives the browser session ("remember me"), else 0. */
  persistent: number;
  /**
   * 1 while the username throttle's attempt that the password step reserved still covers a code:
   * the first code given with the token counts as part of that attempt, each further one as an
   * attempt of its own.
   */
  attempt_reserved: number;
}

/** The names the library uses for its tables before any `tablePrefix`. */
export const TABLE_NAMES: ReadonlySet<string> = new Set([
  "auth_users",
  "auth_sessions",
  "auth_login_throttle",
  "auth_one_time_tokens",
  "auth_address_throttle",
  "auth_totp",
  "auth_recovery_codes",
  "auth_pending_sign_ins",
]);
export const MIGRATION_TABLE = "auth_migrations";
export const MIGRATION_LOCK_TABLE = "auth_migrations_lock";
