import { digestsEqual, generateToken, hashToken, isWellFormedToken } from "../../src/tokens.js";

describe("tokens", () => {
  it("makes well-formed tokens whose digests are 64 hex characters", () => {
    const token = generateToken();
    expect(isWellFormedToken(token)).toBe(true);
    expect(hashToken(token)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("compares digests: equal only when every character is", () => {
    const digest = hashToken(generateToken());
    expect(digestsEqual(digest, `${digest}`)).toBe(true);
    for (const i of [0, 31, 63]) {
      const flipped = digest.slice(0, i) + (digest[i] === "0" ? "1" : "0") + digest.slice(i + 1);
      expect(digestsEqual(digest, flipped)).toBe(false);
      expect(digestsEqual(flipped, digest)).toBe(false);
    }
    expect(digestsEqual(digest, digest.slice(0, 63))).toBe(false);
    expect(digestsEqual(digest, "")).toBe(false);
    expect(digestsEqual(digest.toUpperCase(), digest)).toBe(digest === digest.toUpperCase());
  });
});
