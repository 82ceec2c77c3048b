import { InvalidEmailError } from "./errors.js";
import { codePointLength } from "./text.js";
import { foldCase, hasInvisibleOrControl } from "./unicode.js";

/** An email address in its two forms: as given, for display and delivery, and the key compared for uniqueness. */
export interface NormalizedEmail {
  display: string;
  key: string;
}

const MIN_LENGTH = 3;
const MAX_LENGTH = 254;
// Refuses huge input before trimming and folding it.
const MAX_RAW_LENGTH = 1024;
const MAX_KEY_LENGTH = 255;

/**
 * Trims and checks an email address; null when it cannot be one. The address is kept as given
 * (mail is delivered to exactly that), and compared by its key: NFKC and case folding, as for
 * usernames, so that `Alice@Example.com` and `ａｌｉｃｅ@example.com` are one address and a
 * second account cannot be opened under a look-alike of the first's. Mail always goes to the
 * stored address of the account found, never to the form someone typed to find it.
 *
 * The check is deliberately shallow (one `@` with text on both sides, no whitespace, controls or
 * invisible characters): whether an address works is only known by sending to it, which is what
 * verification is for.
 */
export function normalizeEmail(input: unknown): NormalizedEmail | null {
  if (typeof input !== "string" || input.length > MAX_RAW_LENGTH) return null;
  const display = input.trim();
  if (!display.isWellFormed() || /\s/u.test(display) || hasInvisibleOrControl(display)) return null;
  const length = codePointLength(display);
  if (length < MIN_LENGTH || length > MAX_LENGTH) return null;
  const at = display.indexOf("@");
  if (at < 1 || at === display.length - 1 || display.indexOf("@", at + 1) !== -1) return null;
  const key = foldCase(display);
  // NFKC can turn one character into several, or into an `@` (U+FF20) or a space (U+3000).
  if (/\s/u.test(key) || hasInvisibleOrControl(key) || codePointLength(key) > MAX_KEY_LENGTH) return null;
  if (key.split("@").length !== 2) return null;
  return { display, key };
}

/** As `normalizeEmail`, but throws `InvalidEmailError` where that returns null. */
export function requireEmail(input: unknown): NormalizedEmail {
  const email = normalizeEmail(input);
  if (email === null) throw new InvalidEmailError();
  return email;
}
