import { randomBytes } from "node:crypto";
import { NodeCryptoPlugin } from "@otplib/plugin-crypto-node";
import { generateSync } from "@otplib/totp";
import { generateTOTP } from "@otplib/uri";
import { digestsEqual } from "./tokens.js";

/**
 * TOTP as authenticator apps do it (RFC 6238 with SHA-1, 6 digits, 30-second steps), with the
 * one-time-password arithmetic left to otplib (its TOTP package over Node's crypto: the `otplib`
 * bundle's default plugins are ESM-only packages, which a CommonJS build cannot load on every
 * Node.js 20). Codes are checked one time step at a time, so the caller knows which step matched
 * and can accept each step once.
 */

export const STEP_SECONDS = 30;
export const DIGITS = 6;
/** Steps of clock drift accepted either way. */
export const DRIFT_STEPS = 1;
const SECRET_BYTES = 20;

const crypto = new NodeCryptoPlugin();
const BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** A new secret: 160 bits from the system CSPRNG. */
export function generateSecret(): Uint8Array {
  return new Uint8Array(randomBytes(SECRET_BYTES));
}

/** The secret as authenticator apps take it: base32 (RFC 4648) without padding. */
export function encodeSecret(secret: Uint8Array): string {
  let text = "";
  let bits = 0;
  let value = 0;
  for (const byte of secret) {
    value = ((value << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      text += BASE32_ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) text += BASE32_ALPHABET[(value << (5 - bits)) & 31];
  return text;
}

/** The `otpauth://totp/Issuer:username?secret=…&issuer=…` URI of a QR code. */
export function otpauthUri(issuer: string, username: string, secret: Uint8Array): string {
  return generateTOTP({ issuer, label: username, secret: encodeSecret(secret), digits: DIGITS, period: STEP_SECONDS });
}

/** The time step of a moment in ms. */
export function stepAt(ms: number): number {
  return Math.floor(ms / 1000 / STEP_SECONDS);
}

/** The code of a time step (the TOTP of any moment within it), `digits` long. */
export function codeAt(secret: Uint8Array, step: number, digits: 6 | 7 | 8 = DIGITS): string {
  return generateSync({ secret, crypto, epoch: step * STEP_SECONDS, period: STEP_SECONDS, digits });
}

/** True for input shaped like an app's code: six digits, spaces around or in the middle allowed. */
export function looksLikeTotpCode(input: string): boolean {
  return /^\d{6}$/.test(input.replace(/\s/g, ""));
}

/**
 * The time step, within `DRIFT_STEPS` of now, whose code `input` is; null when none. Every step
 * of the window is computed and compared whatever matched, so the time taken tells nothing.
 */
export function matchingStep(secret: Uint8Array, input: string, nowMs: number): number | null {
  const code = input.replace(/\s/g, "");
  if (!/^\d{6}$/.test(code)) return null;
  const now = stepAt(nowMs);
  let matched: number | null = null;
  for (let step = now - DRIFT_STEPS; step <= now + DRIFT_STEPS; step++) {
    if (digestsEqual(codeAt(secret, step), code)) matched = step;
  }
  return matched;
}
