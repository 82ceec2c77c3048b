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
 * The session token in a `Cookie` header, or null when there is none.
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

/** Builds the `Set-Cookie` values of one configured session cookie. */
export class SessionCookie {
  readonly name: string;
  readonly attributes: CookieAttributes;
  readonly #blank: string;
  readonly #blankSecure: string;

  constructor(name: string, attributes: CookieAttributes) {
    this.name = name;
    this.attributes = attributes;
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
   * `Max-Age` agrees with `Expires` even when the manager runs on another clock.
   */
  set(token: string, expiresAt: Date, now: Date, https: boolean): string {
    const maxAge = Math.min(MAX_COOKIE_AGE_SECONDS, Math.max(0, Math.floor((expiresAt.getTime() - now.getTime()) / 1000)));
    const expires = new Date(Math.min(expiresAt.getTime(), now.getTime() + MAX_COOKIE_AGE_SECONDS * 1000));
    return this.#serialize(token, maxAge, expires, this.isSecure(https));
  }

  /** A cookie that makes the browser drop the session cookie. */
  clear(https: boolean): string {
    return this.isSecure(https) ? this.#blankSecure : this.#blank;
  }

  #serialize(value: string, maxAge: number, expires: Date, secure: boolean): string {
    const { sameSite, path, domain } = this.attributes;
    return serialize(this.name, value, { httpOnly: true, sameSite, path, domain, secure, maxAge, expires });
  }
}
