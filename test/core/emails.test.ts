import { normalizeEmail } from "../../src/emails";
import { INVISIBLE_SAMPLES } from "./unicode-samples";

describe("email addresses", () => {
  it("keeps the trimmed address as given and compares it case-folded after NFKC", () => {
    expect(normalizeEmail("  Alice@Example.COM ")).toEqual({ display: "Alice@Example.COM", key: "alice@example.com" });
    expect(normalizeEmail("ａｌｉｃｅ@example.com")?.key).toBe("alice@example.com");
    expect(normalizeEmail("STRASSE@example.com")?.key).toBe(normalizeEmail("straße@example.com")?.key);
    // Dotless ı folds to i: `admın@` is not a second `admin@`.
    expect(normalizeEmail("admın@example.com")?.key).toBe("admin@example.com");
    expect(normalizeEmail("用户@例子.中国")).toEqual({ display: "用户@例子.中国", key: "用户@例子.中国" });
  });

  it("refuses every invisible, bidirectional or control character inside an address, and never keeps one at its ends", () => {
    for (const char of INVISIBLE_SAMPLES) {
      for (const email of [`a${char}b@example.com`, `a@exa${char}mple.com`, `a@example.com${char}x`]) {
        expect(normalizeEmail(email)).toBeNull();
      }
      // At either end it is refused, or trimmed away like a space.
      for (const email of [`${char}a@example.com`, `a@example.com${char}`]) {
        const normalized = normalizeEmail(email);
        if (normalized !== null) expect(normalized.display).toBe("a@example.com");
      }
    }
  });

  it("refuses addresses that NFKC would turn into two @ or a space", () => {
    expect(normalizeEmail("a＠b@example.com")).toBeNull();
    expect(normalizeEmail("a\u3000b@example.com")).toBeNull();
    expect(normalizeEmail("a﹫example.com")).toBeNull();
  });

  it("bounds the length: 3 to 254 characters, counting code points", () => {
    expect(normalizeEmail("a@b")).not.toBeNull();
    expect(normalizeEmail(`${"a".repeat(240)}@example.com`)?.display).toHaveLength(252);
    expect(normalizeEmail(`${"a".repeat(243)}@example.com`)).toBeNull();
    expect(normalizeEmail(`${"🦊".repeat(120)}@example.com`)).not.toBeNull();
    expect(normalizeEmail("x".repeat(100_000))).toBeNull();
  });
});
