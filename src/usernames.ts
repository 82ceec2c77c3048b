import { InvalidUsernameError } from "./errors.js";

/** A username in its two forms: the display form kept for users, the key compared for uniqueness. */
export interface NormalizedUsername {
  display: string;
  key: string;
}

const MAX_LENGTH = 64;
// Far above any valid name even before NFKC shrinks it; refuses huge input before normalizing it.
const MAX_RAW_LENGTH = 1024;
// C0/C1 controls plus line/paragraph separators, which break logs and terminals the same way.
const CONTROL = /[\p{Cc}\u2028\u2029]/u;

/**
 * Trims, NFKC-normalizes and checks a username; `null` when it cannot be a valid username.
 * The key is lower-cased so that `Alice` and `alice` are one user on every database, whatever
 * its collation.
 */
export function normalizeUsername(input: unknown): NormalizedUsername | null {
  if (typeof input !== "string" || input.length > MAX_RAW_LENGTH) return null;
  const display = input.normalize("NFKC").trim();
  if (display.length === 0 || CONTROL.test(display)) return null;
  if (codePointLength(display) > MAX_LENGTH) return null;
  if (!display.isWellFormed()) return null;
  return { display, key: display.toLowerCase().normalize("NFKC") };
}

/** As `normalizeUsername`, but throws `InvalidUsernameError` where that returns null. */
export function requireUsername(input: unknown): NormalizedUsername {
  const username = normalizeUsername(input);
  if (username === null) throw new InvalidUsernameError();
  return username;
}

export function codePointLength(value: string): number {
  let count = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < value.length) i++;
    count++;
  }
  return count;
}
