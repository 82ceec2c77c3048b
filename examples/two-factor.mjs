// Two-factor authentication in the example apps, the same for Express, Koa and Hono: each step
// takes the signed-in user (and the form or session token it needs) and answers
// `{ html, status }` for a page to send or `{ redirect }` for a 303. The servers only wire them
// to routes behind `requireUser(freshOptions(...))`.
import QRCode from "qrcode";
import { TotpAlreadyEnabledError, TotpNotEnabledError } from "session-manager";
import { recoveryCodesPage, twoFactorSetupPage } from "./pages.mjs";
import { SECURITY_PAGE } from "./routes.mjs";

// Form bodies here are one short field or two; anything longer is not one of these forms.
const MAX_FORM_BYTES = 4096;

/**
 * The fields of a urlencoded form posted to a Node.js request (Express's `req`, Koa's
 * `ctx.req`): a plain object of strings, empty for another content type or a body too large.
 */
export async function readForm(request) {
  if (!String(request.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) return {};
  let body = "";
  for await (const chunk of request) {
    body += chunk;
    if (body.length > MAX_FORM_BYTES) return {};
  }
  return Object.fromEntries(new URLSearchParams(body));
}

/** Shows the setup page with a new secret (replacing any unconfirmed one); nothing is on yet. */
export async function beginSetup(manager, user) {
  let setup;
  try {
    setup = await manager.beginTotpSetup(user.id);
  } catch (error) {
    if (error instanceof TotpAlreadyEnabledError) return { redirect: SECURITY_PAGE };
    throw error;
  }
  return { html: await setupPage(user, setup.uri) };
}

/**
 * Turns two-factor authentication on when `form.code` is the app's current code for the secret
 * the manager saved, and shows the recovery codes this once. A wrong code shows the same QR
 * code again (from the form's `uri`, which only changes what this user sees).
 */
export async function confirmSetup(manager, user, form) {
  const codes = await manager.confirmTotpSetup(user.id, typeof form.code === "string" ? form.code : "");
  if (codes !== null) return { html: recoveryCodesPage(codes) };
  const uri = setupUri(form.uri);
  if (uri === null || (await manager.hasTotp(user.id))) return { redirect: SECURITY_PAGE };
  return { status: 400, html: await setupPage(user, uri, { wrongCode: true }) };
}

/** Turns it off and signs out every other device (`token`: this request's session cookie). */
export async function disable(manager, user, token) {
  await manager.disableTotp(user.id, { keepToken: token ?? undefined });
  return { redirect: `${SECURITY_PAGE}?notice=two_factor_disabled` };
}

/** New recovery codes in place of the old ones, shown this once; signs out every other device. */
export async function newRecoveryCodes(manager, user, token) {
  try {
    return {
      html: recoveryCodesPage(await manager.regenerateRecoveryCodes(user.id, { keepToken: token ?? undefined }), { regenerated: true }),
    };
  } catch (error) {
    if (error instanceof TotpNotEnabledError) return { redirect: SECURITY_PAGE };
    throw error;
  }
}

async function setupPage(user, uri, options) {
  const secret = new URL(uri).searchParams.get("secret");
  // A PNG data URL: an <img> with no request to make, fine under a strict Content-Security-Policy's img-src data:.
  const qrDataUrl = await QRCode.toDataURL(uri, { errorCorrectionLevel: "M", margin: 2, width: 192 });
  return twoFactorSetupPage(user, { secret, uri, qrDataUrl }, options);
}

// The otpauth URI the setup form carried back, when it still looks like one; else null.
function setupUri(value) {
  if (typeof value !== "string" || value.length > 512) return null;
  let url;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  const secret = url.searchParams.get("secret");
  return url.protocol === "otpauth:" && secret !== null && /^[A-Z2-7]{16,64}$/.test(secret) ? value : null;
}
