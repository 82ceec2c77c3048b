// Redirect targets the three example apps share: where "confirm your password" may send the
// browser on to, and the flash messages that travel in a redirect's query string.

/** The page with the email and password forms, open only shortly after the password was typed. */
export const SECURITY_PAGE = "/account/security";

/**
 * Two-factor authentication: `code`, the second sign-in step (GET the form, POST it); the
 * others are forms on the security page and behind the same fresh sign-in.
 */
export const TWO_FACTOR = Object.freeze({
  code: "/login/code",
  setup: "/account/two-factor/setup",
  confirm: "/account/two-factor/confirm",
  disable: "/account/two-factor/disable",
  recoveryCodes: "/account/two-factor/recovery-codes",
});

// The only places the confirm-password page sends the browser on to. `next` comes from the query
// string, which anyone can write into a link: an allowlist of this app's own paths, rather than
// a check of what a URL looks like, cannot be talked into another site ("//evil.example",
// "/\\evil.example", "https:evil.example" and the like are simply not on it).
const CONFIRM_TARGETS = Object.freeze([SECURITY_PAGE, "/"]);

/** `value` when it is a page the confirm-password step may lead to, else the account page. */
export function safeNext(value) {
  return typeof value === "string" && CONFIRM_TARGETS.includes(value) ? value : "/";
}

/** The confirm-password page, to come back to `next` afterwards. */
export function confirmPasswordPath(next) {
  return `/confirm-password?next=${encodeURIComponent(safeNext(next))}`;
}

/**
 * `requireUser` options for a page or form behind a fresh sign-in: signed out goes to the login
 * page; signed in longer than `freshSeconds` ago goes to confirm the password, then to `next`.
 */
export function freshOptions(freshSeconds, next = SECURITY_PAGE) {
  return { redirectTo: "/login", fresh: freshSeconds, reauthenticateRedirectTo: confirmPasswordPath(next) };
}

/**
 * One `reauthenticateHandler` per target, made once (its `redirectTo` is fixed when it is
 * created), and a lookup from the request's `next` to the right one. `reauthenticateHandler` is
 * the adapter's factory: the same for Express, Koa and Hono.
 */
export function confirmPasswordHandlers(reauthenticateHandler) {
  const handlers = new Map(
    CONFIRM_TARGETS.map((target) => [
      target,
      reauthenticateHandler({ redirectTo: target, failureRedirectTo: confirmPasswordPath(target) }),
    ]),
  );
  return (next) => handlers.get(safeNext(next));
}

/**
 * "Sign out all other devices": `revokeSessionHandler` with the id `others`, redirecting to a
 * notice that says how many. The handler's `redirectTo` is fixed when it is made, so this one is
 * made per request, with the number of other devices the user had just before (a device signing
 * in at that very moment is signed out too, uncounted).
 */
export function revokeOthersHandler(revokeSessionHandler, count) {
  return revokeSessionHandler({ redirectTo: `/?notice=others_signed_out&count=${count}`, failureRedirectTo: "/" });
}

/** How many live sessions the user has besides `currentId`. */
export async function otherSessionCount(manager, userId, currentId) {
  return (await manager.listSessions(userId)).filter((session) => session.id !== currentId).length;
}
