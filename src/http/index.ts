/** The framework-neutral request logic the adapters translate; not a public entry point. */
export {
  BODY_LIMIT_BYTES,
  readBodyFields,
  readCredentials,
  type BodyFields,
  type BodyFieldsResult,
  type Credentials,
} from "./body-fields.js";
export {
  cookiePrefix,
  MAX_COOKIE_VALUES,
  readSessionCookie,
  readSessionCookieValues,
  SessionCookie,
  type CookieAttributes,
} from "./cookie.js";
export { FORBIDDEN, isRefusedByCsrf, isUnsafeMethod, refusedOrigin, type CsrfHeaders } from "./csrf.js";
export { login, logout, register, requestToken, serializeUser, unauthorized } from "./handlers.js";
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
export {
  confirmEmailChange,
  DeliveryQueue,
  emailChange,
  emailVerificationRequest,
  passwordReset,
  passwordResetRequest,
  resolveConfirmOptions,
  resolveEmailLinkOptions,
  verifyEmail,
  type ConfirmEmailChangeHandlerOptions,
  type EmailChangeHandlerOptions,
  type EmailLinkHandlerOptions,
  type EmailMessage,
  type ResolvedEmailLinkOptions,
  type SendEmail,
} from "./recovery.js";
export { originOf } from "./origin.js";
export type { HttpResult, JsonBody, RequestReader } from "./request.js";
