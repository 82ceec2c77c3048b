// Compile-time checks of the Hono adapter's public types; run by `tsc --noEmit -p .`.
import { Hono } from "hono";
import type { Session, User } from "session-manager";
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
  type SessionVariables,
} from "session-manager/hono";
import { assertType, type Equal } from "./expect-type.js";

const app = new Hono<{ Variables: SessionVariables }>();
app.use(sessionMiddleware());
app.post("/login", loginHandler());
app.post("/register", registerHandler());
app.post("/logout", logoutHandler({ redirectTo: "/login" }));
app.get("/me", requireUser(), (c) => {
  const user = c.get("user");
  const session = c.get("session");
  assertType<Equal<typeof user, User | null>>();
  assertType<Equal<typeof session, Session | null>>();
  // @ts-expect-error c.get("user") may be null
  assertType<Equal<typeof user, User>>();
  // @ts-expect-error only the declared variables exist
  c.get("token");
  assertType<Equal<NonNullable<typeof user>["email"], string | null>>();
  assertType<Equal<NonNullable<typeof user>["emailVerified"], boolean>>();
  return c.json(user);
});

const sendEmail = async (message: EmailMessage): Promise<void> => void message.to;
const link = "https://app.example.com/confirm-email";
app.post("/forgot-password", passwordResetRequestHandler({ sendEmail, link }));
app.all("/reset-password", passwordResetHandler());
app.post("/send-verification", emailVerificationRequestHandler({ sendEmail, link }));
app.get("/verify-email", verifyEmailHandler());
app.post("/change-email", emailChangeHandler({ sendEmail, link }));
app.get("/confirm-email", confirmEmailChangeHandler({ sendEmail }));
// @ts-expect-error sendEmail is required
app.post("/change-email", emailChangeHandler({ link }));

// clientAddress: a function of the context answering the address, or nothing.
app.use(sessionMiddleware({ clientAddress: (c) => c.req.header("x-forwarded-for")?.split(",").at(-1)?.trim() }));
app.use(sessionMiddleware({ clientAddress: () => null }));
// @ts-expect-error a header name is not a function
app.use(sessionMiddleware({ clientAddress: "x-forwarded-for" }));
