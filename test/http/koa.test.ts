import Koa, { type Middleware } from "koa";
import { loginHandler, logoutHandler, registerHandler, requireUser, sessionMiddleware, type SessionState } from "session-manager/koa";
import { runSharedSuite, type AppSetup } from "./shared-suite.js";

// Koa has no router of its own: routes are "METHOD /path" keys onto chains of middleware.
function route(routes: Record<string, Middleware<SessionState>[]>): Middleware<SessionState> {
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

function createApp(setup: AppSetup): ReturnType<Koa["callback"]> {
  const app = new Koa<SessionState>();
  app.silent = true;
  app.proxy = setup.trustProxy;
  app.use(sessionMiddleware({ ...setup.options, manager: setup.manager }));
  if (setup.frameworkBodyParser) app.use(bodyParser);
  const form = { redirectTo: "/home", failureRedirectTo: "/sign-in" };
  app.use(
    route({
      "POST /register": [registerHandler()],
      "POST /login": [loginHandler()],
      "POST /logout": [logoutHandler()],
      "POST /form/register": [registerHandler(form)],
      "POST /form/login": [loginHandler(form)],
      "POST /form/logout": [logoutHandler({ redirectTo: "/sign-in" })],
      "GET /me": [requireUser(), (ctx) => void (ctx.body = { username: ctx.state.user?.username, sessionId: ctx.state.session?.id })],
      "GET /page": [requireUser({ redirectTo: "/sign-in" }), (ctx) => void (ctx.body = "page")],
      "GET /whoami": [(ctx) => void (ctx.body = { username: ctx.state.user?.username ?? null })],
      "* /action": [(ctx) => void (ctx.body = { username: ctx.state.user?.username ?? null })],
    }),
  );
  return app.callback();
}

runSharedSuite({ name: "koa", createApp, hasBodyParser: true });
