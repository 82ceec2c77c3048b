import type { ManagerContext } from "./context.js";
import {
  deleteSession,
  insertSession,
  replaceTokenHash,
  sessionOf,
  updateSessionTimes,
  userOf,
  type SessionLookupRow,
} from "./database/sessions.js";
import { initialExpiry, isLive, refreshAt } from "./expiry.js";
import { cleanSessionMeta, eventMeta } from "./session-meta.js";
import { digestsEqual, generateSessionId, generateToken, hashToken, isWellFormedToken } from "./tokens.js";
import type { LoginOptions, Session, SessionCheck, User } from "./types.js";

/** A session just started: its token (the only copy there will be) and the session. */
export interface StartedSession {
  token: string;
  session: Session;
}

/**
 * Starts a session for a user known to exist, counted as signed in now. With `loginOf`, the
 * start is reported as a `login` event of that user. `remember: false` makes it a session whose
 * cookie ends with the browser session.
 */
export async function startSession(ctx: ManagerContext, userId: number, meta: LoginOptions, loginOf?: User): Promise<StartedSession> {
  const token = generateToken();
  const createdAt = ctx.now();
  const id = generateSessionId();
  const expiresAt = initialExpiry(ctx.options, createdAt);
  const { ip, userAgent } = cleanSessionMeta(meta);
  const persistent = meta.remember !== false;
  await insertSession(ctx.db, { id, tokenHash: hashToken(token), userId, createdAt, expiresAt, ip, userAgent, persistent });
  if (loginOf !== undefined) ctx.emit("login", { userId, username: loginOf.username, sessionId: id, ...eventMeta({ ip, userAgent }) });
  const at = new Date(createdAt);
  return {
    token,
    session: { id, userId, createdAt: at, expiresAt: new Date(expiresAt), lastSeenAt: at, ip, userAgent, authenticatedAt: at, persistent },
  };
}

/**
 * Gives the live session of a token a new token, keeping everything else (id, creation time,
 * metadata, expiry); with `authenticated`, also records a password check now. The old token stops
 * working at once. Null for a token that is not a live session's, or that a concurrent rotation
 * or revocation got to first.
 */
export async function rotateToken(ctx: ManagerContext, token: string, authenticated = false): Promise<StartedSession | null> {
  const current = await validateToken(ctx, token);
  if (current === null) return null;
  return rotateChecked(ctx, token, current, authenticated);
}

/** `rotateToken` for a session already validated. */
export async function rotateChecked(
  ctx: ManagerContext,
  token: string,
  current: SessionCheck,
  authenticated: boolean,
): Promise<StartedSession | null> {
  const next = generateToken();
  const now = ctx.now();
  const rotated = await replaceTokenHash(
    ctx.db,
    current.session.id,
    hashToken(token),
    hashToken(next),
    now,
    authenticated ? now : undefined,
  );
  if (!rotated) return null;
  const session = { ...current.session, lastSeenAt: new Date(now) };
  delete session.renewed;
  if (authenticated) session.authenticatedAt = new Date(now);
  return { token: next, session };
}

/**
 * The session of a token and its user, or null; what `checkSession` answers. The row is read once:
 * at once on the library's own SQLite connection when it is free, and then, when no write is
 * due, the answer is not a promise either, so that the HTTP middleware can hand the request on in
 * the same tick. A renewal or the hourly last-seen write, a connection held by a transaction, a
 * server database or a caller's Kysely make it a promise. Database errors are thrown or rejected.
 */
export function validateToken(ctx: ManagerContext, token: string): SessionCheck | null | Promise<SessionCheck | null> {
  if (!isWellFormedToken(token)) return null;
  if (!ctx.migrated) return ctx.ready().then(() => validateToken(ctx, token));
  const tokenHash = hashToken(token);
  const row = ctx.findSession(tokenHash);
  if (row instanceof Promise) return row.then((found) => checkRow(ctx, found, tokenHash));
  return checkRow(ctx, row, tokenHash);
}

/** Applies the expiry rules to a looked-up row, writing back a renewal or the hourly last-seen time. */
function checkRow(ctx: ManagerContext, row: SessionLookupRow | undefined, tokenHash: string): SessionCheck | null | Promise<SessionCheck> {
  // The digest is compared again in constant time: the index lookup itself is not.
  if (row === undefined || !digestsEqual(row.token_hash, tokenHash)) return null;
  const createdAt = Number(row.created_at);
  const expiresAt = Number(row.expires_at);
  const now = ctx.now();
  if (!isLive(ctx.options, createdAt, expiresAt, now)) return null;
  const lastSeenAt = row.last_seen_at === null ? null : Number(row.last_seen_at);
  const refresh = refreshAt(ctx.options, createdAt, expiresAt, lastSeenAt, now);
  if (refresh.kind === "none") return checkOf(row, false);
  const renewed = refresh.kind === "renew";
  const times = renewed ? { expiresAt: refresh.expiresAt, lastSeenAt: now } : { lastSeenAt: now };
  return updateSessionTimes(ctx.db, row.id, times).then(() => {
    const check = checkOf(row, renewed);
    check.session.lastSeenAt = new Date(now);
    if (renewed) check.session.expiresAt = new Date(refresh.expiresAt);
    return check;
  });
}

function checkOf(row: SessionLookupRow, renewed: boolean): SessionCheck {
  const session = sessionOf(row);
  session.renewed = renewed;
  return { user: userOf(row), session };
}

/** Ends the session of a token; true when it was live. Reported as `type`. */
export async function endSession(ctx: ManagerContext, token: string, type: "logout" | "session_revoked"): Promise<boolean> {
  if (!isWellFormedToken(token)) return false;
  await ctx.ready();
  const row = await ctx.findSession(hashToken(token));
  if (row === undefined) return false;
  const live = await deleteSession(ctx.db, row.id, ctx.now());
  if (live) ctx.emit(type, { userId: Number(row.user_id), sessionId: row.id });
  return live;
}
