// HTML for the example apps: small template functions, every interpolated value escaped.

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (character) => ESCAPES[character]);
}

const MESSAGES = {
  invalid_credentials: "Wrong username or password.",
  invalid_request: "Please fill in both fields.",
  invalid_username: "Usernames are 1 to 64 characters.",
  invalid_password: "Passwords are 8 to 1024 characters.",
  username_taken: "That username is taken.",
  too_many_attempts: "Too many attempts: wait a little and try again.",
  payload_too_large: "That was too long.",
};

function layout(title, body) {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}label{display:block;margin:.5rem 0}
input{font:inherit;padding:.25rem}.error{color:#b00020}table{border-collapse:collapse}td,th{padding:.25rem .5rem;text-align:left}</style></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>`;
}

function credentialsForm(action, button, error) {
  const message = error && MESSAGES[error] ? `<p class="error" role="alert">${escapeHtml(MESSAGES[error])}</p>` : "";
  return `${message}<form method="post" action="${escapeHtml(action)}">
<label>Username <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="${action === "/register" ? "new-password" : "current-password"}" required minlength="8"></label>
<button type="submit">${escapeHtml(button)}</button>
</form>`;
}

/** The sign-in page; `error` is the code from `?error=`. */
export function loginPage(error) {
  return layout("Sign in", `${credentialsForm("/login", "Sign in", error)}<p>No account? <a href="/register">Register</a>.</p>`);
}

/** The registration page. */
export function registerPage(error) {
  return layout(
    "Register",
    `${credentialsForm("/register", "Create account", error)}<p>Have an account? <a href="/login">Sign in</a>.</p>`,
  );
}

/** The protected page: the user, their active sessions, and the sign-out buttons. */
export function homePage(user, sessions, currentSessionId) {
  const rows = sessions
    .map(
      (session) =>
        `<tr><td>${session.id === currentSessionId ? "this device" : "other device"}</td><td>${escapeHtml(session.userAgent ?? "unknown")}</td>` +
        `<td>${escapeHtml(session.ip ?? "")}</td><td>${escapeHtml(session.createdAt.toISOString())}</td></tr>`,
    )
    .join("\n");
  return layout(
    "Your account",
    `<p id="welcome">Signed in as <strong>${escapeHtml(user.username)}</strong>.</p>
<h2>Active sessions</h2>
<table><thead><tr><th></th><th>Browser</th><th>IP</th><th>Since</th></tr></thead><tbody>
${rows}
</tbody></table>
<form method="post" action="/sessions/revoke-others"><button type="submit">Sign out other devices</button></form>
<form method="post" action="/logout"><button type="submit">Sign out</button></form>`,
  );
}
