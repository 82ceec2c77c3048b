import { getRequestListener } from "@hono/node-server";
import { Hono } from "hono";
import { loginHandler, logoutHandler, registerHandler, requireUser, sessionMiddleware, type SessionVariables } from "session-manager/hono";
import { runSharedSuite, type AppSetup } from "./shared-suite.js";

function createApp(setup: AppSetup): ReturnType<typeof getRequestListener> {
  const app = new Hono<{ Variables: SessionVariables }>();
  app.use(sessionMiddleware({ ...setup.options, manager: setup.manager }));
  const form = { redirectTo: "/home", failureRedirectTo: "/sign-in" };
  app.post("/register", registerHandler());
  app.post("/login", loginHandler());
  app.post("/logout", logoutHandler());
  app.post("/form/register", registerHandler(form));
  app.post("/form/login", loginHandler(form));
  app.post("/form/logout", logoutHandler({ redirectTo: "/sign-in" }));
  app.get("/me", requireUser(), (c) => c.json({ username: c.get("user")?.username, sessionId: c.get("session")?.id }));
  app.get("/page", requireUser({ redirectTo: "/sign-in" }), (c) => c.text("page"));
  app.get("/whoami", (c) => c.json({ username: c.get("user")?.username ?? null }));
  app.all("/action", (c) => c.json({ username: c.get("user")?.username ?? null }));
  app.onError((_error, c) => c.json({ error: "internal" }, 500));
  // Hono knows the scheme from the request URL: behind a trusted TLS proxy the server hands it the https URL.
  return getRequestListener((req, env) => {
    if (!setup.trustProxy || req.headers.get("x-forwarded-proto") !== "https") return app.fetch(req, env);
    const url = new URL(req.url);
    url.protocol = "https:";
    return app.fetch(new Request(url, { method: req.method, headers: req.headers, body: req.body, duplex: "half" } as RequestInit), env);
  });
}

runSharedSuite({ name: "hono", createApp, hasBodyParser: false });
