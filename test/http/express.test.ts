import express, { type ErrorRequestHandler } from "express";
import { loginHandler, logoutHandler, registerHandler, requireUser, sessionMiddleware } from "session-manager/express";
import { runSharedSuite, type AppSetup } from "./shared-suite.js";

function createApp(setup: AppSetup): express.Express {
  const app = express();
  if (setup.trustProxy) app.set("trust proxy", true);
  app.use(sessionMiddleware({ ...setup.options, manager: setup.manager }));
  if (setup.frameworkBodyParser) app.use(express.json(), express.urlencoded({ extended: false }));
  const form = { redirectTo: "/home", failureRedirectTo: "/sign-in" };
  app.post("/register", registerHandler());
  app.post("/login", loginHandler());
  app.post("/logout", logoutHandler());
  app.post("/form/register", registerHandler(form));
  app.post("/form/login", loginHandler(form));
  app.post("/form/logout", logoutHandler({ redirectTo: "/sign-in" }));
  app.get("/me", requireUser(), (req, res) => {
    res.json({ username: req.user?.username, sessionId: req.authSession?.id });
  });
  app.get("/page", requireUser({ redirectTo: "/sign-in" }), (_req, res) => {
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

runSharedSuite({ name: "express", createApp, hasBodyParser: true }, ["sqlite-memory", "postgres"]);
