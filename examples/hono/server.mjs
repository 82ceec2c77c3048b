// A complete Hono app on session-manager (Node.js through @hono/node-server): HTML pages and a JSON API.
// Run it with `npm run build && node examples/hono/server.mjs`, then open http://localhost:3000.
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
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
} from "session-manager/hono";
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
  const app = new Hono();
  app.use(sessionMiddleware({ manager, origin }));
  const { sendEmail } = mailer;
  const devOutbox = mailer.outbox !== null;
  const signedIn = requireUser({ redirectTo: "/login" });

  // HTML pages: forms post here and are redirected on success and on failure.
  app.get("/login", (c) => c.html(loginPage(c.req.query("error"), c.req.query("notice"))));
  app.get("/register", (c) => c.html(registerPage(c.req.query("error"))));
  app.post("/login", loginHandler({ redirectTo: "/", failureRedirectTo: "/login" }));
  app.post("/register", registerHandler({ redirectTo: "/", failureRedirectTo: "/register" }));
  app.post("/logout", logoutHandler({ redirectTo: "/login" }));
  app.get("/", signedIn, async (c) => {
    const sessions = await manager.listSessions(c.get("user").id);
    const view = { notice: c.req.query("notice"), error: c.req.query("error"), devOutbox };
    return c.html(homePage(c.get("user"), sessions, c.get("session").id, view));
  });
  app.post("/sessions/revoke-others", signedIn, async (c) => {
    await manager.revokeOtherSessions(readSessionCookie(c.req.header("cookie")));
    return c.redirect("/", 303);
  });

  // Forgotten password: the request form, then the page the mailed link opens. Showing that
  // page spends nothing; its form posts the token with the new password.
  app.get("/forgot-password", (c) => c.html(forgotPasswordPage(c.req.query("error"), { devOutbox })));
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
  app.get("/reset-password", (c) => c.html(resetPasswordPage(c.req.query("token"), c.req.query("error")), 200, TOKEN_PAGE_HEADERS));
  app.post("/reset-password", passwordResetHandler({ redirectTo: "/login?notice=password_reset", failureRedirectTo: "/reset-password" }));

  // Email verification: the banner's button sends the link, which lands on GET /verify-email.
  app.post(
    "/verify-email/send",
    signedIn,
    emailVerificationRequestHandler({ sendEmail, link: `${appUrl}/verify-email`, redirectTo: "/?notice=verification_sent" }),
  );
  app.get("/verify-email", verifyEmailHandler({ redirectTo: "/email-verified", failureRedirectTo: "/email-verified" }));
  app.get("/email-verified", (c) =>
    c.html(linkOutcomePage("Email address verified", "Your email address is verified.", c.req.query("error"))),
  );

  // Email change: the new address gets a link; following it makes the change and tells the old address.
  app.post(
    "/account/email",
    signedIn,
    emailChangeHandler({ sendEmail, link: `${appUrl}/confirm-email`, redirectTo: "/?notice=email_change_sent", failureRedirectTo: "/" }),
  );
  app.get("/confirm-email", confirmEmailChangeHandler({ sendEmail, redirectTo: "/email-changed", failureRedirectTo: "/email-changed" }));
  app.get("/email-changed", (c) =>
    c.html(linkOutcomePage("Email address changed", "Your account has its new email address.", c.req.query("error"))),
  );

  if (devOutbox) {
    app.get("/dev/outbox", (c) => {
      // @hono/node-server passes the Node.js request as c.env.incoming.
      if (!isLoopback(c.env?.incoming?.socket?.remoteAddress)) return c.html(outboxRefusedPage(), 403, TOKEN_PAGE_HEADERS);
      return c.html(outboxPage(mailer.outbox), 200, TOKEN_PAGE_HEADERS);
    });
  }

  // JSON API.
  app.post("/api/register", registerHandler());
  app.post("/api/login", loginHandler());
  app.post("/api/logout", logoutHandler());
  app.get("/api/me", requireUser(), (c) => c.json({ user: c.get("user") }));
  app.get("/api/sessions", requireUser(), async (c) => c.json({ sessions: await manager.listSessions(c.get("user").id) }));
  return app;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const settings = readSettings(process.env);
  const manager = new SessionManager({ onEvent: logDeliveryFailures }); // SQLite file sessions.db in the current directory
  const mailer = createMailer({ smtpUrl: settings.smtpUrl, from: settings.mailFrom });
  const app = createApp(manager, { appUrl: settings.appUrl, origin: settings.origin, mailer });
  serve({ fetch: app.fetch, port: settings.port }, (info) => {
    console.log(`Hono example listening on http://localhost:${info.port} (links in mail: ${settings.appUrl})`);
  });
}
