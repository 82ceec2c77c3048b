import type { RequestListener } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import express from "express";
import { Hono } from "hono";
import Koa, { type Middleware } from "koa";
import type { SessionManager } from "session-manager";
import * as expressAdapter from "session-manager/express";
import * as honoAdapter from "session-manager/hono";
import * as koaAdapter from "session-manager/koa";

/**
 * The routes of the client-address tests, on each framework: `POST /login`, `POST /register`,
 * `POST /forgot-password` (its `sendEmail` pushes to `sent`). `proxy` says whether the app trusts
 * the reverse proxy in front of it, each the way its framework does, so that the address is the
 * one the proxy appended to `X-Forwarded-For`; `"conninfo"` (Hono only) reads the socket through
 * `getConnInfo`.
 */
export interface AddressAppSetup {
  manager: SessionManager;
  proxy: "untrusted" | "trusted" | "conninfo";
  sent: unknown[];
}

const LINK = "https://app.test/reset-password";

function resetOptions(setup: AddressAppSetup) {
  return { link: LINK, sendEmail: (message: unknown) => void setup.sent.push(message) };
}

function createExpressApp(setup: AddressAppSetup): RequestListener {
  const app = express();
  // Trust the proxy on this machine only: req.ip is then the last address it did not append itself.
  if (setup.proxy === "trusted") app.set("trust proxy", "loopback");
  app.use(expressAdapter.sessionMiddleware({ manager: setup.manager }));
  app.post("/login", expressAdapter.loginHandler());
  app.post("/register", expressAdapter.registerHandler());
  app.post("/forgot-password", expressAdapter.passwordResetRequestHandler(resetOptions(setup)));
  return app;
}

function createKoaApp(setup: AddressAppSetup): RequestListener {
  const app = new Koa<koaAdapter.SessionState>();
  app.silent = true;
  if (setup.proxy === "trusted") {
    app.proxy = true;
    // Only the entry the one proxy appended: the ones before it are whatever the client wrote.
    app.maxIpsCount = 1;
  }
  app.use(koaAdapter.sessionMiddleware({ manager: setup.manager }));
  const routes: Record<string, Middleware<koaAdapter.SessionState>> = {
    "/login": koaAdapter.loginHandler(),
    "/register": koaAdapter.registerHandler(),
    "/forgot-password": koaAdapter.passwordResetRequestHandler(resetOptions(setup)),
  };
  app.use(async (ctx, next) => {
    const route = ctx.method === "POST" ? routes[ctx.path] : undefined;
    if (route === undefined) return next();
    await route(ctx, next);
  });
  return app.callback();
}

function createHonoApp(setup: AddressAppSetup): RequestListener {
  const app = new Hono<{ Variables: honoAdapter.SessionVariables }>();
  const clientAddress =
    setup.proxy === "trusted"
      ? (c: Parameters<NonNullable<honoAdapter.SessionMiddlewareOptions["clientAddress"]>>[0]) =>
          c.req.header("x-forwarded-for")?.split(",").at(-1)?.trim()
      : setup.proxy === "conninfo"
        ? (c: Parameters<typeof getConnInfo>[0]) => getConnInfo(c).remote.address
        : undefined;
  app.use(honoAdapter.sessionMiddleware({ manager: setup.manager, ...(clientAddress === undefined ? {} : { clientAddress }) }));
  app.post("/login", honoAdapter.loginHandler());
  app.post("/register", honoAdapter.registerHandler());
  app.post("/forgot-password", honoAdapter.passwordResetRequestHandler(resetOptions(setup)));
  return getRequestListener(app.fetch);
}

export type AdapterName = "express" | "koa" | "hono";

export const ADDRESS_APPS: Readonly<Record<AdapterName, (setup: AddressAppSetup) => RequestListener>> = {
  express: createExpressApp,
  koa: createKoaApp,
  hono: createHonoApp,
};
