import { emitAuthEvent } from "../internal.js";
import type { ResolvedMiddlewareOptions } from "./middleware-options.js";
import { originOf } from "./origin.js";
import type { HttpResult, RequestReader } from "./request.js";

const UNSAFE_METHODS: ReadonlySet<string> = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** The answer to a request refused by the CSRF check. */
export const FORBIDDEN: HttpResult = Object.freeze({ status: 403, headers: [], body: Object.freeze({ error: "forbidden" }) });

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
 * The CSRF decision: null when the request may go on, else the origin it came from (`"null"`
 * for an opaque or unreadable one, `"cross-site"` when only `Sec-Fetch-Site` spoke). Its
 * `Origin` (else the origin of its `Referer`) must be `expected` or a trusted origin, or be
 * `null` with `Sec-Fetch-Site: same-origin`; with neither header, `Sec-Fetch-Site` must not be
 * `cross-site`. A request with none of the three
 * comes from a non-browser client, which no other site can drive.
 */
export function refusedOrigin(headers: CsrfHeaders, expected: () => string, trusted: ReadonlySet<string>): string | null {
  const source = headers.origin ?? (headers.referer === undefined ? undefined : originOf(headers.referer));
  // A page served with `Referrer-Policy: no-referrer` (a reset page, whose URL holds a token)
  // makes the browser post its forms with `Origin: null`; `Sec-Fetch-Site`, which no page can
  // set, still says the request came from the app's own origin.
  if (source === "null" && headers.secFetchSite === "same-origin") return null;
  if (source !== undefined) {
    // Browsers send "null" from sandboxed frames and opaque origins: never ours.
    if (source !== "null" && (trusted.has(source) || source === expected())) return null;
    return source;
  }
  return headers.secFetchSite === "cross-site" ? "cross-site" : null;
}

/**
 * Applies the CSRF rule to one request, whatever its method, and reports a refusal to the
 * manager's `onEvent` as `csrf_rejected`. The app's origin is the `origin` option when set:
 * behind a proxy the framework may see another scheme or host than the browser used.
 */
export function isRefusedByCsrf<R>(options: ResolvedMiddlewareOptions, reader: RequestReader<R>, req: R): boolean {
  const headers = {
    origin: reader.header(req, "origin"),
    referer: reader.header(req, "referer"),
    secFetchSite: reader.header(req, "sec-fetch-site"),
  };
  // Computed only when a header names an origin: most requests never need it.
  const expected = (): string => options.origin ?? originOf(reader.origin(req));
  const seen = refusedOrigin(headers, expected, options.trustedOrigins);
  if (seen === null) return false;
  // Never the cookie: the event says where the request came from and where it should have.
  options.manager[emitAuthEvent]("csrf_rejected", {
    // A raw Origin header may be anything up to the server's header limit: an audit line needs less.
    origin: seen.slice(0, 255),
    expectedOrigin: expected(),
    ip: reader.ip(req),
    userAgent: reader.header(req, "user-agent"),
  });
  return true;
}
