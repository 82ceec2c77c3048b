/** True for a value that can be a user id: a positive safe integer. Anything else names no user. */
export function isId(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}
