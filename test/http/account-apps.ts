import type { RequestListener } from "node:http";
import { getRequestListener } from "@hono/node-server";
import express, { type ErrorRequestHandler } from "express";
import { Hono } from "hono";
import Koa, { type Middleware } from "koa";
import type { EmailMessage, SessionManager, SessionMiddlewareOptions } from "session-manager";
import * as expressAdapter from "session-manager/express";
import * as honoAdapter from "session-manager/hono";
import * as koaAdapter from "session-manager/koa";

/** What the account suite builds an app from. */
export interface AccountAppSetup {
  manager: SessionManager;
  options?: Omit<SessionMiddlewareOptions, "manager">;
  /** Mount the routes without `sessionMiddleware()` in front of them (a wiring mistake). */
  withoutMiddleware?: boolean;
  /** Receives what emailChangeHandler sends. */
  sendEmail?: (message: EmailMessage) => void;
}

/**
 * The routes of the session lifecycle and account settings, the same in every framework, with an
 * error handler answering 500 `{"error":"internal","message":…}`:
 *
 * - `POST /login`: `loginHandler({ remember: "checkbox" })`; `POST /form/login`: the same with
 *   `{ redirectTo: "/home", failureRedirectTo: "/sign-in" }`
 * - `GET /me`: `requireUser()` → `{ username, sessionId, token }` (`token`: `readSessionCookie(req)`)
 * - `GET /fresh`: `requireUser({ fresh: 60 })`; `GET /fresh-page`: with `reauthenticateRedirectTo: "/confirm"`
 * - `POST /confirm`: `reauthenticateHandler()`; `POST /password`: `changePasswordHandler()`
 * - `POST /2fa/setup`, `/2fa/confirm`, `/2fa/disable`, `/2fa/codes`: the two-factor settings handlers
 * - `GET /sessions`: `sessionsHandler()`; `DELETE /sessions/:id`, `POST /sessions/revoke` (body),
 *   `POST /sessions/revoke-by-query` (`?id=`): `revokeSessionHandler()`
 * - `POST /change-email`: `emailChangeHandler({ sendEmail, link })`
 */
export type AccountAppFactory = (setup: AccountAppSetup) => RequestListener;

const LINK = "https://app.test/confirm-email";

export const createExpressAccountApp: AccountAppFactory = (setup) => {
  const a = expressAdapter;
  const app = express();
  if (setup.withoutMiddleware !== true) app.use(a.sessionMiddleware({ ...setup.options, manager: setup.manager }));
  app.post("/login", a.loginHandler({ remember: "checkbox" }));
  app.post("/form/login", a.loginHandler({ remember: "checkbox", redirectTo: "/home", failureRedirectTo: "/sign-in" }));
  app.get("/me", a.requireUser(), (req, res) => {
    res.json({ username: req.user?.username, sessionId: req.authSession?.id, token: a.readSessionCookie(req) });
  });
  app.get("/fresh", a.requireUser({ fresh: 60 }), (_req, res) => {
    res.json({ ok: true });
  });
  app.get("/fresh-page", a.requireUser({ fresh: 60, reauthenticateRedirectTo: "/confirm" }), (_req, res) => {
    res.json({ ok: true });
  });
  app.post("/confirm", a.reauthenticateHandler());
  app.post("/password", a.changePasswordHandler());
  app.post("/2fa/setup", a.totpSetupHandler());
  app.post("/2fa/confirm", a.totpConfirmHandler());
  app.post("/2fa/disable", a.totpDisableHandler());
  app.post("/2fa/codes", a.recoveryCodesHandler());
  app.get("/sessions", a.sessionsHandler());
  app.delete("/sessions/:id", a.revokeSessionHandler());
  app.post("/sessions/revoke", a.revokeSessionHandler());
  app.post("/sessions/revoke-by-query", a.revokeSessionHandler());
  app.post("/change-email", a.emailChangeHandler({ sendEmail: setup.sendEmail ?? (() => {}), link: LINK }));
  const onError: ErrorRequestHandler = (error: Error, _req, res, _next) => {
    res.status(500).json({ error: "internal", message: error.message });
  };
  app.use(onError);
  return app;
};

// Koa has no router of its own: "METHOD /path" keys, `:id` filling ctx.params as @koa/router does.
function route(routes: Record<string, Middleware<koaAdapter.SessionState>[]>): Middleware<koaAdapter.SessionState> {
  return async function router(ctx, next) {
    let chain = routes[`${ctx.method} ${ctx.path}`];
    if (chain === undefined) {
      for (const [key, candidate] of Object.entries(routes)) {
        const [method, pattern] = key.split(" ") as [string, string];
        const prefix = pattern.replace(/:id$/, "");
        if (method === ctx.method && pattern.endsWith(":id") && ctx.path.startsWith(prefix) && ctx.path.length > prefix.length) {
          (ctx as unknown as { params: Record<string, string> }).params = { id: decodeURIComponent(ctx.path.slice(prefix.length)) };
          chain = candidate;
        }
      }
    }
    if (chain === undefined) return next();
    const run = async (index: number): Promise<void> => {
      await chain[index]?.(ctx, () => run(index + 1));
    };
    await run(0);
  };
}

export const createKoaAccountApp: AccountAppFactory = (setup) => {
  const a = koaAdapter;
  const app = new Koa<koaAdapter.SessionState>();
  app.silent = true;
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      ctx.status = 500;
      ctx.body = { error: "internal", message: (error as Error).message };
    }
  });
  if (setup.withoutMiddleware !== true) app.use(a.sessionMiddleware({ ...setup.options, manager: setup.manager }));
  const json =
    (body: (ctx: koaAdapter.SessionState) => unknown): Middleware<koaAdapter.SessionState> =>
    (ctx) => {
      ctx.body = body(ctx.state);
    };
  app.use(
    route({
      "POST /login": [a.loginHandler({ remember: "checkbox" })],
      "POST /form/login": [a.loginHandler({ remember: "checkbox", redirectTo: "/home", failureRedirectTo: "/sign-in" })],
      "GET /me": [
        a.requireUser(),
        (ctx) => {
          ctx.body = { username: ctx.state.user?.username, sessionId: ctx.state.session?.id, token: a.readSessionCookie(ctx) };
        },
      ],
      "GET /fresh": [a.requireUser({ fresh: 60 }), json(() => ({ ok: true }))],
      "GET /fresh-page": [a.requireUser({ fresh: 60, reauthenticateRedirectTo: "/confirm" }), json(() => ({ ok: true }))],
      "POST /confirm": [a.reauthenticateHandler()],
      "POST /password": [a.changePasswordHandler()],
      "POST /2fa/setup": [a.totpSetupHandler()],
      "POST /2fa/confirm": [a.totpConfirmHandler()],
      "POST /2fa/disable": [a.totpDisableHandler()],
      "POST /2fa/codes": [a.recoveryCodesHandler()],
      "GET /sessions": [a.sessionsHandler()],
      "DELETE /sessions/:id": [a.revokeSessionHandler()],
      "POST /sessions/revoke": [a.revokeSessionHandler()],
      "POST /sessions/revoke-by-query": [a.revokeSessionHandler()],
      "POST /change-email": [a.emailChangeHandler({ sendEmail: setup.sendEmail ?? (() => {}), link: LINK })],
    }),
  );
  return app.callback();
};

export const createHonoAccountApp: AccountAppFactory = (setup) => {
  const a = honoAdapter;
  const app = new Hono<{ Variables: honoAdapter.SessionVariables }>();
  app.onError((error, c) => c.json({ error: "internal", message: error.message }, 500));
  if (setup.withoutMiddleware !== true) app.use(a.sessionMiddleware({ ...setup.options, manager: setup.manager }));
  app.post("/login", a.loginHandler({ remember: "checkbox" }));
  app.post("/form/login", a.loginHandler({ remember: "checkbox", redirectTo: "/home", failureRedirectTo: "/sign-in" }));
  app.get("/me", a.requireUser(), (c) =>
    c.json({ username: c.get("user")?.username, sessionId: c.get("session")?.id, token: a.readSessionCookie(c) }),
  );
  app.get("/fresh", a.requireUser({ fresh: 60 }), (c) => c.json({ ok: true }));
  app.get("/fresh-page", a.requireUser({ fresh: 60, reauthenticateRedirectTo: "/confirm" }), (c) => c.json({ ok: true }));
  app.post("/confirm", a.reauthenticateHandler());
  app.post("/password", a.changePasswordHandler());
  app.post("/2fa/setup", a.totpSetupHandler());
  app.post("/2fa/confirm", a.totpConfirmHandler());
  app.post("/2fa/disable", a.totpDisableHandler());
  app.post("/2fa/codes", a.recoveryCodesHandler());
  app.get("/sessions", a.sessionsHandler());
  app.delete("/sessions/:id", a.revokeSessionHandler());
  app.post("/sessions/revoke", a.revokeSessionHandler());
  app.post("/sessions/revoke-by-query", a.revokeSessionHandler());
  app.post("/change-email", a.emailChangeHandler({ sendEmail: setup.sendEmail ?? (() => {}), link: LINK }));
  return getRequestListener(app.fetch);
};

/** Every adapter's app factory, by name. */
export const ACCOUNT_APPS: ReadonlyArray<[string, AccountAppFactory]> = [
  ["express", createExpressAccountApp],
  ["koa", createKoaAccountApp],
  ["hono", createHonoAccountApp],
];
