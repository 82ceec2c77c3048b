// A complete Koa app on session-manager: HTML pages and a JSON API.
// Run it with `npm run build && node examples/koa/server.mjs`, then open http://localhost:3000.
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Koa from "koa";
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
} from "session-manager/koa";
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

// Koa has no router of its own; this one maps "METHOD /path" to a chain of middleware.
function router(routes) {
  return async (ctx, next) => {
    const chain = routes[`${ctx.method} ${ctx.path}`];
    if (chain === undefined) return next();
    const run = (index) => chain[index]?.(ctx, () => run(index + 1));
    await run(0);
  };
}

function html(render) {
  return (ctx) => {
    ctx.type = "html";
    ctx.body = render(ctx);
  };
}

// The reset page and the outbox hold tokens: see TOKEN_PAGE_HEADERS.
function tokenPage(middleware) {
  return (ctx, next) => {
    ctx.set(TOKEN_PAGE_HEADERS);
    return middleware(ctx, next);
  };
}

/**
 * Builds the app around a SessionManager. `appUrl`: the absolute origin the links in mail point
 * at; `origin`: the public origin for the CSRF check, when the app runs behind a proxy;
 * `mailer`: from `createMailer()`.
 */
export function createApp(manager, { appUrl, origin, mailer }) {
  const app = new Koa();
  app.use(sessionMiddleware({ manager, origin }));
  const { sendEmail } = mailer;
  const devOutbox = mailer.outbox !== null;
  const signedIn = requireUser({ redirectTo: "/login" });
  const routes = {
    // HTML pages: forms post here and are redirected on success and on failure.
    "GET /login": [html((ctx) => loginPage(ctx.query.error, ctx.query.notice))],
    "GET /register": [html((ctx) => registerPage(ctx.query.error))],
    "POST /login": [loginHandler({ redirectTo: "/", failureRedirectTo: "/login" })],
    "POST /register": [registerHandler({ redirectTo: "/", failureRedirectTo: "/register" })],
    "POST /logout": [logoutHandler({ redirectTo: "/login" })],
    "GET /": [
      signedIn,
      async (ctx) => {
        const sessions = await manager.listSessions(ctx.state.user.id);
        const view = { notice: ctx.query.notice, error: ctx.query.error, devOutbox };
        ctx.type = "html";
        ctx.body = homePage(ctx.state.user, sessions, ctx.state.session.id, view);
      },
    ],
    "POST /sessions/revoke-others": [
      signedIn,
      async (ctx) => {
        await manager.revokeOtherSessions(readSessionCookie(ctx.get("cookie")));
        ctx.status = 303;
        ctx.redirect("/");
      },
    ],

    // Forgotten password: the request form, then the page the mailed link opens. Showing that
    // page spends nothing; its form posts the token with the new password.
    "GET /forgot-password": [html((ctx) => forgotPasswordPage(ctx.query.error, { devOutbox }))],
    "POST /forgot-password": [
      passwordResetRequestHandler({
        sendEmail,
        link: `${appUrl}/reset-password`,
        redirectTo: "/forgot-password/sent",
        failureRedirectTo: "/forgot-password",
      }),
    ],
    "GET /forgot-password/sent": [html(() => checkInboxPage({ devOutbox }))],
    "GET /reset-password": [tokenPage(html((ctx) => resetPasswordPage(ctx.query.token, ctx.query.error)))],
    "POST /reset-password": [passwordResetHandler({ redirectTo: "/login?notice=password_reset", failureRedirectTo: "/reset-password" })],

    // Email verification: the banner's button sends the link, which lands on GET /verify-email.
    "POST /verify-email/send": [
      signedIn,
      emailVerificationRequestHandler({ sendEmail, link: `${appUrl}/verify-email`, redirectTo: "/?notice=verification_sent" }),
    ],
    "GET /verify-email": [verifyEmailHandler({ redirectTo: "/email-verified", failureRedirectTo: "/email-verified" })],
    "GET /email-verified": [html((ctx) => linkOutcomePage("Email address verified", "Your email address is verified.", ctx.query.error))],

    // Email change: the new address gets a link; following it makes the change and tells the old address.
    "POST /account/email": [
      signedIn,
      emailChangeHandler({ sendEmail, link: `${appUrl}/confirm-email`, redirectTo: "/?notice=email_change_sent", failureRedirectTo: "/" }),
    ],
    "GET /confirm-email": [confirmEmailChangeHandler({ sendEmail, redirectTo: "/email-changed", failureRedirectTo: "/email-changed" })],
    "GET /email-changed": [
      html((ctx) => linkOutcomePage("Email address changed", "Your account has its new email address.", ctx.query.error)),
    ],

    // JSON API.
    "POST /api/register": [registerHandler()],
    "POST /api/login": [loginHandler()],
    "POST /api/logout": [logoutHandler()],
    "GET /api/me": [requireUser(), (ctx) => void (ctx.body = { user: ctx.state.user })],
    "GET /api/sessions": [requireUser(), async (ctx) => void (ctx.body = { sessions: await manager.listSessions(ctx.state.user.id) })],
  };
  if (devOutbox) {
    routes["GET /dev/outbox"] = [
      tokenPage((ctx) => {
        ctx.type = "html";
        if (isLoopback(ctx.req.socket.remoteAddress)) ctx.body = outboxPage(mailer.outbox);
        else {
          ctx.body = outboxRefusedPage();
          ctx.status = 403;
        }
      }),
    ];
  }
  app.use(router(routes));
  return app;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const settings = readSettings(process.env);
  const manager = new SessionManager({ onEvent: logDeliveryFailures }); // SQLite file sessions.db in the current directory
  const mailer = createMailer({ smtpUrl: settings.smtpUrl, from: settings.mailFrom });
  const server = createApp(manager, { appUrl: settings.appUrl, origin: settings.origin, mailer }).listen(settings.port, () => {
    console.log(`Koa example listening on http://localhost:${server.address().port} (links in mail: ${settings.appUrl})`);
  });
}
