import { InvalidUsernameError } from "./errors.js";
import { codePointLength } from "./text.js";
import { foldCase, hasInvisibleOrControl } from "./unicode.js";

/** A username in its two forms: the display form kept for users, the key compared for uniqueness. */
export interface NormalizedUsername {
  display: string;
  key: string;
  /**
   * The key under the rule of the first release (`toLowerCase` + NFKC), for rows stored before
   * the current rule that the re-key migration had to leave alone (see `findUserByName`).
   */
  legacyKey: string;
}

const MAX_LENGTH = 64;
// Far above any valid name even before NFKC shrinks it; refuses huge input before normalizing it.
const MAX_RAW_LENGTH = 1024;
// The size of the username_key column. Case folding at most doubles a character today (ß → ss),
// so 64 characters cannot reach it; the check keeps a future Unicode version from turning a
// name into a database error instead of an InvalidUsernameError.
const MAX_KEY_LENGTH = 255;

/**
 * Trims, NFKC-normalizes and checks a username; `null` when it cannot be a valid username.
 * The key is case folded (`foldCase`) so that `Alice` and `alice`, `straße` and `STRASSE` are one
 * user on every database, whatever its collation. Invisible, control, format and bidirectional
 * characters are refused after NFKC, in the display form and in the key, so that neither the
 * input nor what normalization makes of it can hide a character in a name.
 */
export function normalizeUsername(input: unknown): NormalizedUsername | null {
  if (typeof input !== "string" || input.length > MAX_RAW_LENGTH) return null;
  const display = input.normalize("NFKC").trim();
  if (display.length === 0 || !display.isWellFormed() || hasInvisibleOrControl(display)) return null;
  if (codePointLength(display) > MAX_LENGTH) return null;
  const key = foldCase(display);
  if (hasInvisibleOrControl(key) || codePointLength(key) > MAX_KEY_LENGTH) return null;
  return { display, key, legacyKey: legacyUsernameKey(display) };
}

/** As `normalizeUsername`, but throws `InvalidUsernameError` where that returns null. */
export function requireUsername(input: unknown): NormalizedUsername {
  const username = normalizeUsername(input);
  if (username === null) throw new InvalidUsernameError();
  return username;
}

/**
 * The key the first release stored for a display form. Kept because rows whose current key would
 * collide with another user's keep this one (they are never merged), and must still be found.
 */
export function legacyUsernameKey(display: string): string {
  return display.toLowerCase().normalize("NFKC");
}
