import { foldCase, hasInvisibleOrControl, showInvisible } from "../../src/unicode";
import { legacyUsernameKey, normalizeUsername } from "../../src/usernames";
import { FULL_CASE_FOLDINGS, INVISIBLE_SAMPLES } from "./unicode-samples";

function* codePoints(): Generator<string> {
  for (let code = 0; code <= 0x10ffff; code++) {
    if (code < 0xd800 || code > 0xdfff) yield String.fromCodePoint(code);
  }
}

describe("hasInvisibleOrControl", () => {
  it("finds every invisible, blank, bidirectional and control character of the report", () => {
    for (const char of INVISIBLE_SAMPLES) {
      expect([char, hasInvisibleOrControl(`ad${char}min`)]).toEqual([char, true]);
    }
    for (const char of ["\u0000", "\t", "\n", "\u007F", "\u009B", "\u00A0", "\u3000", "\u{10FFFF}", "\uFFFE", "\u0378"]) {
      expect([char, hasInvisibleOrControl(char)]).toEqual([char, true]);
    }
  });

  it("lets letters, digits, marks, symbols, emoji and the plain space through", () => {
    for (const text of ["admin", "Jean Dupont", "résumé", "re\u0301sume\u0301", "用户", "🦊", "ΟΔΟΣ", "straße", "_-.@+", "Ǆ", "\uE000"]) {
      expect([text, hasInvisibleOrControl(text)]).toEqual([text, false]);
    }
  });

  it("shows each such character as an escape, leaving the rest as it is", () => {
    expect(showInvisible("ad\u200Bmin\u202E\u{E0041} é")).toBe("ad\\u{200B}min\\u{202E}\\u{E0041} é");
  });
});

describe("foldCase", () => {
  it("gives the case-fold pairs of the report one key", () => {
    const same = [
      ["straße", "STRASSE", "Strasse", "strasse", "STRAẞE"],
      ["ΟΔΟΣ", "οδοσ", "οδος", "Οδος"],
      ["Ǆ", "ǅ", "ǆ", "DŽ", "dž"],
      ["ＡＤＭＩＮ", "admin", "ADMIN", "𝐚𝐝𝐦𝐢𝐧"],
      ["ﬁle", "file", "FILE"],
      ["ᾳ", "ᾼ", "αι", "ΑΙ"],
      ["İstanbul", "i\u0307stanbul"],
      ["Kelvin", "\u212Aelvin"],
      ["ſtop", "stop"],
    ];
    for (const group of same) {
      expect(group.map(foldCase)).toEqual(group.map(() => foldCase(group[0]!)));
    }
    expect(foldCase("straße")).toBe("strasse");
    expect(foldCase("ΟΔΟΣ")).toBe("οδος");
    expect(foldCase("ﬁ")).toBe("fi");
  });

  it("merges at least what Unicode full case folding merges, for every character it lists", () => {
    for (const [code, folded] of FULL_CASE_FOLDINGS) {
      const char = String.fromCodePoint(code);
      expect([code.toString(16), foldCase(char)]).toEqual([code.toString(16), foldCase(folded)]);
    }
  });

  it("merges Turkish dotless ı with i (beyond Unicode's folding) and keeps accents apart", () => {
    expect(foldCase("admın")).toBe("admin");
    expect(foldCase("résumé")).not.toBe(foldCase("resume"));
  });

  it("is stable: a key folds to itself, and so do its upper and lower case forms, for every code point", () => {
    for (const char of codePoints()) {
      const key = foldCase(char);
      if (foldCase(key) !== key || foldCase(char.toUpperCase()) !== key || foldCase(char.toLowerCase()) !== key) {
        throw new Error(`U+${char.codePointAt(0)!.toString(16)} folds unstably to ${JSON.stringify(key)}`);
      }
    }
  });
});

describe("normalizeUsername", () => {
  it("keeps the display form and case folds the key", () => {
    expect(normalizeUsername("  Straße ")).toEqual({ display: "Straße", key: "strasse", legacyKey: "straße" });
    expect(normalizeUsername("ＡＤＭＩＮ")).toEqual({ display: "ADMIN", key: "admin", legacyKey: "admin" });
    expect(normalizeUsername("ΟΔΟΣ")).toMatchObject({ display: "ΟΔΟΣ", key: "οδος" });
  });

  it("refuses every invisible, bidirectional and control character inside a name", () => {
    for (const char of INVISIBLE_SAMPLES) {
      for (const name of [`ad${char}min`, `admin${char}x`, `x${char}${char}y`]) {
        expect([name, normalizeUsername(name)]).toEqual([name, null]);
      }
      // At either end: refused, or trimmed away like the whitespace it is (U+FEFF, U+2028...),
      // which names the same user as the bare name rather than a look-alike of it.
      for (const name of [`${char}nimda`, `nimda${char}`]) {
        const result = normalizeUsername(name);
        if (result !== null) expect([name, result.display, char.trim()]).toEqual([name, "nimda", ""]);
      }
    }
  });

  it("never accepts a name whose NFKC or case folding holds a refused character, for any code point", () => {
    for (const char of codePoints()) {
      const name = normalizeUsername(`a${char}b`);
      if (name === null) continue;
      if (hasInvisibleOrControl(name.display) || hasInvisibleOrControl(name.key) || name.legacyKey !== legacyUsernameKey(name.display)) {
        throw new Error(`U+${char.codePointAt(0)!.toString(16)} gives ${JSON.stringify(name)}`);
      }
    }
  });

  it("keeps every key within the column's 255 characters", () => {
    let longest = 0;
    for (const char of codePoints()) {
      // Only a character whose key is longer than its NFKC form can make a long key.
      if ([...foldCase(char)].length <= [...char.normalize("NFKC")].length) continue;
      const name = normalizeUsername(char.repeat(64));
      if (name !== null) longest = Math.max(longest, [...name.key].length);
    }
    expect(longest).toBeGreaterThan(64);
    expect(longest).toBeLessThanOrEqual(255);
  });
});
