// Compile-time checks of the Express adapter's public types; run by `tsc --noEmit -p .`.
import express from "express";
import type { EmailMessage as CoreEmailMessage, Session, User } from "session-manager";
import {
  confirmEmailChangeHandler,
  emailChangeHandler,
  emailVerificationRequestHandler,
  loginHandler,
  logoutHandler,
  passwordResetHandler,
  passwordResetRequestHandler,
  registerHandler,
  requireUser,
  sessionMiddleware,
  verifyEmailHandler,
  withUser,
  type EmailMessage,
} from "session-manager/express";
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
  if (req.user !== undefined) {
    assertType<Equal<typeof req.user.email, string | null>>();
    assertType<Equal<typeof req.user.emailVerified, boolean>>();
  }
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

// The adapter's message type is the core's, a union told apart by `kind`.
assertType<Equal<EmailMessage, CoreEmailMessage>>();
assertType<Equal<EmailMessage["kind"], "password_reset" | "email_verification" | "email_change" | "email_changed_notice">>();
async function sendEmail(message: EmailMessage): Promise<void> {
  assertType<Equal<typeof message.to, string>>();
  assertType<Equal<typeof message.user, User>>();
  if (message.kind === "email_changed_notice") {
    assertType<Equal<typeof message.newEmail, string>>();
    // @ts-expect-error the notice to the old address never carries a token
    void message.token;
    // @ts-expect-error nor a link
    void message.url;
  } else {
    assertType<Equal<typeof message.token, string>>();
    assertType<Equal<typeof message.url, string>>();
    assertType<Equal<typeof message.expiresAt, Date>>();
  }
}
const link = "https://app.example.com/reset-password";
app.post("/forgot-password", passwordResetRequestHandler({ sendEmail, link }));
// A synchronous sendEmail will do.
app.post("/forgot-password-sync", passwordResetRequestHandler({ sendEmail: (message) => void message.to, link }));
app.post("/reset-password", passwordResetHandler({ redirectTo: "/login", failureRedirectTo: "/reset" }));
app.post("/send-verification", emailVerificationRequestHandler({ sendEmail, link }));
app.get("/verify-email", verifyEmailHandler());
app.post("/change-email", emailChangeHandler({ sendEmail, link }));
app.get("/confirm-email", confirmEmailChangeHandler());
app.post("/confirm-email", confirmEmailChangeHandler({ sendEmail, redirectTo: "/account" }));
// @ts-expect-error link is required
passwordResetRequestHandler({ sendEmail });
// @ts-expect-error sendEmail is required
emailVerificationRequestHandler({ link });
// @ts-expect-error the link handlers need their options
emailChangeHandler();
// @ts-expect-error sendEmail takes a message, not an address
passwordResetRequestHandler({ sendEmail: (to: number) => void to, link });
// @ts-expect-error cookie.secure takes "auto" or a boolean
sessionMiddleware({ cookie: { secure: "yes" } });
// @ts-expect-error cookie.sameSite takes "lax", "strict" or "none"
sessionMiddleware({ cookie: { sameSite: "relaxed" } });
