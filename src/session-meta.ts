import type { AuthEvent, SessionMeta } from "./types.js";

/** Request metadata as it is stored and reported. */
export interface CleanMeta {
  ip: string | null;
  userAgent: string | null;
}

// C0 and C1 controls and the bidirectional controls.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Request metadata as stored: strings only, bounded, without C0 and C1 control characters
 * (PostgreSQL refuses NUL; the rest rewrite terminals and logs where `list-sessions` prints them)
 * or bidirectional controls (which reorder what an account page shows).
 */
export function cleanSessionMeta(meta: SessionMeta): CleanMeta {
  return { ip: cleanMeta(meta.ip, 255), userAgent: cleanMeta(meta.userAgent, 1024) };
}

function cleanMeta(value: unknown, max: number): string | null {
  if (typeof value !== "string") return null;
  const clean = value
    .slice(0, max * 2)
    .replace(UNPRINTABLE, "")
    .slice(0, max)
    .toWellFormed();
  return clean === "" ? null : clean;
}

/** Cleaned metadata as event fields, absent rather than null. */
export function eventMeta({ ip, userAgent }: CleanMeta): Pick<AuthEvent, "ip" | "userAgent"> {
  const result: Pick<AuthEvent, "ip" | "userAgent"> = {};
  if (ip !== null) result.ip = ip;
  if (userAgent !== null) result.userAgent = userAgent;
  return result;
}
