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
  type EmailMessage,
} from "session-manager/express";
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
  if (req.user !== null) {
    assertType<Equal<typeof req.user.email, string | null>>();
    assertType<Equal<typeof req.user.emailVerified, boolean>>();
  }
  res.json(req.user);
});

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
