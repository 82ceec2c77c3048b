// Compile-time checks of the Express adapter's public types; run by `tsc --noEmit -p .`.
import express from "express";
import type { Session, User } from "session-manager";
import { loginHandler, logoutHandler, registerHandler, requireUser, sessionMiddleware } from "session-manager/express";
import { assertType, type Equal } from "./expect-type.js";

const app = express();
app.use(sessionMiddleware());
app.post("/login", loginHandler({ redirectTo: "/" }));
app.post("/register", registerHandler());
app.post("/logout", logoutHandler());
app.get("/me", requireUser(), (req, res) => {
  assertType<Equal<typeof req.user, User | null>>();
  assertType<Equal<typeof req.authSession, Session | null>>();
  // @ts-expect-error req.user may be null
  assertType<Equal<typeof req.user, User>>();
  // @ts-expect-error the user never carries a password hash
  void req.user?.passwordHash;
  res.json(req.user);
});
// @ts-expect-error cookie.secure takes "auto" or a boolean
sessionMiddleware({ cookie: { secure: "yes" } });
// @ts-expect-error cookie.sameSite takes "lax", "strict" or "none"
sessionMiddleware({ cookie: { sameSite: "relaxed" } });
