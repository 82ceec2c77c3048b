// A complete Hono app on session-manager (Node.js through @hono/node-server): HTML pages and a JSON API.
// Run it with `npm run build && node examples/hono/server.mjs`, then open http://localhost:3000.
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { SessionManager, readSessionCookie } from "session-manager";
import { loginHandler, logoutHandler, registerHandler, requireUser, sessionMiddleware } from "session-manager/hono";
import { homePage, loginPage, registerPage } from "../pages.mjs";

/** Builds the app around a SessionManager. */
export function createApp(manager) {
  const app = new Hono();
  app.use(sessionMiddleware({ manager }));

  // HTML pages: forms post here and are redirected on success and on failure.
  app.get("/login", (c) => c.html(loginPage(c.req.query("error"))));
  app.get("/register", (c) => c.html(registerPage(c.req.query("error"))));
  app.post("/login", loginHandler({ redirectTo: "/", failureRedirectTo: "/login" }));
  app.post("/register", registerHandler({ redirectTo: "/", failureRedirectTo: "/register" }));
  app.post("/logout", logoutHandler({ redirectTo: "/login" }));
  app.get("/", requireUser({ redirectTo: "/login" }), async (c) => {
    const sessions = await manager.listSessions(c.get("user").id);
    return c.html(homePage(c.get("user"), sessions, c.get("session").id));
  });
  app.post("/sessions/revoke-others", requireUser({ redirectTo: "/login" }), async (c) => {
    await manager.revokeOtherSessions(readSessionCookie(c.req.header("cookie")));
    return c.redirect("/", 303);
  });

  // JSON API.
  app.post("/api/register", registerHandler());
  app.post("/api/login", loginHandler());
  app.post("/api/logout", logoutHandler());
  app.get("/api/me", requireUser(), (c) => c.json({ user: c.get("user") }));
  app.get("/api/sessions", requireUser(), async (c) => c.json({ sessions: await manager.listSessions(c.get("user").id) }));
  return app;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const manager = new SessionManager(); // SQLite file sessions.db in the current directory
  serve({ fetch: createApp(manager).fetch, port: Number(process.env.PORT ?? 3000) }, (info) => {
    console.log(`Hono example listening on http://localhost:${info.port}`);
  });
}
