// Compile-time checks of the Koa adapter's public types; run by `tsc --noEmit -p .`.
import Koa from "koa";
import type { Session, User } from "session-manager";
import {
  confirmEmailChangeHandler,
  emailChangeHandler,
  emailVerificationRequestHandler,
  loginHandler,
  passwordResetHandler,
  passwordResetRequestHandler,
  requireUser,
  sessionMiddleware,
  verifyEmailHandler,
  type EmailMessage,
  type SessionState,
} from "session-manager/koa";
import { assertType, type Equal } from "./expect-type.js";

const app = new Koa<SessionState>();
app.use(sessionMiddleware());
app.use(requireUser());
app.use(loginHandler());
app.use((ctx) => {
  assertType<Equal<typeof ctx.state.user, User | null>>();
  assertType<Equal<typeof ctx.state.session, Session | null>>();
  // @ts-expect-error ctx.state.user may be null
  assertType<Equal<typeof ctx.state.user, User>>();
  assertType<Equal<NonNullable<typeof ctx.state.user>["email"], string | null>>();
  assertType<Equal<NonNullable<typeof ctx.state.user>["emailVerified"], boolean>>();
});

const sendEmail = (message: EmailMessage): void => void message.to;
const link = "https://app.example.com/verify-email";
app.use(passwordResetRequestHandler({ sendEmail, link }));
app.use(passwordResetHandler());
app.use(emailVerificationRequestHandler({ sendEmail, link }));
app.use(verifyEmailHandler({ redirectTo: "/account" }));
app.use(emailChangeHandler({ sendEmail, link }));
app.use(confirmEmailChangeHandler({ sendEmail }));
// @ts-expect-error link is required
app.use(emailChangeHandler({ sendEmail }));

// Without the generic, using the middleware still types ctx.state for what follows.
new Koa().use(sessionMiddleware()).use((ctx) => {
  assertType<Equal<typeof ctx.state.user, User | null>>();
});
