const UNSAFE_METHODS: ReadonlySet<string> = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** True for the methods that change state and so need the CSRF check. */
export function isUnsafeMethod(method: string): boolean {
  return UNSAFE_METHODS.has(method);
}

/** The headers the CSRF decision reads, as sent by the client. */
export interface CsrfHeaders {
  origin: string | undefined;
  referer: string | undefined;
  secFetchSite: string | undefined;
}

/**
 * The CSRF decision for a state-changing request that carries the session cookie: its `Origin`
 * (else the origin of its `Referer`) must be the request's own origin or a trusted one; with
 * neither header, `Sec-Fetch-Site` must not be `cross-site`. A request with none of the three
 * comes from a non-browser client, which no other site can make send the user's cookie.
 */
export function isAllowedOrigin(headers: CsrfHeaders, ownOrigin: () => string, trusted: ReadonlySet<string>): boolean {
  const source = headers.origin ?? (headers.referer === undefined ? undefined : originOf(headers.referer));
  if (source !== undefined) {
    // Browsers send "null" from sandboxed frames and opaque origins: never ours.
    if (source === "null") return false;
    return trusted.has(source) || source === originOf(ownOrigin());
  }
  return headers.secFetchSite !== "cross-site";
}

/** The serialized origin of a URL (RFC 6454), or "null" when it is not an absolute http(s) URL. */
export function originOf(url: string): string {
  if (!URL.canParse(url)) return "null";
  return new URL(url).origin;
}
