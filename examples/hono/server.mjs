// A complete Hono app on session-manager: HTML pages and a JSON API. It runs on Node.js (through
// @hono/node-server), Bun (Bun.serve) and Deno (Deno.serve), each with its own SQLite driver:
//   npm run example:hono        (node examples/hono/server.mjs)
//   npm run example:hono:bun    (bun examples/hono/server.mjs)
//   npm run example:hono:deno   (deno run --allow-net --allow-env --allow-read --allow-write --allow-ffi examples/hono/server.mjs)
// after `npm run build`, then open http://127.0.0.1:3000.
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import { SessionManager } from "session-manager";
import {
  changePasswordHandler,
  confirmEmailChangeHandler,
  emailChangeHandler,
  emailVerificationRequestHandler,
  loginHandler,
  logoutHandler,
  passwordResetHandler,
  passwordResetRequestHandler,
  readSessionCookie,
  reauthenticateHandler,
  registerHandler,
  requireUser,
  revokeSessionHandler,
  sessionMiddleware,
  sessionsHandler,
  twoFactorHandler,
  recoveryCodesHandler,
  totpConfirmHandler,
  totpDisableHandler,
  totpSetupHandler,
  verifyEmailHandler,
} from "session-manager/hono";
import { createMailer, isLoopback, logDeliveryFailures } from "../mail.mjs";
import {
  checkInboxPage,
  confirmPasswordPage,
  flashOf,
  forgotPasswordPage,
  homePage,
  linkOutcomePage,
  loginCodePage,
  loginPage,
  outboxPage,
  outboxRefusedPage,
  registerPage,
  resetPasswordPage,
  securityPage,
  SIGNED_IN_PAGE_HEADERS,
  TOKEN_PAGE_HEADERS,
} from "../pages.mjs";
import { confirmPasswordHandlers, freshOptions, otherSessionCount, revokeOthersHandler, SECURITY_PAGE, TWO_FACTOR } from "../routes.mjs";
import { listeningMessage, readSettings, totpOptions } from "../settings.mjs";
import { beginSetup, confirmSetup, disable, newRecoveryCodes } from "../two-factor.mjs";

/** The runtime this process runs on; each has its own server and its own `getConnInfo`. */
const RUNTIME = typeof process.versions.bun === "string" ? "bun" : "Deno" in globalThis ? "deno" : "node";
const { getConnInfo } = await import({ bun: "hono/bun", deno: "hono/deno", node: "@hono/node-server/conninfo" }[RUNTIME]);

const flash = (c) => flashOf((name) => c.req.query(name));

// Runs a step of ../two-factor.mjs and sends what it answered: a signed-in page, or a redirect.
function twoFactorStep(step) {
  return async (c) => {
    const { html, status = 200, redirect } = await step(c);
    return redirect !== undefined ? c.redirect(redirect, 303) : c.html(html, status, SIGNED_IN_PAGE_HEADERS);
  };
}

// A urlencoded form's string fields (a file field of a multipart body is left out).
async function formOf(c) {
  const body = await c.req.parseBody();
  return Object.fromEntries(Object.entries(body).filter(([, value]) => typeof value === "string"));
}

/**
 * The address login throttling counts by: the connection's, or behind `trustProxy` proxies the
 * entry the outermost of them appended to X-Forwarded-For (the ones left of it the client wrote).
 */
function clientAddress(c, trustProxy) {
  const peer = getConnInfo(c).remote.address;
  if (trustProxy === 0) return peer;
  const forwarded = (c.req.header("x-forwarded-for") ?? "").split(",").map((entry) => entry.trim());
  return forwarded.length >= trustProxy ? forwarded[forwarded.length - trustProxy] : peer;
}

/**
 * Builds the app around a SessionManager. `appUrl`: the absolute origin the links in mail point
 * at; `origin`: the public origin for the CSRF check, when the app runs behind a proxy;
 * `mailer`: from `createMailer()`; `freshSeconds`: how long after the password was typed the
 * security settings open without asking for it again; `trustProxy`: how many reverse proxies
 * stand in front (0: none, the connection's address is the client's).
 */
export function createApp(manager, { appUrl, origin, mailer, freshSeconds = 600, trustProxy = 0 }) {
  const app = new Hono();
  app.use(sessionMiddleware({ manager, origin, clientAddress: (c) => clientAddress(c, trustProxy) }));
  const { sendEmail } = mailer;
  const devOutbox = mailer.outbox !== null;
  const signedIn = requireUser({ redirectTo: "/login" });
  // The security settings and their forms: signed in, and the password typed within freshSeconds.
  const fresh = requireUser(freshOptions(freshSeconds, SECURITY_PAGE));
  const confirmHandler = confirmPasswordHandlers(reauthenticateHandler);

  // HTML pages: forms post here and are redirected on success and on failure.
  app.get("/login", (c) => c.html(loginPage(flash(c))));
  app.get("/register", (c) => c.html(registerPage(flash(c))));
  // A right password on an account with two-factor authentication leads to the code page.
  app.post(
    "/login",
    loginHandler({ remember: "checkbox", redirectTo: "/", failureRedirectTo: "/login", twoFactorRedirectTo: TWO_FACTOR.code }),
  );
  app.get(TWO_FACTOR.code, (c) => c.html(loginCodePage(flash(c))));
  app.post(TWO_FACTOR.code, twoFactorHandler({ redirectTo: "/", failureRedirectTo: TWO_FACTOR.code }));
  app.post("/register", registerHandler({ redirectTo: "/", failureRedirectTo: "/register" }));
  app.post("/logout", logoutHandler({ redirectTo: "/login?notice=signed_out" }));
  app.get("/", signedIn, async (c) => {
    const sessions = await manager.listSessions(c.get("user").id);
    // Pages shown only to a signed-in user are never cached (the Back button after signing out).
    return c.html(homePage(c.get("user"), sessions, c.get("session").id, flash(c), { devOutbox }), 200, SIGNED_IN_PAGE_HEADERS);
  });

  // Devices: sign out one by its session id (a form field), or every other one.
  app.post("/sessions/revoke", signedIn, revokeSessionHandler({ redirectTo: "/?notice=device_signed_out", failureRedirectTo: "/" }));
  app.post("/sessions/revoke-others", signedIn, async (c, next) => {
    const count = await otherSessionCount(manager, c.get("user").id, c.get("session").id);
    return revokeOthersHandler(revokeSessionHandler, count)(c, next);
  });

  // Security settings, behind "confirm your password" once the sign-in is older than freshSeconds.
  app.get(SECURITY_PAGE, fresh, async (c) => {
    const twoFactor = await manager.hasTotp(c.get("user").id);
    return c.html(securityPage(c.get("user"), flash(c), { freshSeconds, twoFactor }), 200, SIGNED_IN_PAGE_HEADERS);
  });
  app.post(
    "/account/password",
    fresh,
    changePasswordHandler({ redirectTo: "/?notice=password_changed", failureRedirectTo: `${SECURITY_PAGE}?form=password` }),
  );
  // Email change: the new address gets a link; following it makes the change and tells the old address.
  app.post(
    "/account/email",
    fresh,
    emailChangeHandler({
      sendEmail,
      link: `${appUrl}/confirm-email`,
      // The handler's own freshness rule (default 600 s), here the same window as the guard's.
      fresh: freshSeconds,
      redirectTo: "/?notice=email_change_sent",
      failureRedirectTo: `${SECURITY_PAGE}?form=email`,
    }),
  );
  // Two-factor authentication: set up (QR code, then the first code), turn off, new recovery codes.
  app.post(
    TWO_FACTOR.setup,
    fresh,
    twoFactorStep((c) => beginSetup(manager, c.get("user"))),
  );
  app.post(
    TWO_FACTOR.confirm,
    fresh,
    twoFactorStep(async (c) => confirmSetup(manager, c.get("user"), await formOf(c))),
  );
  app.post(
    TWO_FACTOR.disable,
    fresh,
    twoFactorStep((c) => disable(manager, c.get("user"), readSessionCookie(c))),
  );
  app.post(
    TWO_FACTOR.recoveryCodes,
    fresh,
    twoFactorStep((c) => newRecoveryCodes(manager, c.get("user"), readSessionCookie(c))),
  );
  app.get("/confirm-password", signedIn, (c) =>
    c.html(confirmPasswordPage(c.get("user"), c.req.query("next"), flash(c), { freshSeconds }), 200, SIGNED_IN_PAGE_HEADERS),
  );
  app.post("/confirm-password", signedIn, (c, next) => confirmHandler(c.req.query("next"))(c, next));
  app.get("/confirm-email", confirmEmailChangeHandler({ sendEmail, redirectTo: "/email-changed", failureRedirectTo: "/email-changed" }));
  app.get("/email-changed", (c) => c.html(linkOutcomePage("Email address changed", "Your account has its new email address.", flash(c))));

  // Forgotten password: the request form, then the page the mailed link opens. Showing that
  // page spends nothing; its form posts the token with the new password.
  app.get("/forgot-password", (c) => c.html(forgotPasswordPage(flash(c), { devOutbox })));
  app.post(
    "/forgot-password",
    passwordResetRequestHandler({
      sendEmail,
      link: `${appUrl}/reset-password`,
      redirectTo: "/forgot-password/sent",
      failureRedirectTo: "/forgot-password",
    }),
  );
  app.get("/forgot-password/sent", (c) => c.html(checkInboxPage({ devOutbox })));
  app.get("/reset-password", (c) => c.html(resetPasswordPage(c.req.query("token"), flash(c)), 200, TOKEN_PAGE_HEADERS));
  app.post("/reset-password", passwordResetHandler({ redirectTo: "/login?notice=password_reset", failureRedirectTo: "/reset-password" }));

  // Email verification: the banner's button sends the link, which lands on GET /verify-email.
  app.post(
    "/verify-email/send",
    signedIn,
    emailVerificationRequestHandler({ sendEmail, link: `${appUrl}/verify-email`, redirectTo: "/?notice=verification_sent" }),
  );
  app.get("/verify-email", verifyEmailHandler({ redirectTo: "/email-verified", failureRedirectTo: "/email-verified" }));
  app.get("/email-verified", (c) => c.html(linkOutcomePage("Email address verified", "Your email address is verified.", flash(c))));

  if (devOutbox) {
    app.get("/dev/outbox", (c) => {
      // The connection's own address, whatever TRUST_PROXY says: only this machine may read the outbox.
      if (!isLoopback(getConnInfo(c).remote.address)) return c.html(outboxRefusedPage(), 403, TOKEN_PAGE_HEADERS);
      return c.html(outboxPage(mailer.outbox), 200, TOKEN_PAGE_HEADERS);
    });
  }

  // JSON API.
  app.post("/api/register", registerHandler());
  app.post("/api/login", loginHandler()); // {"twoFactorRequired":true}: POST the code to /api/login/code
  app.post("/api/login/code", twoFactorHandler());
  app.post("/api/logout", logoutHandler());
  app.get("/api/me", requireUser(), (c) => c.json({ user: c.get("user") }, 200, SIGNED_IN_PAGE_HEADERS));
  app.get("/api/sessions", requireUser(), sessionsHandler());
  // Two-factor settings for API clients; each needs the password typed within ten minutes.
  app.post("/api/two-factor/setup", totpSetupHandler());
  app.post("/api/two-factor/confirm", totpConfirmHandler());
  app.post("/api/two-factor/disable", totpDisableHandler());
  app.post("/api/two-factor/recovery-codes", recoveryCodesHandler());
  app.delete("/api/sessions/:id", requireUser(), revokeSessionHandler());
  return app;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const settings = readSettings(process.env);
  // SQLite file sessions.db in the current directory; the two-factor key from TOTP_SECRET_KEY or totp-secret.key beside it.
  const manager = new SessionManager({ onEvent: logDeliveryFailures, totp: totpOptions(settings) });
  const mailer = createMailer({ smtpUrl: settings.smtpUrl, from: settings.mailFrom });
  // createApp takes what it needs of the settings: appUrl, origin, freshSeconds, trustProxy.
  const app = createApp(manager, { ...settings, mailer });
  await listen(app, settings);
}

/** Serves the app with the runtime's own server; each passes what its getConnInfo reads to app.fetch. */
async function listen(app, { port, host, appUrl }) {
  const name = { node: "Node.js", bun: "Bun", deno: "Deno" }[RUNTIME];
  const listening = (actualPort) => console.log(listeningMessage(`Hono (${name})`, host, actualPort, appUrl));
  if (RUNTIME === "bun") {
    const server = globalThis.Bun.serve({ fetch: app.fetch, port, hostname: host });
    listening(server.port);
  } else if (RUNTIME === "deno") {
    globalThis.Deno.serve({ port, hostname: host, onListen: (address) => listening(address.port) }, app.fetch);
  } else {
    const { serve } = await import("@hono/node-server");
    serve({ fetch: app.fetch, port, hostname: host }, (info) => listening(info.port));
  }
}
