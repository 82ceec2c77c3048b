/**
 * An English sentence for each error code the HTTP handlers answer with, for pages that show the
 * `error` a failure redirect carries.
 */
const MESSAGES = {
  invalid_credentials: "Wrong username or password.",
  two_factor_required: "This account signs in with a code from an authenticator app as well.",
  invalid_code: "That code did not work. Type the current code from your authenticator app, or a recovery code.",
  totp_already_enabled: "Two-factor authentication is already on for this account.",
  totp_not_enabled: "Two-factor authentication is not on for this account.",
  too_many_attempts: "Too many failed attempts. Wait a little and try again.",
  service_busy: "The server is busy. Try again in a moment.",
  invalid_request: "The form was incomplete or malformed.",
  payload_too_large: "The form was too large.",
  username_taken: "That username is already taken.",
  email_taken: "That email address is already in use.",
  invalid_username: "Usernames are 1 to 64 characters, without invisible or control characters.",
  invalid_password: "Passwords are 8 to 1024 characters.",
  invalid_email: "That does not look like an email address.",
  invalid_token: "This link is invalid, has expired, or was already used. Ask for a new one.",
  unauthorized: "Please sign in first.",
  forbidden: "The request came from another site and was refused.",
  reauthentication_required: "Please confirm your password to continue.",
  not_found: "There is no such session.",
  method_not_allowed: "That action is not available here.",
} as const;

/** An error code the HTTP handlers answer with, in `{"error": code}` or a failure redirect's `?error=`. */
export type HttpErrorCode = keyof typeof MESSAGES;

/**
 * The English sentence for an error code the handlers answer with; a generic sentence for any
 * other string (a page may pass the query parameter through as it came).
 *
 * ### Examples
 *
 * ```ts
 * import { errorMessage } from "session-manager"
 *
 * const code = new URL("https://app.example.com/login?error=too_many_attempts").searchParams.get("error")
 * if (code !== null) console.log(errorMessage(code)) // "Too many failed attempts. Wait a little and try again."
 * ```
 */
export function errorMessage(code: HttpErrorCode | (string & {})): string {
  return Object.hasOwn(MESSAGES, code) ? MESSAGES[code as HttpErrorCode] : "Something went wrong. Please try again.";
}
