// The example apps' settings, read from the environment by each server's start-up code and
// passed down: nothing here runs when a module is imported.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";

// The sensitive settings stay open this long after the password was last typed.
const DEFAULT_FRESH_SECONDS = 600;

/**
 * `PORT` (default 3000); `HOST`, the address to listen on (default 127.0.0.1: this machine only;
 * `0.0.0.0` or `::` for every interface); `APP_URL`, the public origin the links in mail point at
 * (default the listening URL, or `http://localhost:${PORT}` on every interface); `SMTP_URL`
 * (unset: the development outbox); `MAIL_FROM`; `FRESH_SECONDS`, how long after the password was
 * last typed the security settings open without asking for it again (default 600);
 * `TRUST_PROXY`, how many reverse proxies stand in front of the app (default 0): the client
 * address that login throttling counts by is then the one the outermost of them appended to
 * `X-Forwarded-For`. Leave it 0 without a proxy: the header is whatever the client wrote.
 * `TOTP_SECRET_KEY`: 64 hex digits, the key the two-factor secrets are encrypted under in the
 * database (unset: `totpOptions` keeps a generated one in a file).
 */
export function readSettings(env) {
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, not ${JSON.stringify(env.PORT)}`);
  const host = env.HOST || "127.0.0.1";
  const url = listeningUrl(host, port);
  const configured = env.APP_URL ? publicOrigin(env.APP_URL) : null;
  return {
    host,
    port,
    // Links in mail are built from this, never from the request's Host header, which any client sets.
    // By default they point where the server listens, so that the browser that follows one uses
    // the same host name, and so the same cookies, as the one that asked for it.
    appUrl: configured ?? (isWildcard(host) ? `http://localhost:${port}` : url),
    // Behind a reverse proxy the app sees another scheme or host than the browser does: with
    // APP_URL set, the CSRF check compares against it (and a https: origin makes cookies Secure).
    origin: configured ?? undefined,
    smtpUrl: env.SMTP_URL || null,
    mailFrom: env.MAIL_FROM || "session-manager example <no-reply@localhost>",
    freshSeconds: freshSeconds(env.FRESH_SECONDS),
    trustProxy: proxyHops(env.TRUST_PROXY),
    totpSecretKey: totpSecretKey(env.TOTP_SECRET_KEY),
  };
}

/** The name authenticator apps show beside the account. */
export const TOTP_ISSUER = "session-manager example";

/** Where the example keeps the key it generated, beside its database (sessions.db). */
export const TOTP_KEY_FILE = "totp-secret.key";

const HEX_KEY = /^[0-9a-f]{64}$/i;

/**
 * The manager's `totp` option. The key is `TOTP_SECRET_KEY` when set; otherwise the one in
 * `totp-secret.key` in `directory`, made on the first start (mode 0600) so that restarts still
 * decrypt the secrets saved before. That is for trying the example out: a production app takes
 * its key from its secret store, never from a file beside the database it protects.
 */
export function totpOptions(settings, directory = process.cwd(), log = console.log) {
  return { issuer: TOTP_ISSUER, secretKey: settings.totpSecretKey ?? keyFromFile(resolve(directory, TOTP_KEY_FILE), log) };
}

function keyFromFile(file, log) {
  try {
    // "wx": never overwrite a key another start wrote meanwhile, which secrets may already use.
    writeFileSync(file, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600, flag: "wx" });
    log(`Generated a two-factor key in ${file}. Set TOTP_SECRET_KEY instead in production.`);
  } catch (error) {
    if (error.code !== "EEXIST") throw error;
  }
  const key = readFileSync(file, "utf8").trim();
  if (!HEX_KEY.test(key)) throw new Error(`${file} must hold a key of 64 hex digits (or set TOTP_SECRET_KEY)`);
  return key;
}

function totpSecretKey(value) {
  if (value === undefined || value === "") return null;
  if (!HEX_KEY.test(value)) throw new Error("TOTP_SECRET_KEY must be 64 hex digits (openssl rand -hex 32)");
  return value;
}

/** The URL of a server listening on `host` and `port`, as a browser on this machine writes it. */
export function listeningUrl(host, port) {
  const name = isWildcard(host) ? "localhost" : host;
  return `http://${name.includes(":") ? `[${name}]` : name}:${port}`;
}

/** The line a server prints once it listens: where to open it, and where its mail links point. */
export function listeningMessage(framework, host, port, appUrl) {
  const where = isWildcard(host) ? ` (every interface, ${host})` : "";
  return `${framework} example listening on ${listeningUrl(host, port)}${where} (links in mail: ${appUrl})`;
}

function isWildcard(host) {
  return host === "0.0.0.0" || host === "::" || host === "[::]";
}

function proxyHops(value) {
  if (value === undefined || value === "") return 0;
  const hops = Number(value);
  if (!Number.isInteger(hops) || hops < 0 || hops > 10)
    throw new Error(`TRUST_PROXY must be a number of proxies from 0 to 10, not ${JSON.stringify(value)}`);
  return hops;
}

function freshSeconds(value) {
  if (value === undefined || value === "") return DEFAULT_FRESH_SECONDS;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`FRESH_SECONDS must be a positive number, not ${JSON.stringify(value)}`);
  return seconds;
}

function publicOrigin(value) {
  let url;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`APP_URL must be an absolute URL such as https://app.example.com, not ${JSON.stringify(value)}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error("APP_URL must be an http(s) URL");
  // The example serves its pages at the root of its origin; a path here would make links that miss them.
  if (url.pathname !== "/" || url.search !== "") throw new Error(`APP_URL must be an origin without a path: ${url.origin}`);
  return url.origin;
}
