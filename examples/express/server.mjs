// A complete Express app on session-manager: HTML pages and a JSON API.
// Run it with `npm start` (builds first), then open http://localhost:3000.
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import express from "express";
import { SessionManager, readSessionCookie } from "session-manager";
import { loginHandler, logoutHandler, registerHandler, requireUser, sessionMiddleware } from "session-manager/express";
import { homePage, loginPage, registerPage } from "../pages.mjs";

/** Builds the app around a SessionManager. */
export function createApp(manager) {
  const app = express();
  app.use(sessionMiddleware({ manager }));

  // HTML pages: forms post here and are redirected on success and on failure.
  app.get("/login", (req, res) => res.type("html").send(loginPage(req.query.error)));
  app.get("/register", (req, res) => res.type("html").send(registerPage(req.query.error)));
  app.post("/login", loginHandler({ redirectTo: "/", failureRedirectTo: "/login" }));
  app.post("/register", registerHandler({ redirectTo: "/", failureRedirectTo: "/register" }));
  app.post("/logout", logoutHandler({ redirectTo: "/login" }));
  app.get("/", requireUser({ redirectTo: "/login" }), async (req, res) => {
    const sessions = await manager.listSessions(req.user.id);
    res.type("html").send(homePage(req.user, sessions, req.authSession.id));
  });
  app.post("/sessions/revoke-others", requireUser({ redirectTo: "/login" }), async (req, res) => {
    await manager.revokeOtherSessions(readSessionCookie(req.headers.cookie));
    res.redirect(303, "/");
  });

  // JSON API.
  app.post("/api/register", registerHandler());
  app.post("/api/login", loginHandler());
  app.post("/api/logout", logoutHandler());
  app.get("/api/me", requireUser(), (req, res) => res.json({ user: req.user }));
  app.get("/api/sessions", requireUser(), async (req, res) => res.json({ sessions: await manager.listSessions(req.user.id) }));
  return app;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const manager = new SessionManager(); // SQLite file sessions.db in the current directory
  const server = createApp(manager).listen(Number(process.env.PORT ?? 3000), () => {
    console.log(`Express example listening on http://localhost:${server.address().port}`);
  });
}
