import type { RequestListener } from "node:http";
import { getRequestListener } from "@hono/node-server";
import express, { type ErrorRequestHandler } from "express";
import { Hono } from "hono";
import Koa, { type Middleware } from "koa";
import * as expressAdapter from "session-manager/express";
import * as honoAdapter from "session-manager/hono";
import * as koaAdapter from "session-manager/koa";
import type { SendEmail } from "session-manager";
import { LINKS, type AppSetup } from "./shared-suite.js";

/** The mail function the recovery handlers get: the test's, else one that drops the message. */
function mailer(setup: AppSetup): SendEmail {
  return setup.sendEmail ?? (() => {});
}

// The reset form's page takes the user back to the form, token kept, when the password is refused.
const RESET_FORM = { redirectTo: "/sign-in", failureRedirectTo: "/choose-password" };

export function createExpressApp(setup: AppSetup): RequestListener {
  const app = express();
  if (setup.trustProxy) app.set("trust proxy", true);
  app.use(expressAdapter.sessionMiddleware({ ...setup.options, manager: setup.manager }));
  if (setup.frameworkBodyParser) app.use(express.json(), express.urlencoded({ extended: false }));
  const form = { redirectTo: "/home", failureRedirectTo: "/sign-in" };
  app.post("/register", expressAdapter.registerHandler());
  app.post("/login", expressAdapter.loginHandler());
  app.post("/logout", expressAdapter.logoutHandler());
  app.post("/form/register", expressAdapter.registerHandler(form));
  app.post("/form/login", expressAdapter.loginHandler({ ...form, twoFactorRedirectTo: "/code" }));
  app.post("/two-factor", expressAdapter.twoFactorHandler());
  app.post("/form/two-factor", expressAdapter.twoFactorHandler({ redirectTo: "/home", failureRedirectTo: "/code" }));
  app.post("/form/logout", expressAdapter.logoutHandler({ redirectTo: "/sign-in" }));
  const sendEmail = mailer(setup);
  app.post("/forgot-password", expressAdapter.passwordResetRequestHandler({ sendEmail, link: LINKS.reset }));
  app.all("/reset-password", expressAdapter.passwordResetHandler());
  app.post("/form/reset-password", expressAdapter.passwordResetHandler(RESET_FORM));
  app.post("/send-verification", expressAdapter.emailVerificationRequestHandler({ sendEmail, link: LINKS.verify }));
  const verify = expressAdapter.verifyEmailHandler();
  app.get("/verify-email", verify);
  app.post("/verify-email", verify);
  app.get("/form/verify-email", expressAdapter.verifyEmailHandler(form));
  app.post("/change-email", expressAdapter.emailChangeHandler({ sendEmail, link: LINKS.confirm }));
  const confirm = expressAdapter.confirmEmailChangeHandler({ sendEmail });
  app.get("/confirm-email", confirm);
  app.post("/confirm-email", confirm);
  app.post("/quiet/confirm-email", expressAdapter.confirmEmailChangeHandler());
  app.get("/me", expressAdapter.requireUser(), (req, res) => {
    res.json({ username: req.user?.username, sessionId: req.authSession?.id });
  });
  app.get("/page", expressAdapter.requireUser({ redirectTo: "/sign-in" }), (_req, res) => {
    res.type("text").send("page");
  });
  app.get("/whoami", (req, res) => {
    res.json({ username: req.user?.username ?? null });
  });
  app.all("/action", (req, res) => {
    res.json({ username: req.user?.username ?? null });
  });
  const onError: ErrorRequestHandler = (_error, _req, res, _next) => {
    res.status(500).json({ error: "internal" });
  };
  app.use(onError);
  return app;
}

// Koa has no router of its own: routes are "METHOD /path" keys onto chains of middleware.
function route(routes: Record<string, Middleware<koaAdapter.SessionState>[]>): Middleware<koaAdapter.SessionState> {
  return async function router(ctx, next) {
    const chain = routes[`${ctx.method} ${ctx.path}`] ?? routes[`* ${ctx.path}`];
    if (chain === undefined) return next();
    const run = async (index: number): Promise<void> => {
      await chain[index]?.(ctx, () => run(index + 1));
    };
    await run(0);
  };
}

// What @koa/bodyparser does: parse JSON and form bodies into ctx.request.body.
const bodyParser: Middleware = async (ctx, next) => {
  if (ctx.is("json", "urlencoded")) {
    const chunks: Buffer[] = [];
    for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    (ctx.request as { body?: unknown }).body = ctx.is("json") ? JSON.parse(text) : Object.fromEntries(new URLSearchParams(text));
  }
  await next();
};

export function createKoaApp(setup: AppSetup): RequestListener {
  const app = new Koa<koaAdapter.SessionState>();
  app.silent = true;
  app.proxy = setup.trustProxy;
  app.use(koaAdapter.sessionMiddleware({ ...setup.options, manager: setup.manager }));
  if (setup.frameworkBodyParser) app.use(bodyParser);
  const form = { redirectTo: "/home", failureRedirectTo: "/sign-in" };
  const sendEmail = mailer(setup);
  const verify = koaAdapter.verifyEmailHandler();
  const confirm = koaAdapter.confirmEmailChangeHandler({ sendEmail });
  app.use(
    route({
      "POST /register": [koaAdapter.registerHandler()],
      "POST /login": [koaAdapter.loginHandler()],
      "POST /logout": [koaAdapter.logoutHandler()],
      "POST /form/register": [koaAdapter.registerHandler(form)],
      "POST /form/login": [koaAdapter.loginHandler({ ...form, twoFactorRedirectTo: "/code" })],
      "POST /two-factor": [koaAdapter.twoFactorHandler()],
      "POST /form/two-factor": [koaAdapter.twoFactorHandler({ redirectTo: "/home", failureRedirectTo: "/code" })],
      "POST /form/logout": [koaAdapter.logoutHandler({ redirectTo: "/sign-in" })],
      "POST /forgot-password": [koaAdapter.passwordResetRequestHandler({ sendEmail, link: LINKS.reset })],
      "* /reset-password": [koaAdapter.passwordResetHandler()],
      "POST /form/reset-password": [koaAdapter.passwordResetHandler(RESET_FORM)],
      "POST /send-verification": [koaAdapter.emailVerificationRequestHandler({ sendEmail, link: LINKS.verify })],
      "GET /verify-email": [verify],
      "POST /verify-email": [verify],
      "GET /form/verify-email": [koaAdapter.verifyEmailHandler(form)],
      "POST /change-email": [koaAdapter.emailChangeHandler({ sendEmail, link: LINKS.confirm })],
      "GET /confirm-email": [confirm],
      "POST /confirm-email": [confirm],
      "POST /quiet/confirm-email": [koaAdapter.confirmEmailChangeHandler()],
      "GET /me": [
        koaAdapter.requireUser(),
        (ctx) => void (ctx.body = { username: ctx.state.user?.username, sessionId: ctx.state.session?.id }),
      ],
      "GET /page": [koaAdapter.requireUser({ redirectTo: "/sign-in" }), (ctx) => void (ctx.body = "page")],
      "GET /whoami": [(ctx) => void (ctx.body = { username: ctx.state.user?.username ?? null })],
      "* /action": [(ctx) => void (ctx.body = { username: ctx.state.user?.username ?? null })],
    }),
  );
  return app.callback();
}

/** The Hono app's fetch handler, as every runtime's server calls it (`env`: what the server passes). */
export function createHonoFetch(setup: AppSetup): (req: Request, env?: unknown) => Response | Promise<Response> {
  const app = new Hono<{ Variables: honoAdapter.SessionVariables }>();
  app.use(honoAdapter.sessionMiddleware({ ...setup.options, manager: setup.manager }));
  const form = { redirectTo: "/home", failureRedirectTo: "/sign-in" };
  app.post("/register", honoAdapter.registerHandler());
  app.post("/login", honoAdapter.loginHandler());
  app.post("/logout", honoAdapter.logoutHandler());
  app.post("/form/register", honoAdapter.registerHandler(form));
  app.post("/form/login", honoAdapter.loginHandler({ ...form, twoFactorRedirectTo: "/code" }));
  app.post("/two-factor", honoAdapter.twoFactorHandler());
  app.post("/form/two-factor", honoAdapter.twoFactorHandler({ redirectTo: "/home", failureRedirectTo: "/code" }));
  app.post("/form/logout", honoAdapter.logoutHandler({ redirectTo: "/sign-in" }));
  const sendEmail = mailer(setup);
  app.post("/forgot-password", honoAdapter.passwordResetRequestHandler({ sendEmail, link: LINKS.reset }));
  app.all("/reset-password", honoAdapter.passwordResetHandler());
  app.post("/form/reset-password", honoAdapter.passwordResetHandler(RESET_FORM));
  app.post("/send-verification", honoAdapter.emailVerificationRequestHandler({ sendEmail, link: LINKS.verify }));
  const verify = honoAdapter.verifyEmailHandler();
  app.get("/verify-email", verify);
  app.post("/verify-email", verify);
  app.get("/form/verify-email", honoAdapter.verifyEmailHandler(form));
  app.post("/change-email", honoAdapter.emailChangeHandler({ sendEmail, link: LINKS.confirm }));
  const confirm = honoAdapter.confirmEmailChangeHandler({ sendEmail });
  app.get("/confirm-email", confirm);
  app.post("/confirm-email", confirm);
  app.post("/quiet/confirm-email", honoAdapter.confirmEmailChangeHandler());
  app.get("/me", honoAdapter.requireUser(), (c) => c.json({ username: c.get("user")?.username, sessionId: c.get("session")?.id }));
  app.get("/page", honoAdapter.requireUser({ redirectTo: "/sign-in" }), (c) => c.text("page"));
  app.get("/whoami", (c) => c.json({ username: c.get("user")?.username ?? null }));
  app.all("/action", (c) => c.json({ username: c.get("user")?.username ?? null }));
  app.onError((_error, c) => c.json({ error: "internal" }, 500));
  // Hono knows the scheme from the request URL: behind a trusted TLS proxy the server hands it the https URL.
  return (req, env) => {
    if (!setup.trustProxy || req.headers.get("x-forwarded-proto") !== "https") return app.fetch(req, env);
    const url = new URL(req.url);
    url.protocol = "https:";
    return app.fetch(new Request(url, { method: req.method, headers: req.headers, body: req.body, duplex: "half" }), env);
  };
}

/** The Hono app under @hono/node-server, as Node.js serves it. */
export function createHonoApp(setup: AppSetup): RequestListener {
  return getRequestListener(createHonoFetch(setup));
}

export type AdapterName = "express" | "koa" | "hono";

/** The same app on each framework, with the routes `runSharedSuite` documents, by adapter name. */
export const APPS: Readonly<Record<AdapterName, (setup: AppSetup) => RequestListener>> = {
  express: createExpressApp,
  koa: createKoaApp,
  hono: createHonoApp,
};
