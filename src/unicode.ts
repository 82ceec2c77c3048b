/**
 * Unicode rules for identifiers people type and other people read: usernames today, email
 * addresses next. `hasInvisibleOrControl` judges the text it is given, so callers check the form
 * they store and compare (after NFKC, which can turn one character into others); `foldCase`
 * applies NFKC itself.
 */

// Characters that change or hide what a name looks like without being visible themselves:
// - Cc: C0/C1 controls (break logs and terminals);
// - Cf: format characters, which include the bidirectional controls (U+202A-202E, U+2066-2069,
//   U+200E/200F, U+061C), zero-width joiners, U+FEFF and the tag characters U+E0001-E007F;
// - Default_Ignorable_Code_Point: rendered as nothing when unsupported, which covers the soft
//   hyphen, U+034F, variation selectors, the Hangul fillers U+115F/U+1160/U+3164/U+FFA0 and the
//   reserved ranges around the tags;
// - Cn: unassigned code points and noncharacters. The runtime knows neither their normalization
//   nor their case mapping, so a later Unicode version (a Node.js upgrade) could give a stored name
//   another key; refusing them keeps the stored keys stable.
// Blank-looking characters that are none of the above are listed by hand: U+2800 BRAILLE PATTERN
// BLANK and U+1D159 MUSICAL SYMBOL NULL NOTEHEAD. The Hangul fillers are repeated on purpose, so
// the rule does not depend on the runtime's property tables.
const INVISIBLE = "\\p{Cc}\\p{Cf}\\p{Cn}\\p{Default_Ignorable_Code_Point}\\u115F\\u1160\\u3164\\uFFA0\\u2800\\u{1D159}";
// Every White_Space character but the plain space (tab, NBSP, U+2028/2029, the U+2000 spaces,
// U+3000...): NFKC turns most of them into U+0020 already, the rest never belong in a name.
const UNUSUAL_SPACE = "[^\\S ]";

const INVISIBLE_OR_CONTROL = new RegExp(`[${INVISIBLE}]|${UNUSUAL_SPACE}`, "u");
const INVISIBLE_OR_CONTROL_ALL = new RegExp(`[${INVISIBLE}]|${UNUSUAL_SPACE}`, "gu");

/**
 * True when the text holds a character that is invisible, blank or a control: controls, format
 * and bidirectional characters, default-ignorable code points, blank-looking letters and
 * symbols, whitespace other than U+0020, unassigned code points. Such characters let two names
 * look the same (`admin` and `adm\u200Bin`) or reorder what is shown around them (U+202E), so
 * identifiers refuse them. Lone surrogates are not its business (`String.prototype.isWellFormed`).
 */
export function hasInvisibleOrControl(text: string): boolean {
  return INVISIBLE_OR_CONTROL.test(text);
}

/**
 * The text with every character `hasInvisibleOrControl` objects to written as `\u{…}`, so that
 * it can be printed to a terminal or a log without hiding or reordering anything.
 */
export function showInvisible(text: string): string {
  return text.replace(INVISIBLE_OR_CONTROL_ALL, (char) => `\\u{${char.codePointAt(0)!.toString(16).toUpperCase()}}`);
}

// Every single code point of Unicode 17 settles after at most two rounds that change it (`ẞ`);
// the bound only keeps a future Unicode version from looping.
const MAX_FOLD_ROUNDS = 8;

/**
 * The comparison key of an identifier: NFKC, then case folded, repeated until nothing changes.
 *
 * JavaScript has no Unicode case folding, so the fold is `toLowerCase(toUpperCase(x))`. Upper
 * casing first applies the full (one-to-many) mappings of SpecialCasing: `ß` and `ẞ` become `SS`,
 * `ﬃ` `FFI`, `ᾳ` `ΑΙ`, and every sigma becomes `Σ`, so that `ΟΔΟΣ`, `οδοσ` and `οδος` lower to one
 * string (JavaScript lowers a word-final `Σ` to `ς`, the same way for all three). NFKC after each
 * round recomposes what case mapping decomposed (`İ` lowers to `i` + U+0307) and maps
 * compatibility forms the mappings produce; a second round settles the few characters that
 * need it (`ẞ` → `ß` → `ss`).
 *
 * Compared with Unicode's NFKC + full case folding (CaseFolding.txt, statuses C and F, which is
 * what Python's `str.casefold` implements), this key is coarser, never finer: over every single
 * code point of Unicode 14, two characters with the same NFKC + case fold have the same key here,
 * and the only extra merge is Turkish dotless `ı` (U+0131 and its mathematical forms) with `i`,
 * because `ı` upper-cases to `I`. That merge is wanted for identifiers: `admın` would pass for
 * `admin`. The key is a lower-case form (Cherokee folds to capitals in CaseFolding.txt, to
 * lower-case letters here), which only matters to someone reading keys in the database.
 */
export function foldCase(text: string): string {
  let key = text.normalize("NFKC");
  for (let round = 0; round < MAX_FOLD_ROUNDS; round++) {
    const next = key.toUpperCase().toLowerCase().normalize("NFKC");
    if (next === key) break;
    key = next;
  }
  return key;
}
