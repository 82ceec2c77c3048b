// Compile-time checks of the Koa adapter's public types; run by `tsc --noEmit -p .`.
import Koa from "koa";
import type { Session, User } from "session-manager";
import { loginHandler, requireUser, sessionMiddleware, type SessionState } from "session-manager/koa";
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
});

// Without the generic, using the middleware still types ctx.state for what follows.
new Koa().use(sessionMiddleware()).use((ctx) => {
  assertType<Equal<typeof ctx.state.user, User | null>>();
});
