import type { Session, User } from "../types.js";

/**
 * How the framework-neutral request logic sees a request. Each adapter implements this once, as a
 * constant, over its own request type `R`: no wrapper object is built per request.
 */
export interface RequestReader<R> {
  /** The HTTP method in upper case. */
  method(req: R): string;
  /** A request header by its lower-case name, or undefined when absent. */
  header(req: R, name: string): string | undefined;
  /** The request's own origin (`scheme://host[:port]`), as the framework sees it behind its trusted proxies. */
  origin(req: R): string;
  /** True when the request came over HTTPS, honouring the framework's trust-proxy setting. */
  secure(req: R): boolean;
  /** The client address as the framework reports it. */
  ip(req: R): string | undefined;
  /** A query string parameter (the first, when repeated), or undefined. */
  query(req: R, name: string): string | undefined;
  /** The signed-in user `sessionMiddleware` found for this request, or null. */
  user(req: R): User | null;
  /** The session `sessionMiddleware` found for this request, or null. */
  session(req: R): Session | null;
  /** A route parameter (`/sessions/:id`), or undefined when the router has none of that name. */
  param(req: R, name: string): string | undefined;
  /** The body when the framework (a body parser) has already parsed it, else undefined. */
  parsedBody(req: R): unknown;
  /** Reads the raw body, or resolves to null as soon as it grows past `limit` bytes. */
  readBody(req: R, limit: number): Promise<Uint8Array | null>;
}

/** A JSON response body. */
export type JsonBody = { readonly [key: string]: unknown };

/** What a handler answers, for the adapter to write through its framework's response API. */
export interface HttpResult {
  readonly status: number;
  /** Headers to append, in order; `Set-Cookie` may occur more than once. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** A JSON body, or null for an empty one. */
  readonly body: JsonBody | null;
}
