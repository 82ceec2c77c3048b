import type { IncomingHttpHeaders } from "node:http";
import { parseSetCookie, type SetCookie } from "cookie";

/** The Host every test request names, and so the origin the apps take as their own. */
export const HOST = "app.test";
export const SELF = `http://${HOST}`;

export type ParsedCookie = SetCookie & { value: string };

/**
 * The cookies named `name` that a response sets, in order, with their attributes. The value is
 * what a browser stores (RFC 6265 §5.2: surrounding white space removed), not URL-decoded; `""`
 * when the response clears the cookie. Takes a supertest or a plain `node:http` response.
 */
export function cookiesSet(res: { headers: IncomingHttpHeaders }, name = "session"): ParsedCookie[] {
  return (res.headers["set-cookie"] ?? [])
    .map((header) => parseSetCookie(header, { decode: (raw) => raw }))
    .filter((cookie) => cookie.name === name)
    .map((cookie) => ({ ...cookie, value: cookie.value ?? "" }));
}

/** Only the values of `cookiesSet`: `[]` when the response leaves the cookie alone. */
export function cookieValuesSet(res: { headers: IncomingHttpHeaders }, name = "session"): string[] {
  return cookiesSet(res, name).map((cookie) => cookie.value);
}
