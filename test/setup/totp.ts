import { codeAt, stepAt } from "../../src/totp-codes";

/** RFC 4648 base32, decoded here independently of the library's encoder. */
export function decodeBase32(text: string): Uint8Array {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const bits = [...text.replace(/=+$/, "")]
    .map((c) => {
      const index = alphabet.indexOf(c);
      if (index === -1) throw new Error(`not base32: ${c}`);
      return index.toString(2).padStart(5, "0");
    })
    .join("");
  const bytes: number[] = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return new Uint8Array(bytes);
}

/** The code an authenticator app shows for a base32 secret at `at`, `offset` steps away. */
export function appCode(base32Secret: string, at: Date, offset = 0): string {
  return codeAt(decodeBase32(base32Secret), stepAt(at.getTime()) + offset);
}
