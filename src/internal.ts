// Keys of the manager's internal API, for the HTTP layer in src/http. Registered symbols, not
// private names: the CommonJS and ESM builds of the package are two copies of every module, and
// an adapter of one must reach a manager of the other.

/**
 * `manager[validateToken](token)`: what `checkSession` answers, synchronously when the database
 * allows (see `validateToken` in session-lifecycle.ts), else a promise.
 */
export const validateToken: unique symbol = Symbol.for("session-manager.validateToken");

/**
 * `manager[signIn](username, password, meta)`: `signIn`, answering the new session as well as its
 * token (`{ token, session, user }`), or, for a user with TOTP, `{ pendingToken, user, expiresAt }`
 * and no session; null for wrong credentials.
 */
export const signIn: unique symbol = Symbol.for("session-manager.signIn");

/** `manager[finishSignIn](pendingToken, code, meta)`: `completeSignIn`, answering the new session too. */
export const finishSignIn: unique symbol = Symbol.for("session-manager.finishSignIn");

/** `manager[startSession](user, meta)`: `createSession` for a user just created, answering the session too. */
export const startSession: unique symbol = Symbol.for("session-manager.startSession");

/** `manager[emitAuthEvent](type, fields)`: delivers an event of the HTTP layer (`csrf_rejected`) to `onEvent`. */
export const emitAuthEvent: unique symbol = Symbol.for("session-manager.emitAuthEvent");

/** `manager[changeEmail](token)`: `confirmEmailChange`, answering the address it replaced too. */
export const changeEmail: unique symbol = Symbol.for("session-manager.changeEmail");

/** `manager[reauthenticateSession](token, password, meta)`: `reauthenticate`, answering the session too. */
export const reauthenticateSession: unique symbol = Symbol.for("session-manager.reauthenticateSession");

/** `manager[rotate](token)`: `rotateSession`, answering the session too. */
export const rotate: unique symbol = Symbol.for("session-manager.rotate");

/** `manager[currentTime]()`: the manager's clock in ms, for freshness checks in the HTTP layer. */
export const currentTime: unique symbol = Symbol.for("session-manager.currentTime");

/**
 * `manager[limitAddress](action, ip)`: counts a sign-up (`"registration"`) or a password reset
 * request (`"reset_request"`) against the client address; resolves to null, or to the seconds to
 * wait when the address has had its hour's worth.
 */
export const limitAddress: unique symbol = Symbol.for("session-manager.limitAddress");

/** Marks a SessionManager of either build. */
export const MANAGER_BRAND: unique symbol = Symbol.for("session-manager.SessionManager");
