// A complete Koa app on session-manager: HTML pages and a JSON API.
// Run it with `npm run build && node examples/koa/server.mjs`, then open http://127.0.0.1:3000.
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Koa from "koa";
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
} from "session-manager/koa";
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

/**
 * Koa has no router of its own; this one maps "METHOD /path" to a chain of middleware. A path
 * segment written `:name` matches any one segment and is put in `ctx.params`, where the
 * adapter's handlers look for a route parameter (as @koa/router does).
 */
function router(routes) {
  const patterns = Object.entries(routes).map(([route, chain]) => {
    const [method, path] = route.split(" ");
    return { method, segments: path.split("/"), chain };
  });
  return async (ctx, next) => {
    const segments = ctx.path.split("/");
    for (const { method, segments: pattern, chain } of patterns) {
      if (method !== ctx.method || pattern.length !== segments.length) continue;
      const params = {};
      const matches = pattern.every((part, index) => {
        if (!part.startsWith(":")) return part === segments[index];
        const value = decodeSegment(segments[index]);
        if (value === null) return false;
        params[part.slice(1)] = value;
        return true;
      });
      if (!matches) continue;
      ctx.params = params;
      const run = (index) => chain[index]?.(ctx, () => run(index + 1));
      return run(0);
    }
    return next();
  };
}

// A path segment with its %-escapes decoded; null when empty or malformed (no match, not a 500).
function decodeSegment(segment) {
  if (segment === "") return null;
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

function html(render) {
  return (ctx) => {
    ctx.type = "html";
    ctx.body = render(ctx);
  };
}

// Pages shown only to a signed-in user: never cached (the Back button after signing out).
function signedInPage(render) {
  return (ctx) => {
    ctx.set(SIGNED_IN_PAGE_HEADERS);
    return html(render)(ctx);
  };
}

// The reset page and the outbox hold tokens: see TOKEN_PAGE_HEADERS.
function tokenPage(middleware) {
  return (ctx, next) => {
    ctx.set(TOKEN_PAGE_HEADERS);
    return middleware(ctx, next);
  };
}

const flash = (ctx) => flashOf((name) => ctx.query[name]);

// Runs a step of ../two-factor.mjs and sends what it answered: a signed-in page, or a redirect.
function twoFactorStep(step) {
  return async (ctx) => {
    const { html, status = 200, redirect } = await step(ctx);
    if (redirect !== undefined) {
      ctx.status = 303;
      return ctx.redirect(redirect);
    }
    ctx.set(SIGNED_IN_PAGE_HEADERS);
    ctx.type = "html";
    ctx.status = status;
    ctx.body = html;
  };
}

/**
 * Builds the app around a SessionManager. `appUrl`: the absolute origin the links in mail point
 * at; `origin`: the public origin for the CSRF check, when the app runs behind a proxy;
 * `mailer`: from `createMailer()`; `freshSeconds`: how long after the password was typed the
 * security settings open without asking for it again; `trustProxy`: how many reverse proxies
 * stand in front (0: none, the connection's address is the client's).
 */
export function createApp(manager, { appUrl, origin, mailer, freshSeconds = 600, trustProxy = 0 }) {
  const app = new Koa();
  // ctx.ip, which login throttling counts by, is then the address the outermost proxy appended.
  if (trustProxy > 0) Object.assign(app, { proxy: true, maxIpsCount: trustProxy });
  app.use(sessionMiddleware({ manager, origin }));
  const { sendEmail } = mailer;
  const devOutbox = mailer.outbox !== null;
  const signedIn = requireUser({ redirectTo: "/login" });
  // The security settings and their forms: signed in, and the password typed within freshSeconds.
  const fresh = requireUser(freshOptions(freshSeconds, SECURITY_PAGE));
  const confirmHandler = confirmPasswordHandlers(reauthenticateHandler);
  const routes = {
    // HTML pages: forms post here and are redirected on success and on failure.
    "GET /login": [html((ctx) => loginPage(flash(ctx)))],
    "GET /register": [html((ctx) => registerPage(flash(ctx)))],
    // A right password on an account with two-factor authentication leads to the code page.
    "POST /login": [
      loginHandler({ remember: "checkbox", redirectTo: "/", failureRedirectTo: "/login", twoFactorRedirectTo: TWO_FACTOR.code }),
    ],
    [`GET ${TWO_FACTOR.code}`]: [html((ctx) => loginCodePage(flash(ctx)))],
    [`POST ${TWO_FACTOR.code}`]: [twoFactorHandler({ redirectTo: "/", failureRedirectTo: TWO_FACTOR.code })],
    "POST /register": [registerHandler({ redirectTo: "/", failureRedirectTo: "/register" })],
    "POST /logout": [logoutHandler({ redirectTo: "/login?notice=signed_out" })],
    "GET /": [
      signedIn,
      async (ctx) => {
        const sessions = await manager.listSessions(ctx.state.user.id);
        ctx.set(SIGNED_IN_PAGE_HEADERS);
        ctx.type = "html";
        ctx.body = homePage(ctx.state.user, sessions, ctx.state.session.id, flash(ctx), { devOutbox });
      },
    ],

    // Devices: sign out one by its session id (a form field), or every other one.
    "POST /sessions/revoke": [signedIn, revokeSessionHandler({ redirectTo: "/?notice=device_signed_out", failureRedirectTo: "/" })],
    "POST /sessions/revoke-others": [
      signedIn,
      async (ctx, next) => {
        const count = await otherSessionCount(manager, ctx.state.user.id, ctx.state.session.id);
        return revokeOthersHandler(revokeSessionHandler, count)(ctx, next);
      },
    ],

    // Security settings, behind "confirm your password" once the sign-in is older than freshSeconds.
    [`GET ${SECURITY_PAGE}`]: [
      fresh,
      async (ctx, next) => {
        ctx.state.twoFactor = await manager.hasTotp(ctx.state.user.id);
        return next();
      },
      signedInPage((ctx) => securityPage(ctx.state.user, flash(ctx), { freshSeconds, twoFactor: ctx.state.twoFactor })),
    ],
    "POST /account/password": [
      fresh,
      changePasswordHandler({ redirectTo: "/?notice=password_changed", failureRedirectTo: `${SECURITY_PAGE}?form=password` }),
    ],
    // Email change: the new address gets a link; following it makes the change and tells the old address.
    "POST /account/email": [
      fresh,
      emailChangeHandler({
        sendEmail,
        link: `${appUrl}/confirm-email`,
        // The handler's own freshness rule (default 600 s), here the same window as the guard's.
        fresh: freshSeconds,
        redirectTo: "/?notice=email_change_sent",
        failureRedirectTo: `${SECURITY_PAGE}?form=email`,
      }),
    ],
    // Two-factor authentication: set up (QR code, then the first code), turn off, new recovery codes.
    [`POST ${TWO_FACTOR.setup}`]: [fresh, twoFactorStep((ctx) => beginSetup(manager, ctx.state.user))],
    [`POST ${TWO_FACTOR.confirm}`]: [fresh, twoFactorStep(async (ctx) => confirmSetup(manager, ctx.state.user, await readForm(ctx.req)))],
    [`POST ${TWO_FACTOR.disable}`]: [fresh, twoFactorStep((ctx) => disable(manager, ctx.state.user, readSessionCookie(ctx)))],
    [`POST ${TWO_FACTOR.recoveryCodes}`]: [
      fresh,
      twoFactorStep((ctx) => newRecoveryCodes(manager, ctx.state.user, readSessionCookie(ctx))),
    ],
    "GET /confirm-password": [
      signedIn,
      signedInPage((ctx) => confirmPasswordPage(ctx.state.user, ctx.query.next, flash(ctx), { freshSeconds })),
    ],
    "POST /confirm-password": [signedIn, (ctx, next) => confirmHandler(ctx.query.next)(ctx, next)],
    "GET /confirm-email": [confirmEmailChangeHandler({ sendEmail, redirectTo: "/email-changed", failureRedirectTo: "/email-changed" })],
    "GET /email-changed": [html((ctx) => linkOutcomePage("Email address changed", "Your account has its new email address.", flash(ctx)))],

    // Forgotten password: the request form, then the page the mailed link opens. Showing that
    // page spends nothing; its form posts the token with the new password.
    "GET /forgot-password": [html((ctx) => forgotPasswordPage(flash(ctx), { devOutbox }))],
    "POST /forgot-password": [
      passwordResetRequestHandler({
        sendEmail,
        link: `${appUrl}/reset-password`,
        redirectTo: "/forgot-password/sent",
        failureRedirectTo: "/forgot-password",
      }),
    ],
    "GET /forgot-password/sent": [html(() => checkInboxPage({ devOutbox }))],
    "GET /reset-password": [tokenPage(html((ctx) => resetPasswordPage(ctx.query.token, flash(ctx))))],
    "POST /reset-password": [passwordResetHandler({ redirectTo: "/login?notice=password_reset", failureRedirectTo: "/reset-password" })],

    // Email verification: the banner's button sends the link, which lands on GET /verify-email.
    "POST /verify-email/send": [
      signedIn,
      emailVerificationRequestHandler({ sendEmail, link: `${appUrl}/verify-email`, redirectTo: "/?notice=verification_sent" }),
    ],
    "GET /verify-email": [verifyEmailHandler({ redirectTo: "/email-verified", failureRedirectTo: "/email-verified" })],
    "GET /email-verified": [html((ctx) => linkOutcomePage("Email address verified", "Your email address is verified.", flash(ctx)))],

    // JSON API.
    "POST /api/register": [registerHandler()],
    "POST /api/login": [loginHandler()], // {"twoFactorRequired":true}: POST the code to /api/login/code
    "POST /api/login/code": [twoFactorHandler()],
    "POST /api/logout": [logoutHandler()],
    "GET /api/me": [
      requireUser(),
      (ctx) => {
        ctx.set(SIGNED_IN_PAGE_HEADERS);
        ctx.body = { user: ctx.state.user };
      },
    ],
    "GET /api/sessions": [requireUser(), sessionsHandler()],
    // Two-factor settings for API clients; each needs the password typed within ten minutes.
    "POST /api/two-factor/setup": [totpSetupHandler()],
    "POST /api/two-factor/confirm": [totpConfirmHandler()],
    "POST /api/two-factor/disable": [totpDisableHandler()],
    "POST /api/two-factor/recovery-codes": [recoveryCodesHandler()],
    "DELETE /api/sessions/:id": [requireUser(), revokeSessionHandler()],
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
  // SQLite file sessions.db in the current directory; the two-factor key from TOTP_SECRET_KEY or totp-secret.key beside it.
  const manager = new SessionManager({ onEvent: logDeliveryFailures, totp: totpOptions(settings) });
  const mailer = createMailer({ smtpUrl: settings.smtpUrl, from: settings.mailFrom });
  // createApp takes what it needs of the settings: appUrl, origin, freshSeconds, trustProxy.
  const app = createApp(manager, { ...settings, mailer });
  const server = app.listen(settings.port, settings.host, () => {
    console.log(listeningMessage("Koa", settings.host, server.address().port, settings.appUrl));
  });
}
