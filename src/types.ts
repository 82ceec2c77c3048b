/**
 * A user account. Never carries the password hash.
 *
 * ### Examples
 *
 * ```ts
 * import { SessionManager, type User } from "session-manager"
 *
 * const sm = new SessionManager({ database: "sqlite::memory:" })
 * const user: User = await sm.createUser("Alice", "correct horse battery staple")
 * console.log(user.id, user.username, user.createdAt.toISOString())
 * ```
 */
export interface User {
  id: number;
  /** The display form: trimmed and NFKC-normalized, case kept. */
  username: string;
  createdAt: Date;
  /** The address as the user gave it (trimmed), or null. */
  email: string | null;
  /** True once a verification, reset or email-change link sent to `email` was followed. */
  emailVerified: boolean;
}

/**
 * A server-side session. `id` is its public identifier, safe to show and log; never the token.
 *
 * ### Examples
 *
 * ```ts
 * import { SessionManager, type Session } from "session-manager"
 *
 * const sm = new SessionManager({ database: "sqlite::memory:" })
 * const user = await sm.createUser("alice", "correct horse battery staple")
 * await sm.createSession(user.id, { ip: "203.0.113.7", userAgent: "Firefox" })
 * const sessions: Session[] = await sm.listSessions(user.id)
 * for (const s of sessions) console.log(s.id, s.ip, s.expiresAt)
 * ```
 */
export interface Session {
  id: string;
  userId: number;
  createdAt: Date;
  expiresAt: Date;
  lastSeenAt: Date | null;
  ip: string | null;
  userAgent: string | null;
  /** When the password was last presented for this session: at login, or `reauthenticate`. */
  authenticatedAt: Date;
  /** False for a "remember me" left unchecked: its cookie ends with the browser session. */
  persistent: boolean;
  /** True when the call that returned this session extended its expiry. */
  renewed?: boolean;
}

/**
 * Where a session was created from, kept for `listSessions` and audit events.
 *
 * ### Examples
 *
 * ```ts
 * import { SessionManager } from "session-manager"
 *
 * const sm = new SessionManager({ database: "sqlite::memory:" })
 * await sm.createUser("alice", "correct horse battery staple")
 * await sm.login("alice", "correct horse battery staple", { ip: "203.0.113.7", userAgent: "Firefox" })
 * ```
 */
export interface SessionMeta {
  ip?: string | null;
  userAgent?: string | null;
}

/**
 * Options of `login`: where it comes from, and whether the cookie should outlive the browser
 * session (`remember`, default true). The server-side expiry is the same either way.
 *
 * ### Examples
 *
 * ```ts
 * import { SessionManager } from "session-manager"
 *
 * const sm = new SessionManager({ database: "sqlite::memory:" })
 * await sm.createUser("alice", "correct horse battery staple")
 * await sm.login("alice", "correct horse battery staple", { ip: "203.0.113.7", remember: false })
 * ```
 */
export interface LoginOptions extends SessionMeta {
  remember?: boolean;
}

/**
 * A validated session together with its user, as `checkSession` returns it.
 *
 * ### Examples
 *
 * ```ts
 * import { SessionManager, type SessionCheck } from "session-manager"
 *
 * const sm = new SessionManager({ database: "sqlite::memory:" })
 * const user = await sm.createUser("alice", "correct horse battery staple")
 * const token = await sm.createSession(user.id)
 * const check: SessionCheck | null = await sm.checkSession(token)
 * if (check?.session.renewed) {
 *   // send the cookie again with the new expiry
 * }
 * ```
 */
export interface SessionCheck {
  user: User;
  session: Session;
}

/** The kinds of audit event `onEvent` receives. */
export type AuthEventType =
  | "user_created"
  | "user_deleted"
  | "login"
  | "login_failed"
  | "login_throttled"
  | "logout"
  | "session_revoked"
  | "sessions_revoked"
  | "password_changed"
  | "csrf_rejected"
  | "email_verified"
  | "password_reset_requested"
  | "password_reset"
  | "email_change_requested"
  | "email_changed"
  | "email_delivery_failed"
  | "totp_enabled"
  | "totp_disabled"
  | "recovery_code_used"
  | "recovery_codes_regenerated"
  | "two_factor_failed";

/**
 * An audit event. Never carries a token, a password or a hash.
 *
 * ### Examples
 *
 * ```ts
 * import { SessionManager, type AuthEvent } from "session-manager"
 *
 * const sm = new SessionManager({
 *   onEvent(event: AuthEvent) {
 *     if (event.type === "login_failed") console.warn("failed login for", event.username, "from", event.ip)
 *   },
 * })
 * ```
 */
export interface AuthEvent {
  type: AuthEventType;
  at: Date;
  userId?: number;
  username?: string;
  sessionId?: string;
  ip?: string;
  userAgent?: string;
  /** `csrf_rejected`: the origin the request came from (`Origin`, else `Referer`'s origin, else `"cross-site"`). */
  origin?: string;
  /** `csrf_rejected`: the origin the request had to come from. */
  expectedOrigin?: string;
  /** `email_delivery_failed`: which message could not be sent (`password_reset`, `email_verification`, …). */
  emailKind?: string;
  /**
   * `login_throttled`: what refused the attempt, `"username"` (its username is locked out) or
   * `"address"` (its client address is). `email_delivery_failed`: the error's code or name (never
   * the message's content or its link).
   */
  reason?: "username" | "address" | (string & {});
}
