/** A user account. Never carries the password hash. */
export interface User {
  id: number;
  /** The display form: trimmed and NFKC-normalized, case kept. */
  username: string;
  createdAt: Date;
}

/** A server-side session. `id` is its public identifier, never the token. */
export interface Session {
  id: string;
  userId: number;
  createdAt: Date;
  expiresAt: Date;
  lastSeenAt: Date | null;
  ip: string | null;
  userAgent: string | null;
  /** True when the call that returned this session extended its expiry. */
  renewed?: boolean;
}

/** Where a session was created from, kept for `listSessions`. */
export interface SessionMeta {
  ip?: string | null;
  userAgent?: string | null;
}

/** A validated session together with its user. */
export interface SessionCheck {
  user: User;
  session: Session;
}

export type AuthEventType =
  | "user_created"
  | "user_deleted"
  | "login"
  | "login_failed"
  | "login_throttled"
  | "logout"
  | "session_revoked"
  | "sessions_revoked"
  | "password_changed";

/** An audit event. Never carries a token, a password or a hash. */
export interface AuthEvent {
  type: AuthEventType;
  at: Date;
  userId?: number;
  username?: string;
  sessionId?: string;
  ip?: string;
  userAgent?: string;
}
