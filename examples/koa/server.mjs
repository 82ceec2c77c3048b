// A complete Koa app on session-manager: HTML pages and a JSON API.
// Run it with `npm run build && node examples/koa/server.mjs`, then open http://localhost:3000.
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Koa from "koa";
import { SessionManager, readSessionCookie } from "session-manager";
import { loginHandler, logoutHandler, registerHandler, requireUser, sessionMiddleware } from "session-manager/koa";
import { homePage, loginPage, registerPage } from "../pages.mjs";

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

/** Builds the app around a SessionManager. */
export function createApp(manager) {
  const app = new Koa();
  app.use(sessionMiddleware({ manager }));
  const signedIn = requireUser({ redirectTo: "/login" });
  app.use(
    router({
      // HTML pages: forms post here and are redirected on success and on failure.
      "GET /login": [html((ctx) => loginPage(ctx.query.error))],
      "GET /register": [html((ctx) => registerPage(ctx.query.error))],
      "POST /login": [loginHandler({ redirectTo: "/", failureRedirectTo: "/login" })],
      "POST /register": [registerHandler({ redirectTo: "/", failureRedirectTo: "/register" })],
      "POST /logout": [logoutHandler({ redirectTo: "/login" })],
      "GET /": [
        signedIn,
        async (ctx) => {
          const sessions = await manager.listSessions(ctx.state.user.id);
          ctx.type = "html";
          ctx.body = homePage(ctx.state.user, sessions, ctx.state.session.id);
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
      // JSON API.
      "POST /api/register": [registerHandler()],
      "POST /api/login": [loginHandler()],
      "POST /api/logout": [logoutHandler()],
      "GET /api/me": [requireUser(), (ctx) => void (ctx.body = { user: ctx.state.user })],
      "GET /api/sessions": [requireUser(), async (ctx) => void (ctx.body = { sessions: await manager.listSessions(ctx.state.user.id) })],
    }),
  );
  return app;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const manager = new SessionManager(); // SQLite file sessions.db in the current directory
  const server = createApp(manager).listen(Number(process.env.PORT ?? 3000), () => {
    console.log(`Koa example listening on http://localhost:${server.address().port}`);
  });
}
