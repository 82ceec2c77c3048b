import { parse, serialize } from "cookie";

// RFC 6265bis §5.5: user agents cap a cookie's lifetime at 400 days, so longer values only mislead.
const MAX_COOKIE_AGE_SECONDS = 400 * 24 * 60 * 60;

/** Resolved attributes of the session cookie. */
export interface CookieAttributes {
  readonly secure: "auto" | boolean;
  readonly sameSite: "lax" | "strict" | "none";
  readonly path: string;
  readonly domain: string | undefined;
}

/**
 * The session token in a `Cookie` header, or null when there is none: for code outside the
 * adapters (a WebSocket upgrade, a framework without an adapter). Pass the `cookieName` the
 * middleware was given; in a route of an adapter, its own `readSessionCookie(req)` knows it, and
 * the handlers (`revokeSessionHandler`, `changePasswordHandler`, …) need no token at all.
 *
 * ### Examples
 *
 * ```ts
 * import { readSessionCookie } from "session-manager"
 *
 * readSessionCookie("theme=dark; session=abc") // "abc"
 * readSessionCookie(undefined) // null
 * ```
 */
export function readSessionCookie(cookieHeader: string | null | undefined, cookieName = "session"): string | null {
  // Most requests carry no session cookie: skip parsing when the name does not even occur.
  if (!cookieHeader || !cookieHeader.includes(cookieName)) return null;
  return parse(cookieHeader)[cookieName] ?? null;
}

/**
 * More values of one cookie name than this in one header are ignored: a browser holds one per
 * domain and path, and a hostile header must stay cheap (each value may cost a lookup).
 */
export const MAX_COOKIE_VALUES = 4;

/**
 * Every value of the cookie `cookieName` in a `Cookie` header, in header order: null when there
 * is none, the value itself when there is one (no array on the common path), else an array of
 * at most `MAX_COOKIE_VALUES`. Several values arrive when a sibling subdomain (or a script on
 * one) sets a cookie of the same name for the parent domain: the browser sends both, and the
 * planted one may come first.
 */
export function readSessionCookieValues(cookieHeader: string | null | undefined, cookieName: string): string | string[] | null {
  if (!cookieHeader) return null;
  const first = cookieHeader.indexOf(cookieName);
  if (first === -1) return null;
  // The name occurs once: at most one value, read the usual way.
  if (cookieHeader.indexOf(cookieName, first + cookieName.length) === -1) return parse(cookieHeader)[cookieName] ?? null;
  const values: string[] = [];
  // Pair by pair without splitting the whole header: a hostile one may be large (Node.js allows
  // 16 KiB of headers by default, apps raise it), and only a few values are ever wanted.
  for (let start = 0; start < cookieHeader.length && values.length < MAX_COOKIE_VALUES;) {
    let end = cookieHeader.indexOf(";", start);
    if (end === -1) end = cookieHeader.length;
    // Within the pair only: a search past its end would make a header of many "="-less pairs quadratic.
    const equals = cookieHeader.slice(start, end).indexOf("=");
    if (equals !== -1 && trimmed(cookieHeader, start, start + equals) === cookieName) {
      values.push(decodeValue(trimmed(cookieHeader, start + equals + 1, end)));
    }
    start = end + 1;
  }
  if (values.length === 0) return null;
  return values.length === 1 ? values[0]! : values;
}

// text.slice(start, end) without surrounding spaces and tabs, as the `cookie` package reads a
// pair, so that a value reads the same on either path. A loop, not a regular expression: an
// anchored /[ \t]+$/ is quadratic on a long run of spaces.
function trimmed(text: string, start: number, end: number): string {
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

function decodeValue(value: string): string {
  if (!value.includes("%")) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * The cookie prefix that binds this name to Secure (and, for `__Host-`, to a host-only cookie
 * at path "/"), or null. RFC 6265bis §4.1.3: browsers drop a prefixed cookie that breaks the
 * prefix's rules without a word, and match the prefix case-insensitively.
 */
export function cookiePrefix(name: string): "__Host-" | "__Secure-" | null {
  const head = name.slice(0, 9).toLowerCase();
  if (head.startsWith("__host-")) return "__Host-";
  return head === "__secure-" ? "__Secure-" : null;
}

/** Builds the `Set-Cookie` values of one configured session cookie. */
export class SessionCookie {
  readonly name: string;
  readonly attributes: CookieAttributes;
  readonly #blank: string;
  readonly #blankSecure: string;

  constructor(name: string, attributes: CookieAttributes) {
    this.name = name;
    // A prefixed cookie without Secure never reaches the browser's jar, so "auto" on plain HTTP
    // (a local proxy, a misread scheme) would sign nobody in: such a name is always Secure.
    this.attributes = cookiePrefix(name) === null ? attributes : Object.freeze({ ...attributes, secure: true });
    // Clearing uses the same name, path and domain, or the browser would keep the old cookie.
    this.#blank = this.#serialize("", 0, new Date(0), false);
    this.#blankSecure = this.#serialize("", 0, new Date(0), true);
  }

  /** True when the cookie gets the `Secure` attribute on a request that is (or is not) HTTPS. */
  isSecure(https: boolean): boolean {
    return this.attributes.secure === "auto" ? https : this.attributes.secure;
  }

  /**
   * The cookie for `token`, expiring with the session. `now` is the manager's time, so that
   * `Max-Age` agrees with `Expires` even when the manager runs on another clock. A session that is
   * not `persistent` gets a cookie without either, which the browser drops when it closes.
   */
  set(token: string, expiresAt: Date, now: Date, https: boolean, persistent = true): string {
    if (!persistent) return this.#serialize(token, undefined, undefined, this.isSecure(https));
    const maxAge = Math.min(MAX_COOKIE_AGE_SECONDS, Math.max(0, Math.floor((expiresAt.getTime() - now.getTime()) / 1000)));
    const expires = new Date(Math.min(expiresAt.getTime(), now.getTime() + MAX_COOKIE_AGE_SECONDS * 1000));
    return this.#serialize(token, maxAge, expires, this.isSecure(https));
  }

  /** A cookie that makes the browser drop the session cookie. */
  clear(https: boolean): string {
    return this.isSecure(https) ? this.#blankSecure : this.#blank;
  }

  #serialize(value: string, maxAge: number | undefined, expires: Date | undefined, secure: boolean): string {
    const { sameSite, path, domain } = this.attributes;
    return serialize(this.name, value, { httpOnly: true, sameSite, path, domain, secure, maxAge, expires });
  }
}
