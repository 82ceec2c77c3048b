import fc from "fast-check";

/** Characters that have broken string handling somewhere: controls, separators, bidi, expanding NFKC, case oddities, invisibles. */
const TRICKY = [
  "\u0000",
  "\t",
  "\n",
  "\r",
  "\u007f",
  "\u0085",
  "\u00a0",
  "\u2028",
  "\u2029",
  "\u202e",
  "\ufeff",
  "\ufffd",
  "\ud800",
  "\udfff",
  "\ud83e\udd8a",
  "ﬃ",
  "\ufdfa",
  "İ",
  "ß",
  "ǅ",
  "Ａ",
  "ｱ",
  "ﾞ",
  "\u0301",
  "%",
  "_",
  "'",
  '"',
  "\\",
  ";",
  "=",
  ",",
  " ",
  "\u200b",
  "\u00ad",
  "\u3164",
  "\u{e0041}",
  "ẞ",
  "ς",
  "Σ",
  "ı",
];

/** Any UTF-16 code unit, lone surrogates included: what a JSON body or a buggy caller can produce. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));

/** Strings an attacker or a broken client can hand the library. */
export function hostileString(maxLength = 80): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: "binary", maxLength }),
    fc.string({ unit: codeUnit, maxLength }),
    fc.string({ unit: fc.constantFrom(...TRICKY, "a", "B", "1"), maxLength }),
  );
}

/** Strings shaped like tokens (the right length and alphabet, or nearly) that no session has. */
export const tokenLike: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"), minLength: 31, maxLength: 33 }),
  fc.base64String({ minLength: 32, maxLength: 32 }),
  hostileString(40),
);

/**
 * A header value Node.js will put on the wire: tab, visible ASCII, space and obs-text
 * (0x80–0xFF, read back as Latin-1). Nothing else can reach an app through a Node.js server.
 */
export const headerValue: fc.Arbitrary<string> = fc.string({
  unit: fc.oneof(
    fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
    fc.integer({ min: 0x80, max: 0xff }).map((code) => String.fromCharCode(code)),
    fc.constantFrom("\t", ";", "=", '"', "%", ","),
  ),
  maxLength: 120,
});

/** True for a string Node.js accepts as a header value. */
export function isHeaderSafe(value: string): boolean {
  return /^[\t\x20-\x7e\x80-\xff]*$/.test(value);
}

/** A cookie name=value pair that never uses the session cookie's name. */
export const otherCookie: fc.Arbitrary<string> = fc
  .tuple(fc.oneof(fc.constantFrom("theme", "sid", "Session", "session_", "_session", "x"), headerValue), headerValue)
  .map(([name, value]) => `${name}=${value}`)
  // The cookie parser splits on ";" and trims names: keep every pair one cookie not named session.
  .filter((pair) => !pair.includes(";") && pair.slice(0, pair.indexOf("=")).trim() !== "session");
