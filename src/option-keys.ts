import { InvalidOptionsError } from "./errors.js";

/**
 * Refuses an options object with a key the library does not know, naming it: from JavaScript, a
 * typo (`databse`, `sessionDuration`) would otherwise be ignored in silence and the default used.
 * Null and undefined are left to the caller (they mean "no options"); anything else that is not
 * a plain object is refused.
 */
export function refuseUnknownKeys(where: string, options: unknown, known: readonly string[]): void {
  if (options === undefined || options === null) return;
  if (typeof options !== "object" || Array.isArray(options)) throw new InvalidOptionsError(`${where} must be an object`);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      const near = known.find((candidate) => isNear(candidate, key));
      throw new InvalidOptionsError(
        `${where} has no option ${JSON.stringify(key)}${near === undefined ? "" : ` (did you mean ${JSON.stringify(near)}?)`}; known: ${known.join(", ")}`,
      );
    }
  }
}

/** Close enough to be a typo of the other: one is a prefix of the other, or one edit apart. */
function isNear(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x.startsWith(y) || y.startsWith(x)) return true;
  if (Math.abs(x.length - y.length) > 1) return false;
  let edits = 0;
  for (let i = 0, j = 0; i < x.length || j < y.length;) {
    if (x[i] === y[j]) {
      i++;
      j++;
      continue;
    }
    if (++edits > 1) return false;
    if (x.length > y.length) i++;
    else if (y.length > x.length) j++;
    else {
      i++;
      j++;
    }
  }
  return true;
}
