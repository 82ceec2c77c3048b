// The example apps' settings, read from the environment by each server's start-up code and
// passed down: nothing here runs when a module is imported.

/**
 * `PORT` (default 3000); `APP_URL`, the public origin the links in mail point at (default
 * `http://localhost:${PORT}`); `SMTP_URL` (unset: the development outbox); `MAIL_FROM`.
 */
export function readSettings(env) {
  const port = Number(env.PORT ?? 3000);
  const configured = env.APP_URL ? publicOrigin(env.APP_URL) : null;
  return {
    port,
    // Links in mail are built from this, never from the request's Host header, which any client sets.
    appUrl: configured ?? `http://localhost:${port}`,
    // Behind a reverse proxy the app sees another scheme or host than the browser does: with
    // APP_URL set, the CSRF check compares against it (and a https: origin makes cookies Secure).
    origin: configured ?? undefined,
    smtpUrl: env.SMTP_URL || null,
    mailFrom: env.MAIL_FROM || "session-manager example <no-reply@localhost>",
  };
}

function publicOrigin(value) {
  let url;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`APP_URL must be an absolute URL such as https://app.example.com, not ${JSON.stringify(value)}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error("APP_URL must be an http(s) URL");
  // The example serves its pages at the root of its origin; a path here would make links that miss them.
  if (url.pathname !== "/" || url.search !== "") throw new Error(`APP_URL must be an origin without a path: ${url.origin}`);
  return url.origin;
}
