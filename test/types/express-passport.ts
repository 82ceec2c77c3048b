// Compile-time check: an app with both session-manager's Express adapter and Passport's types
// type-checks, and req.user means the same thing to both. Run by `tsc --noEmit -p .`.
import express from "express";
import type { PassportStatic } from "passport";
import { requireUser, sessionMiddleware, withUser } from "session-manager/express";
import { assertType, type Equal } from "./expect-type.js";

declare const passport: PassportStatic;

const app = express();
app.use(sessionMiddleware());
app.use(passport.initialize());
app.get("/me", requireUser(), (req, res) => {
  assertType<Equal<typeof req.user, Express.User | undefined>>();
  if (req.isAuthenticated()) res.json({ name: req.user.username });
  else res.sendStatus(401);
});
app.get(
  "/account",
  withUser((req, res) => {
    res.send(req.user.email ?? "no address");
  }),
);
