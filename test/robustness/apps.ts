import { once } from "node:events";
import { Agent, createServer, request, type IncomingHttpHeaders, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import express, { type ErrorRequestHandler } from "express";
import { Hono } from "hono";
import Koa, { type Middleware } from "koa";
import type { SessionManager, SessionMiddlewareOptions } from "session-manager";
import * as expressAdapter from "session-manager/express";
import * as honoAdapter from "session-manager/hono";
import * as koaAdapter from "session-manager/koa";

/**
 * The same small app on each framework: the three handlers, a guarded `/me`, an unguarded
 * `/whoami` and `/action`, and an error handler answering 500 `{"error":"internal"}`.
 */
export type AdapterName = "express" | "koa" | "hono";
export const ADAPTERS: readonly AdapterName[] = ["express", "koa", "hono"];

export function createApp(adapter: AdapterName, manager: SessionManager, options: Omit<SessionMiddlewareOptions, "manager"> = {}): RequestListener {
  switch (adapter) {
    case "express":
      return expressApp(manager, options);
    case "koa":
      return koaApp(manager, options);
    case "hono":
      return honoApp(manager, options);
  }
}

function expressApp(manager: SessionManager, options: Omit<SessionMiddlewareOptions, "manager">): RequestListener {
  const { sessionMiddleware, loginHandler, logoutHandler, registerHandler, requireUser } = expressAdapter;
  const app = express();
  app.use(sessionMiddleware({ ...options, manager }));
  app.post("/register", registerHandler());
  app.post("/login", loginHandler());
  app.post("/logout", logoutHandler());
  app.get("/me", requireUser(), (req, res) => {
    res.json({ username: req.user?.username, sessionId: req.authSession?.id });
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

function koaApp(manager: SessionManager, options: Omit<SessionMiddlewareOptions, "manager">): RequestListener {
  const { sessionMiddleware, loginHandler, logoutHandler, registerHandler, requireUser } = koaAdapter;
  const app = new Koa<koaAdapter.SessionState>();
  app.silent = true;
  const routes: Record<string, Middleware<koaAdapter.SessionState>[]> = {
    "POST /register": [registerHandler()],
    "POST /login": [loginHandler()],
    "POST /logout": [logoutHandler()],
    "GET /me": [requireUser(), (ctx) => void (ctx.body = { username: ctx.state.user?.username, sessionId: ctx.state.session?.id })],
    "GET /whoami": [(ctx) => void (ctx.body = { username: ctx.state.user?.username ?? null })],
    "* /action": [(ctx) => void (ctx.body = { username: ctx.state.user?.username ?? null })],
  };
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch {
      ctx.status = 500;
      ctx.body = { error: "internal" };
    }
  });
  app.use(sessionMiddleware({ ...options, manager }));
  app.use(async function router(ctx, next) {
    const chain = routes[`${ctx.method} ${ctx.path}`] ?? routes[`* ${ctx.path}`];
    if (chain === undefined) return next();
    const run = async (index: number): Promise<void> => {
      await chain[index]?.(ctx, () => run(index + 1));
    };
    await run(0);
  });
  return app.callback();
}

function honoApp(manager: SessionManager, options: Omit<SessionMiddlewareOptions, "manager">): RequestListener {
  const { sessionMiddleware, loginHandler, logoutHandler, registerHandler, requireUser } = honoAdapter;
  const app = new Hono<{ Variables: honoAdapter.SessionVariables }>();
  app.use(sessionMiddleware({ ...options, manager }));
  app.post("/register", registerHandler());
  app.post("/login", loginHandler());
  app.post("/logout", logoutHandler());
  app.get("/me", requireUser(), (c) => c.json({ username: c.get("user")?.username, sessionId: c.get("session")?.id }));
  app.get("/whoami", (c) => c.json({ username: c.get("user")?.username ?? null }));
  app.all("/action", (c) => c.json({ username: c.get("user")?.username ?? null }));
  app.onError((_error, c) => c.json({ error: "internal" }, 500));
  return getRequestListener(app.fetch);
}

/** A listening server on a free local port, reached through one keep-alive agent. */
export class LocalServer {
  readonly server: Server;
  readonly agent = new Agent({ keepAlive: true, maxSockets: 16 });
  #port = 0;

  private constructor(server: Server) {
    this.server = server;
  }

  static async start(listener: RequestListener, options: { maxHeaderSize?: number } = {}): Promise<LocalServer> {
    const server = createServer(options, listener);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const local = new LocalServer(server);
    local.#port = (server.address() as AddressInfo).port;
    return local;
  }

  get port(): number {
    return this.#port;
  }

  /** Sends one request; rejects if no complete answer comes within `timeoutMs` (a hang). */
  send(req: TestRequest, timeoutMs = 10_000): Promise<TestResponse> {
    return new Promise((resolve, reject) => {
      const outgoing = request({
        host: "127.0.0.1",
        port: this.#port,
        method: req.method,
        path: req.path,
        agent: this.agent,
        // Node.js sends a DELETE body without framing unless told its length.
        headers: { host: HOST, ...(req.body === undefined ? {} : { "content-length": String(Buffer.byteLength(req.body)) }), ...req.headers },
        timeout: timeoutMs,
      });
      outgoing.on("timeout", () => {
        outgoing.destroy();
        reject(new Error(`no answer to ${req.method} ${req.path} within ${timeoutMs} ms`));
      });
      outgoing.on("error", reject);
      outgoing.on("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      });
      outgoing.end(req.body);
    });
  }

  async close(): Promise<void> {
    this.agent.destroy();
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, "close");
  }
}

export const HOST = "app.test";
export const SELF = `http://${HOST}`;

export interface TestRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

export interface TestResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** The `session` values the response sets ("" when it clears the cookie). */
export function sessionCookiesSet(res: TestResponse, name = "session"): string[] {
  return (res.headers["set-cookie"] ?? []).flatMap((value) => {
    const match = new RegExp(`^${name}=([^;]*)`).exec(value);
    return match === null ? [] : [match[1]!];
  });
}

/** The response body as JSON, or undefined when it is not JSON. */
export function jsonOf(res: TestResponse): unknown {
  try {
    return JSON.parse(res.text) as unknown;
  } catch {
    return undefined;
  }
}
