// A complete Express app on session-manager: HTML pages and a JSON API.
// Run it with `npm start` (builds first), then open http://127.0.0.1:3000.
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import express from "express";
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
  withUser,
} from "session-manager/express";
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
import { beginSetup, confirmSetup, disable, newRecoveryCodes, readForm } from "../two-factor.mjs";

const flash = (req) => flashOf((name) => req.query[name]);

// Sends what a step of ../two-factor.mjs answered: a signed-in page, or a redirect.
function reply(res, { html, status = 200, redirect }) {
  if (redirect !== undefined) return res.redirect(303, redirect);
  res.set(SIGNED_IN_PAGE_HEADERS).status(status).type("html").send(html);
}

/**
 * Builds the app around a SessionManager. `appUrl`: the absolute origin the links in mail point
 * at; `origin`: the public origin for the CSRF check, when the app runs behind a proxy;
 * `mailer`: from `createMailer()`; `freshSeconds`: how long after the password was typed the
 * security settings open without asking for it again; `trustProxy`: how many reverse proxies
 * stand in front (0: none, the connection's address is the client's).
 */
export function createApp(manager, { appUrl, origin, mailer, freshSeconds = 600, trustProxy = 0 }) {
  const app = express();
  // req.ip, which login throttling counts by, is then the address the outermost proxy appended.
  if (trustProxy > 0) app.set("trust proxy", trustProxy);
  app.use(sessionMiddleware({ manager, origin }));
  const { sendEmail } = mailer;
  const devOutbox = mailer.outbox !== null;
  const signedIn = requireUser({ redirectTo: "/login" });
  // The security settings and their forms: signed in, and the password typed within freshSeconds.
  const fresh = freshOptions(freshSeconds, SECURITY_PAGE);
  const confirmHandler = confirmPasswordHandlers(reauthenticateHandler);

  // HTML pages: forms post here and are redirected on success and on failure.
  app.get("/login", (req, res) => res.type("html").send(loginPage(flash(req))));
  app.get("/register", (req, res) => res.type("html").send(registerPage(flash(req))));
  // A right password on an account with two-factor authentication leads to the code page.
  app.post(
    "/login",
    loginHandler({ remember: "checkbox", redirectTo: "/", failureRedirectTo: "/login", twoFactorRedirectTo: TWO_FACTOR.code }),
  );
  app.get(TWO_FACTOR.code, (req, res) => res.type("html").send(loginCodePage(flash(req))));
  app.post(TWO_FACTOR.code, twoFactorHandler({ redirectTo: "/", failureRedirectTo: TWO_FACTOR.code }));
  app.post("/register", registerHandler({ redirectTo: "/", failureRedirectTo: "/register" }));
  app.post("/logout", logoutHandler({ redirectTo: "/login?notice=signed_out" }));
  app.get(
    "/",
    withUser(
      async (req, res) => {
        const sessions = await manager.listSessions(req.user.id);
        res.set(SIGNED_IN_PAGE_HEADERS);
        res.type("html").send(homePage(req.user, sessions, req.authSession.id, flash(req), { devOutbox }));
      },
      { redirectTo: "/login" },
    ),
  );

  // Devices: sign out one by its session id (a form field), or every other one.
  app.post("/sessions/revoke", signedIn, revokeSessionHandler({ redirectTo: "/?notice=device_signed_out", failureRedirectTo: "/" }));
  app.post("/sessions/revoke-others", signedIn, async (req, res, next) => {
    const count = await otherSessionCount(manager, req.user.id, req.authSession.id);
    return revokeOthersHandler(revokeSessionHandler, count)(req, res, next);
  });

  // Security settings, behind "confirm your password" once the sign-in is older than freshSeconds.
  app.get(
    SECURITY_PAGE,
    withUser(async (req, res) => {
      const twoFactor = await manager.hasTotp(req.user.id);
      res.set(SIGNED_IN_PAGE_HEADERS);
      res.type("html").send(securityPage(req.user, flash(req), { freshSeconds, twoFactor }));
    }, fresh),
  );
  app.post(
    "/account/password",
    requireUser(fresh),
    changePasswordHandler({ redirectTo: "/?notice=password_changed", failureRedirectTo: `${SECURITY_PAGE}?form=password` }),
  );
  // Email change: the new address gets a link; following it makes the change and tells the old address.
  app.post(
    "/account/email",
    requireUser(fresh),
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
  app.post(TWO_FACTOR.setup, requireUser(fresh), async (req, res) => reply(res, await beginSetup(manager, req.user)));
  app.post(TWO_FACTOR.confirm, requireUser(fresh), async (req, res) =>
    reply(res, await confirmSetup(manager, req.user, await readForm(req))),
  );
  app.post(TWO_FACTOR.disable, requireUser(fresh), async (req, res) =>
    reply(res, await disable(manager, req.user, readSessionCookie(req))),
  );
  app.post(TWO_FACTOR.recoveryCodes, requireUser(fresh), async (req, res) =>
    reply(res, await newRecoveryCodes(manager, req.user, readSessionCookie(req))),
  );
  app.get(
    "/confirm-password",
    withUser(
      (req, res) => {
        res.set(SIGNED_IN_PAGE_HEADERS);
        res.type("html").send(confirmPasswordPage(req.user, req.query.next, flash(req), { freshSeconds }));
      },
      { redirectTo: "/login" },
    ),
  );
  app.post("/confirm-password", signedIn, (req, res, next) => confirmHandler(req.query.next)(req, res, next));
  app.get("/confirm-email", confirmEmailChangeHandler({ sendEmail, redirectTo: "/email-changed", failureRedirectTo: "/email-changed" }));
  app.get("/email-changed", (req, res) =>
    res.type("html").send(linkOutcomePage("Email address changed", "Your account has its new email address.", flash(req))),
  );

  // Forgotten password: the request form, then the page the mailed link opens. Showing that
  // page spends nothing; its form posts the token with the new password.
  app.get("/forgot-password", (req, res) => res.type("html").send(forgotPasswordPage(flash(req), { devOutbox })));
  app.post(
    "/forgot-password",
    passwordResetRequestHandler({
      sendEmail,
      link: `${appUrl}/reset-password`,
      redirectTo: "/forgot-password/sent",
      failureRedirectTo: "/forgot-password",
    }),
  );
  app.get("/forgot-password/sent", (req, res) => res.type("html").send(checkInboxPage({ devOutbox })));
  app.get("/reset-password", (req, res) => {
    res.set(TOKEN_PAGE_HEADERS);
    res.type("html").send(resetPasswordPage(req.query.token, flash(req)));
  });
  app.post("/reset-password", passwordResetHandler({ redirectTo: "/login?notice=password_reset", failureRedirectTo: "/reset-password" }));

  // Email verification: the banner's button sends the link, which lands on GET /verify-email.
  app.post(
    "/verify-email/send",
    signedIn,
    emailVerificationRequestHandler({ sendEmail, link: `${appUrl}/verify-email`, redirectTo: "/?notice=verification_sent" }),
  );
  app.get("/verify-email", verifyEmailHandler({ redirectTo: "/email-verified", failureRedirectTo: "/email-verified" }));
  app.get("/email-verified", (req, res) =>
    res.type("html").send(linkOutcomePage("Email address verified", "Your email address is verified.", flash(req))),
  );

  if (devOutbox) {
    app.get("/dev/outbox", (req, res) => {
      res.set(TOKEN_PAGE_HEADERS);
      if (!isLoopback(req.socket.remoteAddress)) return res.status(403).type("html").send(outboxRefusedPage());
      res.type("html").send(outboxPage(mailer.outbox));
    });
  }

  // JSON API.
  app.post("/api/register", registerHandler());
  app.post("/api/login", loginHandler()); // {"twoFactorRequired":true}: POST the code to /api/login/code
  app.post("/api/login/code", twoFactorHandler());
  app.post("/api/logout", logoutHandler());
  app.get(
    "/api/me",
    withUser((req, res) => res.set(SIGNED_IN_PAGE_HEADERS).json({ user: req.user })),
  );
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
  const server = app.listen(settings.port, settings.host, (error) => {
    if (error) throw error;
    console.log(listeningMessage("Express", settings.host, server.address().port, settings.appUrl));
  });
}
