// Compile-time checks of the Express adapter's public types; run by `tsc --noEmit -p .`.
import express from "express";
import type { Session, User } from "session-manager";
import { loginHandler, logoutHandler, registerHandler, requireUser, sessionMiddleware, withUser } from "session-manager/express";
import { assertType, type Equal } from "./expect-type.js";

const app = express();
app.use(sessionMiddleware());
app.post("/login", loginHandler({ redirectTo: "/", remember: "checkbox" }));
app.post("/register", registerHandler());
app.post("/logout", logoutHandler());
app.get("/me", requireUser(), (req, res) => {
  // Declared as @types/passport declares it, so that both type-check together.
  assertType<Equal<typeof req.user, Express.User | undefined>>();
  assertType<Equal<typeof req.authSession, Session | null>>();
  const user: User | undefined = req.user;
  // @ts-expect-error req.user may be undefined
  assertType<Equal<typeof req.user, Express.User>>();
  // @ts-expect-error the user never carries a password hash
  void req.user?.passwordHash;
  res.json(user);
});
app.get(
  "/account",
  withUser((req, res) => {
    // No `!`: the request is narrowed to a signed-in one.
    assertType<Equal<typeof req.user, Express.User>>();
    assertType<Equal<typeof req.authSession, Session>>();
    res.send(req.user.username);
  }),
);
app.post("/delete", requireUser({ fresh: 600, reauthenticateRedirectTo: "/confirm" }));
// @ts-expect-error fresh is a number of seconds
requireUser({ fresh: "10m" });
// @ts-expect-error remember is "always" or "checkbox"
loginHandler({ remember: true });
// @ts-expect-error cookie.secure takes "auto" or a boolean
sessionMiddleware({ cookie: { secure: "yes" } });
// @ts-expect-error cookie.sameSite takes "lax", "strict" or "none"
sessionMiddleware({ cookie: { sameSite: "relaxed" } });
