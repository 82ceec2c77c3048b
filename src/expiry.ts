/** Expiry rules of a session, as pure functions of times in milliseconds since the epoch. */

export interface ExpiryPolicy {
  readonly sessionDurationMs: number;
  readonly absoluteLifetimeMs: number | null;
}

// lastSeenAt is kept to within this, so that validation writes at most once an hour per session.
export const LAST_SEEN_RESOLUTION_MS = 60 * 60 * 1000;

/** When a session created at `createdAt` stops being valid if it is never renewed. */
export function initialExpiry(policy: ExpiryPolicy, createdAt: number): number {
  return capped(policy, createdAt, createdAt + policy.sessionDurationMs);
}

/** True while a session created at `createdAt`, expiring at `expiresAt`, may still be used at `now`. */
export function isLive(policy: ExpiryPolicy, createdAt: number, expiresAt: number, now: number): boolean {
  return now < capped(policy, createdAt, expiresAt);
}

/** What, if anything, validation at `now` has to write back. */
export type Refresh = { kind: "none" } | { kind: "renew"; expiresAt: number } | { kind: "touch" };

// Shared answers: validation runs on every request and mostly has nothing to write.
const NONE: Refresh = Object.freeze({ kind: "none" });
const TOUCH: Refresh = Object.freeze({ kind: "touch" });

/**
 * Sliding expiry: past half of its duration a session is extended to now + duration (never past
 * the absolute cap); otherwise lastSeenAt is refreshed when it is an hour or more behind.
 */
export function refreshAt(policy: ExpiryPolicy, createdAt: number, expiresAt: number, lastSeenAt: number | null, now: number): Refresh {
  if (expiresAt - now < policy.sessionDurationMs / 2) {
    const renewed = capped(policy, createdAt, now + policy.sessionDurationMs);
    if (renewed > expiresAt) return { kind: "renew", expiresAt: renewed };
  }
  if (lastSeenAt === null || now - lastSeenAt >= LAST_SEEN_RESOLUTION_MS) return TOUCH;
  return NONE;
}

function capped(policy: ExpiryPolicy, createdAt: number, expiresAt: number): number {
  return policy.absoluteLifetimeMs === null ? expiresAt : Math.min(expiresAt, createdAt + policy.absoluteLifetimeMs);
}
