// A complete Express app on session-manager: HTML pages and a JSON API.
// Run it with `npm start` (builds first), then open http://localhost:3000.
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import express from "express";
import { SessionManager, readSessionCookie } from "session-manager";
import {
  confirmEmailChangeHandler,
  emailChangeHandler,
  emailVerificationRequestHandler,
  loginHandler,
  logoutHandler,
  passwordResetHandler,
  passwordResetRequestHandler,
  registerHandler,
  requireUser,
  sessionMiddleware,
  verifyEmailHandler,
} from "session-manager/express";
import { createMailer, isLoopback, logDeliveryFailures } from "../mail.mjs";
import {
  checkInboxPage,
  forgotPasswordPage,
  homePage,
  linkOutcomePage,
  loginPage,
  outboxPage,
  outboxRefusedPage,
  registerPage,
  resetPasswordPage,
  TOKEN_PAGE_HEADERS,
} from "../pages.mjs";
import { readSettings } from "../settings.mjs";

/**
 * Builds the app around a SessionManager. `appUrl`: the absolute origin the links in mail point
 * at; `origin`: the public origin for the CSRF check, when the app runs behind a proxy;
 * `mailer`: from `createMailer()`.
 */
export function createApp(manager, { appUrl, origin, mailer }) {
  const app = express();
  app.use(sessionMiddleware({ manager, origin }));
  const { sendEmail } = mailer;
  const devOutbox = mailer.outbox !== null;
  const signedIn = requireUser({ redirectTo: "/login" });

  // HTML pages: forms post here and are redirected on success and on failure.
  app.get("/login", (req, res) => res.type("html").send(loginPage(req.query.error, req.query.notice)));
  app.get("/register", (req, res) => res.type("html").send(registerPage(req.query.error)));
  app.post("/login", loginHandler({ redirectTo: "/", failureRedirectTo: "/login" }));
  app.post("/register", registerHandler({ redirectTo: "/", failureRedirectTo: "/register" }));
  app.post("/logout", logoutHandler({ redirectTo: "/login" }));
  app.get("/", signedIn, async (req, res) => {
    const sessions = await manager.listSessions(req.user.id);
    const view = { notice: req.query.notice, error: req.query.error, devOutbox };
    res.type("html").send(homePage(req.user, sessions, req.authSession.id, view));
  });
  app.post("/sessions/revoke-others", signedIn, async (req, res) => {
    await manager.revokeOtherSessions(readSessionCookie(req.headers.cookie));
    res.redirect(303, "/");
  });

  // Forgotten password: the request form, then the page the mailed link opens. Showing that
  // page spends nothing; its form posts the token with the new password.
  app.get("/forgot-password", (req, res) => res.type("html").send(forgotPasswordPage(req.query.error, { devOutbox })));
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
    res.type("html").send(resetPasswordPage(req.query.token, req.query.error));
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
    res.type("html").send(linkOutcomePage("Email address verified", "Your email address is verified.", req.query.error)),
  );

  // Email change: the new address gets a link; following it makes the change and tells the old address.
  app.post(
    "/account/email",
    signedIn,
    emailChangeHandler({ sendEmail, link: `${appUrl}/confirm-email`, redirectTo: "/?notice=email_change_sent", failureRedirectTo: "/" }),
  );
  app.get("/confirm-email", confirmEmailChangeHandler({ sendEmail, redirectTo: "/email-changed", failureRedirectTo: "/email-changed" }));
  app.get("/email-changed", (req, res) =>
    res.type("html").send(linkOutcomePage("Email address changed", "Your account has its new email address.", req.query.error)),
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
  app.post("/api/login", loginHandler());
  app.post("/api/logout", logoutHandler());
  app.get("/api/me", requireUser(), (req, res) => res.json({ user: req.user }));
  app.get("/api/sessions", requireUser(), async (req, res) => res.json({ sessions: await manager.listSessions(req.user.id) }));
  return app;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const settings = readSettings(process.env);
  const manager = new SessionManager({ onEvent: logDeliveryFailures }); // SQLite file sessions.db in the current directory
  const mailer = createMailer({ smtpUrl: settings.smtpUrl, from: settings.mailFrom });
  const server = createApp(manager, { appUrl: settings.appUrl, origin: settings.origin, mailer }).listen(settings.port, () => {
    console.log(`Express example listening on http://localhost:${server.address().port} (links in mail: ${settings.appUrl})`);
  });
}
