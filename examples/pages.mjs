// HTML for the example apps: small template functions, every interpolated value escaped.
import { errorMessage } from "session-manager";
import { describeDevice, lastActive, timeAgo } from "./devices.mjs";
import { SECURITY_PAGE, safeNext, TWO_FACTOR } from "./routes.mjs";

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (character) => ESCAPES[character]);
}

/**
 * Headers for a page whose URL or content holds a token (the reset page, the outbox): no cache
 * keeps it, and no Referer carries more than the origin, so the token never leaves in one.
 * Not `no-referrer`: browsers then send `Origin: null` with the page's form, and the CSRF check
 * rightly refuses that.
 */
export const TOKEN_PAGE_HEADERS = Object.freeze({ "Referrer-Policy": "strict-origin", "Cache-Control": "no-store" });

/**
 * Headers for every page shown only to a signed-in user: no cache keeps it, so that the Back
 * button after signing out asks the server again (and lands on the login page) instead of
 * showing the account from the cache, and a shared computer's cache holds none of it.
 */
export const SIGNED_IN_PAGE_HEADERS = Object.freeze({ "Cache-Control": "no-store" });

// What the pages say after a step went well (`?notice=`): fixed sentences, never text from the URL.
const NOTICES = {
  password_reset: "Your password has been changed and every device signed out. Sign in with the new password.",
  verification_sent: "We have sent you a link to verify your address: check your inbox.",
  email_change_sent: "We have sent a confirmation link to the new address. Your address changes when you follow it.",
  signed_out: "You are signed out.",
  password_changed: "Password changed. Every other device has been signed out.",
  device_signed_out: "That device has been signed out.",
  two_factor_disabled: "Two-factor authentication is off. Every other device has been signed out.",
  others_signed_out: (count) =>
    count === 0 ? "No other device was signed in." : `Signed out of ${count} other device${count === 1 ? "" : "s"}.`,
};

/**
 * What the pages read from a redirect's query string: `notice` (a key of the table above),
 * `error` (an error code of the handlers), `retryAfter` (seconds, after a 429 or 503), `count`
 * (with `others_signed_out`) and `form` (which form of a page failed). `read(name)` is the
 * framework's query lookup; anything that is not a single string is ignored.
 */
export function flashOf(read) {
  const text = (name) => {
    const value = read(name);
    return typeof value === "string" && value !== "" ? value : null;
  };
  return {
    notice: text("notice"),
    error: text("error"),
    retryAfter: smallInteger(text("retryAfter")),
    count: smallInteger(text("count")),
    form: text("form"),
  };
}

// A small non-negative integer from the query string, else null.
function smallInteger(value) {
  return value !== null && /^\d{1,6}$/.test(value) ? Number(value) : null;
}

const STYLE = `*,*::before,*::after{box-sizing:border-box}
[hidden]{display:none!important}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:0 auto;padding:1.5rem 1rem 3rem;color:#1a1a1a;overflow-wrap:anywhere}
h1{font-size:1.75rem;line-height:1.2;margin:0 0 1rem}h2{font-size:1.25rem;margin:2rem 0 .5rem}
label{display:block;margin:.75rem 0}
input{font:inherit}input:not([type=checkbox]){display:block;width:100%;max-width:26rem;padding:.5rem;margin-top:.25rem}
label.check{display:flex;gap:.5rem;align-items:center}label.check input{width:1.25rem;height:1.25rem;margin:0}
button{font:inherit;padding:.5rem 1rem;min-height:2.75rem;cursor:pointer}
form{margin:.5rem 0}.actions{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}.actions form{margin:0}
.hint{font-size:.875rem;color:#555;margin:.25rem 0}
.error{color:#b00020}.notice{color:#1b5e20}.error,.notice{padding:.5rem .75rem;border-radius:.25rem;background:#f6f6f6}
.banner{background:#fff4ce;padding:.5rem 1rem;border-radius:.25rem}
.badge{display:inline-block;font-size:.75rem;font-weight:600;padding:0 .5rem;border-radius:1rem;background:#e3f2e6;color:#1b5e20;white-space:nowrap}
.devices{width:100%;border-collapse:collapse}.devices th,.devices td{padding:.5rem;text-align:left;vertical-align:top;border-bottom:1px solid #ddd}
.devices th,.devices button{white-space:nowrap}.devices td form{margin:0}
.codes{font:1.125rem/1.8 ui-monospace,monospace;columns:2;padding-left:1.5rem}
.secret{font:1rem ui-monospace,monospace;letter-spacing:.05em}
.qr{display:block;width:12rem;height:12rem;image-rendering:pixelated}
.visually-hidden{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
footer{margin-top:3rem;font-size:.875rem;color:#555}
pre{white-space:pre-wrap;background:#f4f4f4;padding:.5rem}
@media (max-width:40rem){
.devices thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.devices,.devices tbody,.devices tr,.devices td{display:block;width:100%}
.devices tr{border:1px solid #ccc;border-radius:.5rem;padding:.5rem .75rem;margin:0 0 .75rem}
.devices td{border:0;padding:.125rem 0}
.devices td[data-label]::before{content:attr(data-label) ": ";color:#555}
.devices td.device::before{content:none}
}`;

function layout(title, body, { devOutbox = false } = {}) {
  const footer = devOutbox
    ? `<footer><p>No mail server configured: messages go to the <a href="/dev/outbox">development outbox</a>.</p></footer>`
    : "";
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
<style>${STYLE}</style></head>
<body><main><h1>${escapeHtml(title)}</h1>
${body}
</main>${footer}
</body>
</html>`;
}

// "5 seconds", "2 minutes", "1 hour".
function duration(seconds) {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 120) return `${minutes} minute${minutes === 1 ? "" : "s"}`;
  return `${Math.round(minutes / 60)} hours`;
}

/**
 * The error a failure redirect carried, in the library's words (`errorMessage`), or in the
 * page's own where they fit better (`overrides`); with the wait after a 429 or 503. Codes are
 * looked up, never shown: an unknown one gets the generic sentence.
 */
function errorLine(flash, overrides = {}) {
  if (flash.error === null) return "";
  const text = Object.hasOwn(overrides, flash.error) ? overrides[flash.error] : errorMessage(flash.error);
  const wait = flash.retryAfter === null || flash.retryAfter === 0 ? "" : ` Time left: ${duration(flash.retryAfter)}.`;
  return `<p class="error" role="alert">${escapeHtml(text + wait)}</p>`;
}

// Only the table's own keys (never "constructor") say anything.
function noticeLine(flash) {
  if (flash.notice === null || !Object.hasOwn(NOTICES, flash.notice)) return "";
  const notice = NOTICES[flash.notice];
  const text = typeof notice === "function" ? (flash.count === null ? null : notice(flash.count)) : notice;
  return text === null ? "" : `<p class="notice" role="status">${escapeHtml(text)}</p>`;
}

function messages(flash, overrides) {
  return `${noticeLine(flash)}${errorLine(flash, overrides)}`;
}

function passwordInput(autocomplete, { label = "Password", name = "password" } = {}) {
  return `<label>${label} <input name="${name}" type="password" autocomplete="${autocomplete}" required minlength="8" maxlength="1024"></label>`;
}

// Password managers file a password under the username next to it, also on forms that ask only for the password.
function usernameForPasswordManagers(user) {
  return `<input type="text" name="username" autocomplete="username" value="${escapeHtml(user.username)}" hidden>`;
}

const NO_FLASH = flashOf(() => undefined);

/** The sign-in page, with "Remember me": unchecked, the session cookie ends when the browser closes. */
export function loginPage(flash = NO_FLASH) {
  return layout(
    "Sign in",
    `${messages(flash)}<form method="post" action="/login">
<label>Username <input name="username" autocomplete="username" required></label>
${passwordInput("current-password")}
<label class="check"><input type="checkbox" name="remember" value="on"> Remember me</label>
<p class="hint">Leave it unchecked on a shared computer: closing the browser then signs you out.</p>
<button type="submit">Sign in</button>
</form>
<p><a href="/forgot-password">Forgot password?</a></p>
<p>No account? <a href="/register">Register</a>.</p>`,
  );
}

/** The registration page: the email address is optional, and needed only to reset a forgotten password. */
export function registerPage(flash = NO_FLASH) {
  return layout(
    "Register",
    `${messages(flash)}<form method="post" action="/register">
<label>Username <input name="username" autocomplete="username" required></label>
${passwordInput("new-password")}
<label>Email address (optional, to reset a forgotten password) <input name="email" type="email" autocomplete="email"></label>
<button type="submit">Create account</button>
</form>
<p>Have an account? <a href="/login">Sign in</a>.</p>`,
  );
}

/** Asks for the username or address to send a reset link to. */
export function forgotPasswordPage(flash = NO_FLASH, { devOutbox } = {}) {
  return layout(
    "Forgot password",
    `${messages(flash)}<p>Enter your username or email address: if the account has an address, we send it a link to choose a new password.</p>
<form method="post" action="/forgot-password">
<label>Username or email address <input name="identifier" autocomplete="username" required></label>
<button type="submit">Send reset link</button>
</form>
<p><a href="/login">Back to sign in</a></p>`,
    { devOutbox },
  );
}

/** After a reset request: the same words whether or not an account matched. */
export function checkInboxPage({ devOutbox } = {}) {
  return layout(
    "Check your inbox",
    `<p id="check-inbox">If an account with an email address matches, a link to reset its password is on its way. The link works once, for an hour.</p>
<p><a href="/login">Back to sign in</a></p>`,
    { devOutbox },
  );
}

/**
 * The page a reset link opens. Showing it uses nothing up: only the form's POST spends the
 * token, so a mail scanner that follows the link changes nothing.
 */
export function resetPasswordPage(token, flash = NO_FLASH) {
  if (typeof token !== "string" || token === "" || flash.error === "invalid_token") {
    return layout(
      "Reset password",
      `${errorLine({ ...flash, error: "invalid_token" })}<p><a href="/forgot-password">Ask for a new link</a></p>`,
    );
  }
  return layout(
    "Reset password",
    `${messages(flash)}<form method="post" action="/reset-password">
<input type="hidden" name="token" value="${escapeHtml(token)}">
${passwordInput("new-password", { label: "New password" })}
<button type="submit">Set new password</button>
</form>`,
  );
}

/** Where an email verification or email change link lands. */
export function linkOutcomePage(title, done, flash = NO_FLASH) {
  const body =
    flash.error !== null
      ? `${errorLine({ ...flash, error: "invalid_token" })}<p>Sign in and send a new link from your account page.</p>`
      : `<p class="notice" role="status">${escapeHtml(done)}</p>`;
  return layout(title, `${body}<p><a href="/">Continue to your account</a></p>`);
}

/**
 * The account page: the user, their address, their devices (each with its own sign-out button)
 * and the way to the security settings. `sessions` from `manager.listSessions`; `now` for the
 * "2 hours ago" words.
 */
export function homePage(user, sessions, currentSessionId, flash = NO_FLASH, { devOutbox, now = new Date() } = {}) {
  const banner =
    user.email !== null && !user.emailVerified
      ? `<div class="banner" id="verify-banner"><p>Please verify your email address <strong>${escapeHtml(user.email)}</strong>.</p>
<form method="post" action="/verify-email/send"><button type="submit">Send verification link</button></form></div>`
      : "";
  const address =
    user.email === null
      ? "You have no email address: add one to be able to reset a forgotten password."
      : `<strong>${escapeHtml(user.email)}</strong> (${user.emailVerified ? "verified" : "not verified yet"})`;
  // This device first, then the others as the manager lists them, newest first.
  const ordered = [...sessions].sort((a, b) => Number(b.id === currentSessionId) - Number(a.id === currentSessionId));
  const others = ordered.length - (ordered.some((session) => session.id === currentSessionId) ? 1 : 0);
  return layout(
    "Your account",
    `${messages(flash, { not_found: "That device was already signed out." })}${banner}
<p id="welcome">Signed in as <strong>${escapeHtml(user.username)}</strong>.</p>
<h2>Email address</h2>
<p id="email">${address}</p>
<h2>Security</h2>
<p>Change your email address or your password, or set up two-factor authentication, in the <a href="${SECURITY_PAGE}" id="security-link">security settings</a>. You may be asked to confirm your password first.</p>
<h2>Your devices</h2>
<p>Where your account is signed in. Sign out any device you do not recognise, then change your password.</p>
<table class="devices" id="devices"><thead><tr><th scope="col">Device</th><th scope="col">Signed in</th><th scope="col">Last active</th><th scope="col">IP address</th><th scope="col"><span class="visually-hidden">Sign out</span></th></tr></thead>
<tbody>
${ordered.map((session) => deviceRow(session, session.id === currentSessionId, now)).join("\n")}
</tbody></table>
<div class="actions">
${others > 0 ? `<form method="post" action="/sessions/revoke-others"><input type="hidden" name="id" value="others"><button type="submit">Sign out all other devices</button></form>` : ""}
<form method="post" action="/logout"><button type="submit">Sign out</button></form>
</div>`,
    { devOutbox },
  );
}

function deviceRow(session, current, now) {
  const described = describeDevice(session.userAgent);
  const name = described ?? "Unknown device";
  // A user agent the parser could not name is shown as it came (shortened), escaped like any text.
  const raw = described === null && session.userAgent ? `<br><small>${escapeHtml(session.userAgent.slice(0, 120))}</small>` : "";
  const badge = current ? ` <span class="badge">this device</span>` : "";
  const lifetime = session.persistent ? "" : `<br><small>Until the browser closes</small>`;
  const action = current
    ? ""
    : `<form method="post" action="/sessions/revoke"><input type="hidden" name="id" value="${escapeHtml(session.id)}">` +
      `<button type="submit">Sign out<span class="visually-hidden"> ${escapeHtml(name)}</span></button></form>`;
  return `<tr class="device${current ? " current" : ""}" data-session="${escapeHtml(session.id)}">
<td class="device" data-label="Device"><strong>${escapeHtml(name)}</strong>${badge}${raw}${lifetime}</td>
<td data-label="Signed in"><time datetime="${session.createdAt.toISOString()}" title="${escapeHtml(session.createdAt.toUTCString())}">${escapeHtml(timeAgo(session.createdAt, now))}</time></td>
<td data-label="Last active">${escapeHtml(lastActive(session, now, current))}</td>
<td data-label="IP address">${escapeHtml(session.ip ?? "unknown")}</td>
<td class="action">${action}</td>
</tr>`;
}

/**
 * The security settings: the email change and password change forms and two-factor
 * authentication (`twoFactor`: whether it is on), shown only to a session
 * whose password was typed within `freshSeconds` (the route's `requireUser({ fresh })`). A form
 * that fails comes back with `?form=email` or `?form=password`, and its error stands above it.
 */
export function securityPage(user, flash = NO_FLASH, { freshSeconds, twoFactor = false } = {}) {
  const forForm = (form, overrides) => (flash.form === form ? errorLine(flash, overrides) : "");
  const address = user.email === null ? "none yet" : `<strong>${escapeHtml(user.email)}</strong>`;
  return layout(
    "Security settings",
    `${noticeLine(flash)}${flash.form === null ? errorLine(flash) : ""}
<p id="security">Signed in as <strong>${escapeHtml(user.username)}</strong>. These settings stay open for ${duration(freshSeconds)} after you last typed your password.</p>
<h2>Email address</h2>
<p>Current address: ${address}.</p>
${forForm("email")}<form method="post" action="/account/email" id="email-form">
<label>New email address <input name="email" type="email" autocomplete="email" required></label>
<button type="submit">${user.email === null ? "Add email address" : "Change email address"}</button>
</form>
<p class="hint">We send a confirmation link to the new address; the change takes effect when you follow it.</p>
<h2>Password</h2>
${forForm("password", { invalid_credentials: "That is not your current password." })}<form method="post" action="/account/password" id="password-form">
${usernameForPasswordManagers(user)}
${passwordInput("current-password", { label: "Current password", name: "currentPassword" })}
${passwordInput("new-password", { label: "New password", name: "newPassword" })}
<button type="submit">Change password</button>
</form>
<p class="hint">Changing your password signs out every other device.</p>
${twoFactorSection(twoFactor)}
<p><a href="/">Back to your account</a></p>`,
  );
}

// The security page's block: set it up, or turn it off and renew the recovery codes.
function twoFactorSection(enabled) {
  if (!enabled) {
    return `<h2>Two-factor authentication</h2>
<p id="two-factor-status">Off. With it on, signing in asks for a code from an authenticator app on your phone as well as your password.</p>
<form method="post" action="${TWO_FACTOR.setup}"><button type="submit">Set up two-factor authentication</button></form>`;
  }
  return `<h2>Two-factor authentication</h2>
<p id="two-factor-status"><span class="badge">On</span> Signing in asks for a code from your authenticator app, or one of your recovery codes.</p>
<div class="actions">
<form method="post" action="${TWO_FACTOR.recoveryCodes}"><button type="submit">New recovery codes</button></form>
<form method="post" action="${TWO_FACTOR.disable}"><button type="submit">Turn off two-factor authentication</button></form>
</div>
<p class="hint">Either one signs out every other device. New recovery codes replace all the old ones.</p>`;
}

// The one field of the code forms: the app's 6 digits, or a recovery code, which has letters and
// a dash (xxxxx-xxxxx). So inputmode "text": a phone's numeric keypad could not type those.
// "one-time-code" lets the browser or password manager fill in the app's code.
function codeInput(label) {
  return `<label>${label} <input name="code" autocomplete="one-time-code" inputmode="text" autocapitalize="none" autocorrect="off" spellcheck="false" required maxlength="32"></label>`;
}

/** The second sign-in step: the code from the app, or a recovery code. */
export function loginCodePage(flash = NO_FLASH) {
  return layout(
    "Enter your code",
    `${messages(flash)}<p id="code-prompt">Your account uses two-factor authentication. Open your authenticator app and type the 6-digit code it shows, or one of your recovery codes.</p>
<form method="post" action="${TWO_FACTOR.code}">
${codeInput("Code")}
<button type="submit">Sign in</button>
</form>
<p class="hint">This step expires 5 minutes after you typed your password. <a href="/login">Start again</a></p>`,
  );
}

/**
 * Setting up two-factor authentication: the QR code (`qrDataUrl`, an image of `uri`), the
 * secret to type in instead, and the form that turns it on with the app's first code. The
 * form carries `uri` back only to show this page again after a wrong code: the server checks
 * the code against the secret it saved, never against this field.
 */
export function twoFactorSetupPage(user, { secret, uri, qrDataUrl }, { wrongCode = false } = {}) {
  const grouped = secret.match(/.{1,4}/g).join(" ");
  return layout(
    "Set up two-factor authentication",
    `${wrongCode ? `<p class="error" role="alert">That code did not work. Type the code your app shows now: each one lasts 30 seconds.</p>` : ""}
<p>1. Scan this QR code with an authenticator app (Google Authenticator, 1Password, Authy, …).</p>
<img class="qr" id="totp-qr" src="${escapeHtml(qrDataUrl)}" alt="QR code for adding ${escapeHtml(user.username)} to an authenticator app" width="192" height="192">
<p>Or type this key into the app: <code class="secret" id="totp-secret" data-secret="${escapeHtml(secret)}">${escapeHtml(grouped)}</code></p>
<p>2. Type the 6-digit code the app shows to turn two-factor authentication on.</p>
<form method="post" action="${TWO_FACTOR.confirm}" id="totp-confirm">
<input type="hidden" name="uri" value="${escapeHtml(uri)}">
${codeInput("Code from the app")}
<button type="submit">Turn on</button>
</form>
<p><a href="${SECURITY_PAGE}">Cancel</a></p>`,
  );
}

/** The recovery codes, shown this once: after setup (`regenerated` false) or on renewing them. */
export function recoveryCodesPage(codes, { regenerated = false } = {}) {
  const lead = regenerated
    ? "Your old recovery codes no longer work, and every other device has been signed out. Here are the new ones."
    : "Two-factor authentication is on. If you lose your phone, sign in with one of these recovery codes instead of a code from the app.";
  return layout(
    "Save your recovery codes",
    `<p class="notice" role="status">${escapeHtml(lead)}</p>
<ol class="codes" id="recovery-codes">
${codes.map((code) => `<li><code>${escapeHtml(code)}</code></li>`).join("\n")}
</ol>
<p><strong>Save them now</strong> in a password manager or print them: this page is the only time they are shown. Each works once.</p>
<p><a href="${SECURITY_PAGE}">Done</a></p>`,
  );
}

/**
 * "Confirm your password", in front of the pages behind a fresh sign-in. The form posts to the
 * same URL, whose `next` the server looks up among its own pages (`safeNext`).
 */
export function confirmPasswordPage(user, next, flash = NO_FLASH, { freshSeconds } = {}) {
  const target = safeNext(next);
  return layout(
    "Confirm your password",
    `${messages(flash, { invalid_credentials: "That is not your password." })}
<p id="confirm">You are signed in as <strong>${escapeHtml(user.username)}</strong>. Type your password again to continue: you will not be asked again for ${duration(freshSeconds)}.</p>
<form method="post" action="/confirm-password?next=${escapeHtml(encodeURIComponent(target))}">
${usernameForPasswordManagers(user)}
${passwordInput("current-password")}
<button type="submit">Confirm</button>
</form>
<p><a href="/forgot-password">Forgot password?</a> · <a href="/">Back to your account</a></p>`,
  );
}

/** The development outbox: the messages the app would have mailed, newest first. */
export function outboxPage(messages) {
  const items = messages
    .map(
      (message) => `<article class="message">
<h2>${escapeHtml(message.subject)}</h2>
<p>To <strong>${escapeHtml(message.to)}</strong>, ${escapeHtml(message.sentAt.toISOString())}</p>
${message.link === null ? "" : `<p><a href="${escapeHtml(message.link)}">${escapeHtml(message.link)}</a></p>`}
<pre>${escapeHtml(message.text)}</pre>
</article>`,
    )
    .join("\n");
  return layout(
    "Development outbox",
    `<p>No mail server is configured (set <code>SMTP_URL</code> to send real mail), so the app keeps its last messages here and prints them on its console.</p>
${items || "<p>No messages yet.</p>"}`,
  );
}

/** The answer to /dev/outbox from another machine. */
export function outboxRefusedPage() {
  return layout(
    "Development outbox",
    "<p>The outbox holds live sign-in links, so it is shown only to a browser on the server's own machine. The server's console prints every message too.</p>",
  );
}
