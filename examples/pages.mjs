// HTML for the example apps: small template functions, every interpolated value escaped.

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

// The error codes the handlers redirect with (`?error=`).
const ERRORS = {
  invalid_credentials: "Wrong username or password.",
  invalid_request: "Please fill in every field.",
  invalid_username: "Usernames are 1 to 64 characters.",
  invalid_password: "Passwords are 8 to 1024 characters.",
  invalid_email: "That does not look like an email address.",
  username_taken: "That username is taken.",
  email_taken: "That email address belongs to another account.",
  invalid_token: "This link is invalid, has expired or was already used.",
  too_many_attempts: "Too many attempts: wait a little and try again.",
  service_busy: "The server is busy: try again in a moment.",
  payload_too_large: "That was too long.",
};

// What the pages say after a step went well (`?notice=`).
const NOTICES = {
  password_reset: "Your password has been changed and every device signed out. Sign in with the new password.",
  verification_sent: "We have sent you a link to verify your address: check your inbox.",
  email_change_sent: "We have sent a confirmation link to the new address. Your address changes when you follow it.",
};

function layout(title, body, { devOutbox = false } = {}) {
  const footer = devOutbox
    ? `<footer><p>No mail server configured: messages go to the <a href="/dev/outbox">development outbox</a>.</p></footer>`
    : "";
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}label{display:block;margin:.5rem 0}
input{font:inherit;padding:.25rem}.error{color:#b00020}.notice{color:#1b5e20}.banner{background:#fff4ce;padding:.5rem 1rem;border-radius:.25rem}
table{border-collapse:collapse}td,th{padding:.25rem .5rem;text-align:left}footer{margin-top:3rem;font-size:.875rem;color:#555}
pre{white-space:pre-wrap;background:#f4f4f4;padding:.5rem}</style></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
${footer}
</body>
</html>`;
}

// The codes come from the query string: only the table's own keys (never "constructor") say anything.
function errorLine(error) {
  return typeof error === "string" && Object.hasOwn(ERRORS, error) ? `<p class="error" role="alert">${escapeHtml(ERRORS[error])}</p>` : "";
}

function noticeLine(notice) {
  return typeof notice === "string" && Object.hasOwn(NOTICES, notice)
    ? `<p class="notice" role="status">${escapeHtml(NOTICES[notice])}</p>`
    : "";
}

function passwordInput(autocomplete, label = "Password") {
  return `<label>${label} <input name="password" type="password" autocomplete="${autocomplete}" required minlength="8" maxlength="1024"></label>`;
}

/** The sign-in page; `error` and `notice` are the codes from `?error=` and `?notice=`. */
export function loginPage(error, notice) {
  return layout(
    "Sign in",
    `${noticeLine(notice)}${errorLine(error)}<form method="post" action="/login">
<label>Username <input name="username" autocomplete="username" required></label>
${passwordInput("current-password")}
<button type="submit">Sign in</button>
</form>
<p><a href="/forgot-password">Forgot password?</a></p>
<p>No account? <a href="/register">Register</a>.</p>`,
  );
}

/** The registration page: the email address is optional, and needed only to reset a forgotten password. */
export function registerPage(error) {
  return layout(
    "Register",
    `${errorLine(error)}<form method="post" action="/register">
<label>Username <input name="username" autocomplete="username" required></label>
${passwordInput("new-password")}
<label>Email address (optional, to reset a forgotten password) <input name="email" type="email" autocomplete="email"></label>
<button type="submit">Create account</button>
</form>
<p>Have an account? <a href="/login">Sign in</a>.</p>`,
  );
}

/** Asks for the username or address to send a reset link to. */
export function forgotPasswordPage(error, { devOutbox } = {}) {
  return layout(
    "Forgot password",
    `${errorLine(error)}<p>Enter your username or email address: if the account has an address, we send it a link to choose a new password.</p>
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
export function resetPasswordPage(token, error) {
  if (!token || error === "invalid_token") {
    return layout("Reset password", `${errorLine("invalid_token")}<p><a href="/forgot-password">Ask for a new link</a></p>`);
  }
  return layout(
    "Reset password",
    `${errorLine(error)}<form method="post" action="/reset-password">
<input type="hidden" name="token" value="${escapeHtml(token)}">
${passwordInput("new-password", "New password")}
<button type="submit">Set new password</button>
</form>`,
  );
}

/** Where an email verification or email change link lands. */
export function linkOutcomePage(title, done, error) {
  const body = error
    ? `${errorLine("invalid_token")}<p>Sign in and send a new link from your account page.</p>`
    : `<p class="notice" role="status">${escapeHtml(done)}</p>`;
  return layout(title, `${body}<p><a href="/">Continue to your account</a></p>`);
}

/** The protected page: the user, their address, their active sessions, and the sign-out buttons. */
export function homePage(user, sessions, currentSessionId, { notice, error, devOutbox } = {}) {
  const rows = sessions
    .map(
      (session) =>
        `<tr><td>${session.id === currentSessionId ? "this device" : "other device"}</td><td>${escapeHtml(session.userAgent ?? "unknown")}</td>` +
        `<td>${escapeHtml(session.ip ?? "")}</td><td>${escapeHtml(session.createdAt.toISOString())}</td></tr>`,
    )
    .join("\n");
  const banner =
    user.email !== null && !user.emailVerified
      ? `<div class="banner" id="verify-banner"><p>Please verify your email address <strong>${escapeHtml(user.email)}</strong>.</p>
<form method="post" action="/verify-email/send"><button type="submit">Send verification link</button></form></div>`
      : "";
  const address =
    user.email === null
      ? "You have no email address: add one to be able to reset a forgotten password."
      : `<strong>${escapeHtml(user.email)}</strong> (${user.emailVerified ? "verified" : "not verified yet"})`;
  return layout(
    "Your account",
    `${noticeLine(notice)}${errorLine(error)}${banner}
<p id="welcome">Signed in as <strong>${escapeHtml(user.username)}</strong>.</p>
<h2>Email address</h2>
<p id="email">${address}</p>
<form method="post" action="/account/email">
<label>New email address <input name="email" type="email" autocomplete="email" required></label>
<button type="submit">${user.email === null ? "Add email address" : "Change email address"}</button>
</form>
<p>We send a confirmation link to the new address; the change takes effect when you follow it.</p>
<h2>Active sessions</h2>
<table><thead><tr><th></th><th>Browser</th><th>IP</th><th>Since</th></tr></thead><tbody>
${rows}
</tbody></table>
<form method="post" action="/sessions/revoke-others"><button type="submit">Sign out other devices</button></form>
<form method="post" action="/logout"><button type="submit">Sign out</button></form>`,
    { devOutbox },
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
