/** The serialized origin of a URL (RFC 6454), or "null" when it is not an absolute http(s) URL. */
export function originOf(url: string): string {
  if (!URL.canParse(url)) return "null";
  return new URL(url).origin;
}
