import * as crypto from "node:crypto";
import { createHash, randomBytes } from "node:crypto";

// 24 random bytes: 192 bits, 32 base64url characters.
const TOKEN_BYTES = 24;
const TOKEN = /^[A-Za-z0-9_-]{32}$/;

/** A new session token: 192 bits from the system CSPRNG, in `[A-Za-z0-9_-]`. */
export function generateToken(): string {
  return randomBytes(TOKEN_BYTES).toString("base64url");
}

/** A new public session id, unrelated to the token, safe to show and log. */
export function generateSessionId(): string {
  return randomBytes(16).toString("base64url");
}

/** Cheap shape check, so that garbage never reaches the database. */
export function isWellFormedToken(token: unknown): token is string {
  return typeof token === "string" && token.length === 32 && TOKEN.test(token);
}

/**
 * The SHA-256 digest stored in place of the token. A high-entropy token needs no salt or slow
 * hash: the digest only has to make a copy of the database useless for logging in.
 */
export function hashToken(token: string): string {
  return oneShotHash === undefined ? createHash("sha256").update(token).digest("hex") : oneShotHash("sha256", token, "hex");
}

// crypto.hash (Node.js 20.12+) skips the Hash object that createHash builds, which matters on
// every request; older Node.js 20 releases have only createHash.
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: "hex") => string }).hash;

/**
 * Compares two hex digests without leaking, through timing, where they first differ: every
 * character is looked at whatever the earlier ones were. Digests are ASCII, so comparing UTF-16
 * code units is comparing bytes, without the two buffers `timingSafeEqual` would need on every request.
 */
export function digestsEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}
