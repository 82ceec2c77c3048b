/** The framework-neutral request logic the adapters translate; not a public entry point. */
export { BODY_LIMIT_BYTES, readBodyFields, type BodyFields, type BodyFieldsResult } from "./body-fields.js";
export {
  cookiePrefix,
  MAX_COOKIE_VALUES,
  readSessionCookie,
  readSessionCookieValues,
  SessionCookie,
  type CookieAttributes,
} from "./cookie.js";
export { FORBIDDEN, isRefusedByCsrf, isUnsafeMethod, refusedOrigin, type CsrfHeaders } from "./csrf.js";
export { requestToken, serializeUser } from "./handlers.js";
export { authenticate, boundMiddleware, isHttps } from "./middleware.js";
export {
  getDefaultManager,
  resolveHandlerOptions,
  resolveMiddlewareOptions,
  type HandlerOptions,
  type LoginHandlerOptions,
  type RequireUserOptions,
  type RequestSession,
  type ResolvedHandlerOptions,
  type ResolvedMiddlewareOptions,
  type SessionCookieOptions,
  type SessionMiddlewareOptions,
} from "./middleware-options.js";
export { readNodeBody, readWebBody } from "./read-body.js";
export { errorMessage, type HttpErrorCode } from "./error-messages.js";
export { flows, guard, type Flow, type Guard } from "./flows.js";
// The handlers' logic reaches the adapters through `flows`, each with its options checked once.
export type {
  ConfirmEmailChangeHandlerOptions,
  EmailChangeHandlerOptions,
  EmailLinkHandlerOptions,
  EmailMessage,
  SendEmail,
} from "./recovery.js";
export type { TwoFactorSettingsOptions } from "./two-factor-settings.js";
export { originOf } from "./origin.js";
export type { HttpResult, JsonBody, RequestReader } from "./request.js";
