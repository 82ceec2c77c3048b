import { createHash, randomInt } from "node:crypto";

/**
 * Recovery codes: the way in when the authenticator app is lost. Each is 10 characters of
 * Crockford's base32 alphabet (50 bits from the system CSPRNG), shown as `xxxxx-xxxxx`, and is
 * stored only as a SHA-256 digest over the user id and the code, so that equal codes of two users
 * differ in the database and one sweep over the code space finds the codes of one user at most.
 * Input is forgiving: case, dashes and spaces do not matter, and the letters Crockford's alphabet
 * leaves out for looking like digits are read as those digits (`O` as 0, `I` and `L` as 1).
 */

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
const LENGTH = 10;

/** A new set of codes, as they are shown to the user. */
export function generateRecoveryCodes(): string[] {
  const codes = new Set<string>();
  while (codes.size < RECOVERY_CODE_COUNT) {
    let code = "";
    for (let i = 0; i < LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)];
    codes.add(`${code.slice(0, 5)}-${code.slice(5)}`);
  }
  return [...codes];
}

/** The code typed, in the one form it is digested in; null when it cannot be a recovery code. */
export function normalizeRecoveryCode(input: string): string | null {
  const code = input.toLowerCase().replace(/[\s-]/g, "").replace(/o/g, "0").replace(/[il]/g, "1");
  if (code.length !== LENGTH) return null;
  for (const c of code) if (!ALPHABET.includes(c)) return null;
  return code;
}

/** The digest stored for a user's normalized code. */
export function recoveryCodeDigest(userId: number, normalized: string): string {
  return createHash("sha256").update(`${userId}:${normalized}`).digest("hex");
}
