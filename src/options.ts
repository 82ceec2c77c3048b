import { availableParallelism } from "node:os";
import type { Kysely } from "kysely";
import { InvalidOptionsError } from "./errors.js";
import { refuseUnknownKeys } from "./option-keys.js";
import { SQLITE_DRIVERS, runtimeSqliteDriver, type SqliteDriver } from "./database/sqlite-drivers.js";
import { parseSecretKeys, type TotpKey } from "./totp-secrets.js";
import type { AuthEvent } from "./types.js";

/**
 * Argon2id parameters and the size of the hashing lane. Hashes already stored with other
 * parameters are replaced at each user's next successful login.
 *
 * ### Examples
 *
 * ```ts
 * import { SessionManager } from "session-manager"
 *
 * // 64 MiB, 3 passes, and at most two hashes at a time on this machine.
 * const sm = new SessionManager({ password: { memoryCost: 65536, timeCost: 3, concurrency: 2 } })
 * ```
 */
export interface PasswordOptions {
  /** Memory per hash in KiB. Default 19456 (19 MiB, OWASP). */
  memoryCost?: number;
  /** Iterations. Default 2. */
  timeCost?: number;
  /** Lanes inside one hash. Default 1. */
  parallelism?: number;
  /** Hashes running at once; the rest wait in order. Default: cores - 1, at least 1. */
  concurrency?: number;
  /**
   * Operations that may wait for a hashing slot; past that, logins, sign-ups and password
   * changes fail at once with `ServiceBusyError` (503 over HTTP). Default 32.
   */
  queueLimit?: number;
}

/**
 * Login throttling per username and per client address, kept in the database so every process
 * sees it. The address rules count by the `ip` a login is given (the HTTP adapters pass the
 * framework's client address); a call without one counts only per username. IPv4 addresses
 * count one by one, IPv6 addresses by their /64. Each `ip…` limit takes `false` to turn that
 * rule off.
 *
 * ### Examples
 *
 * ```ts
 * import { SessionManager } from "session-manager"
 *
 * const strict = new SessionManager({ throttle: { maxFailures: 5, baseLockoutSeconds: 60 } })
 * // An office behind one NAT address: more room per address, still a limit.
 * const office = new SessionManager({ throttle: { ipMaxFailures: 300, ipMaxUsernames: 60 } })
 * const off = new SessionManager({ throttle: false })
 * ```
 */
export interface ThrottleOptions {
  /** Consecutive failures before the lockout starts. Default 10. */
  maxFailures?: number;
  /** First lockout in seconds; doubles with each further failure. Default 30. */
  baseLockoutSeconds?: number;
  /** Longest lockout in seconds. Default 900. */
  maxLockoutSeconds?: number;
  /**
   * Failed logins one address may make within 15 minutes; its next attempt is refused and
   * locks the address out of login for 15 minutes (credential stuffing, guessing). Default 50.
   */
  ipMaxFailures?: number | false;
  /**
   * Distinct usernames one address may fail on within an hour; an attempt on one more is
   * refused and locks the address out of login for an hour (password spraying). Default 10.
   */
  ipMaxUsernames?: number | false;
  /** Sign-ups through `registerHandler` per address per hour; past that 429. Default 20. */
  ipMaxRegistrations?: number | false;
  /** Requests to `passwordResetRequestHandler` per address per hour; past that 429. Default 20. */
  ipMaxResetRequests?: number | false;
}

/**
 * How long the one-time tokens of account recovery stay usable.
 *
 * ### Examples
 *
 * ```ts
 * import { SessionManager } from "session-manager"
 *
 * const sm = new SessionManager({ tokens: { passwordResetMinutes: 20 } })
 * ```
 */
export interface TokenOptions {
  /** Password reset links. Default 60. */
  passwordResetMinutes?: number;
  /** Email verification links. Default 48. */
  emailVerificationHours?: number;
  /** Email change confirmation links. Default 24. */
  emailChangeHours?: number;
}

/**
 * Two-factor authentication with TOTP (authenticator apps). Without this option the methods that
 * need the secret (`beginTotpSetup`, `confirmTotpSetup`, `completeSignIn` with an app's code)
 * throw `InvalidOptionsError`; users who already have TOTP still get a pending sign-in rather
 * than a session, and `disableTotp`, `regenerateRecoveryCodes` and recovery codes work.
 *
 * Rotating the key: put the new key first and keep the old one after it. New secrets are
 * encrypted under the first key, and every key of the list decrypts the secrets made under it.
 * `reencryptTotpSecrets()` then moves the stored secrets to the first key; once it has, the old
 * key can be dropped. A secret whose key is missing from the list throws `TotpKeyError`.
 *
 * ### Examples
 *
 * ```ts
 * import { SessionManager } from "session-manager"
 *
 * const sm = new SessionManager({
 *   // 32 random bytes, e.g. `openssl rand -base64 32`, kept out of the database and the code.
 *   totp: { issuer: "Example App", secretKey: process.env["TOTP_KEY"] ?? "" },
 * })
 * // During a rotation: the new key first, the old one still readable.
 * const rotating = new SessionManager({
 *   totp: { issuer: "Example App", secretKey: [process.env["TOTP_KEY_NEW"] ?? "", process.env["TOTP_KEY"] ?? ""] },
 * })
 * ```
 */
export interface TotpOptions {
  /** The name authenticator apps show beside the account, e.g. your app's name. No colon. */
  issuer: string;
  /**
   * The 32-byte key (AES-256-GCM) that secrets are encrypted under: a Buffer or Uint8Array, or a
   * string of 64 hex digits or of base64 (44 characters). A list for rotation: the first key
   * encrypts, all of them decrypt.
   */
  secretKey: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
}

/**
 * Options of `new SessionManager(options)`; every one is optional. They are checked once, in the
 * constructor, which throws `InvalidOptionsError` for a value out of range.
 *
 * ### Examples
 *
 * ```ts
 * import { SessionManager } from "session-manager"
 *
 * const sm = new SessionManager({
 *   database: "postgres://app:secret@localhost:5432/app",
 *   sessionDurationDays: 7,
 *   absoluteLifetimeDays: 90,
 *   tablePrefix: "myapp_",
 *   autoMigrate: false,
 * })
 * await sm.migrate()
 * ```
 */
export interface SessionManagerOptions {
  /**
   * A URL (`sqlite:PATH`, `sqlite::memory:`, `postgres://…`, `postgresql://…`, `mysql://…`,
   * `mariadb://…`) or a `Kysely` instance. Default: `SESSION_DATABASE_URL`, else
   * `sqlite:sessions.db`.
   */
  database?: string | Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /**
   * The driver a `sqlite:` database opens with: `"better-sqlite3"`, `"node:sqlite"` (Deno 2,
   * Node.js 22.13 or later) or `"bun:sqlite"` (Bun). Default: the runtime's, `"bun:sqlite"` on
   * Bun, `"node:sqlite"` on Deno (neither loads better-sqlite3's addon), else `"better-sqlite3"`.
   * The choice is made once, at construction: `sm.driver` tells it. Every driver reads and
   * writes the same file format, so one database file opens under all three. Other databases
   * ignore it.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * // Node.js 22.13 or later without the compiled addon: the runtime's own SQLite.
   * const sm = new SessionManager({ database: "sqlite:sessions.db", sqliteDriver: "node:sqlite" })
   * console.log(sm.driver) // "node:sqlite"
   * ```
   */
  sqliteDriver?: SqliteDriver;
  /** A session lives this long since its last renewal. Default 30. */
  sessionDurationDays?: number;
  /** Hard cap from creation, never extended by renewal. Default: none. */
  absoluteLifetimeDays?: number;
  /** Prefix for every table the library creates. Default "". */
  tablePrefix?: string;
  /** Create or upgrade the tables before the first operation. Default true. */
  autoMigrate?: boolean;
  password?: PasswordOptions;
  /** `false` turns throttling off. */
  throttle?: ThrottleOptions | false;
  /** Lifetimes of password reset, email verification and email change tokens. */
  tokens?: TokenOptions;
  /** Time source. Default `() => new Date()`. */
  clock?: () => Date;
  /** Audit listener; a throwing listener never breaks the operation. */
  onEvent?: (event: AuthEvent) => void;
  /** Two-factor authentication with TOTP; without it, the methods that need its key throw. */
  totp?: TotpOptions;
}

export interface ResolvedPasswordOptions {
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
  readonly concurrency: number;
  readonly queueLimit: number;
}

export interface ResolvedThrottleOptions {
  readonly maxFailures: number;
  readonly baseLockoutSeconds: number;
  readonly maxLockoutSeconds: number;
  /** The per-address limits; null where turned off. */
  readonly ipMaxFailures: number | null;
  readonly ipMaxUsernames: number | null;
  readonly ipMaxRegistrations: number | null;
  readonly ipMaxResetRequests: number | null;
}

export interface ResolvedTokenOptions {
  readonly passwordResetMs: number;
  readonly emailVerificationMs: number;
  readonly emailChangeMs: number;
}

export interface ResolvedOptions {
  readonly database: string | Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly sqliteDriver: SqliteDriver;
  readonly sessionDurationMs: number;
  readonly absoluteLifetimeMs: number | null;
  readonly tablePrefix: string;
  readonly autoMigrate: boolean;
  readonly password: ResolvedPasswordOptions;
  readonly throttle: ResolvedThrottleOptions | null;
  readonly tokens: ResolvedTokenOptions;
  readonly clock: () => Date;
  readonly onEvent: ((event: AuthEvent) => void) | null;
  readonly totp: ResolvedTotpOptions | null;
}

export interface ResolvedTotpOptions {
  readonly issuer: string;
  /** The first encrypts; all decrypt. */
  readonly keys: readonly TotpKey[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

const OPTION_KEYS: ReadonlyArray<keyof SessionManagerOptions> = [
  "database",
  "sqliteDriver",
  "sessionDurationDays",
  "absoluteLifetimeDays",
  "tablePrefix",
  "autoMigrate",
  "password",
  "throttle",
  "tokens",
  "clock",
  "onEvent",
  "totp",
];

/** Checks and freezes the options once, so a bad value fails at construction, not mid-request. */
export function resolveOptions(options: SessionManagerOptions = {}): ResolvedOptions {
  if (typeof options === "string") {
    throw new InvalidOptionsError(
      `new SessionManager() takes an object of options: new SessionManager({ database: ${JSON.stringify(options)} })`,
    );
  }
  refuseUnknownKeys("new SessionManager(options)", options, OPTION_KEYS);
  refuseUnknownKeys("password", options.password, ["memoryCost", "timeCost", "parallelism", "concurrency", "queueLimit"]);
  if (options.throttle !== false)
    refuseUnknownKeys("throttle", options.throttle, [
      "maxFailures",
      "baseLockoutSeconds",
      "maxLockoutSeconds",
      "ipMaxFailures",
      "ipMaxUsernames",
      "ipMaxRegistrations",
      "ipMaxResetRequests",
    ]);
  refuseUnknownKeys("tokens", options.tokens, ["passwordResetMinutes", "emailVerificationHours", "emailChangeHours"]);
  const durationDays = options.sessionDurationDays ?? 30;
  positive("sessionDurationDays", durationDays);
  if (options.absoluteLifetimeDays !== undefined) positive("absoluteLifetimeDays", options.absoluteLifetimeDays);
  const tablePrefix = options.tablePrefix ?? "";
  if (!/^[A-Za-z0-9_]{0,32}$/.test(tablePrefix)) {
    throw new InvalidOptionsError("tablePrefix may hold only letters, digits and _ (at most 32)");
  }
  const password = options.password ?? {};
  const resolvedPassword: ResolvedPasswordOptions = Object.freeze({
    memoryCost: integer("password.memoryCost", password.memoryCost ?? 19456, 8, 4 * 1024 * 1024),
    timeCost: integer("password.timeCost", password.timeCost ?? 2, 1, 100),
    parallelism: integer("password.parallelism", password.parallelism ?? 1, 1, 255),
    concurrency: integer("password.concurrency", password.concurrency ?? Math.max(1, availableParallelism() - 1), 1, 1024),
    queueLimit: integer("password.queueLimit", password.queueLimit ?? 32, 0, 1_000_000),
  });
  if (resolvedPassword.memoryCost < 8 * resolvedPassword.parallelism) {
    throw new InvalidOptionsError("password.memoryCost must be at least 8 KiB per lane of parallelism");
  }
  let throttle: ResolvedThrottleOptions | null = null;
  if (options.throttle !== false) {
    const t = options.throttle ?? {};
    throttle = Object.freeze({
      maxFailures: integer("throttle.maxFailures", t.maxFailures ?? 10, 1, 1_000_000),
      baseLockoutSeconds: integer("throttle.baseLockoutSeconds", t.baseLockoutSeconds ?? 30, 1, 86_400),
      maxLockoutSeconds: integer("throttle.maxLockoutSeconds", t.maxLockoutSeconds ?? 900, 1, 86_400 * 365),
      ipMaxFailures: limit("throttle.ipMaxFailures", t.ipMaxFailures, 50, 1_000_000),
      // Each distinct username takes a few dozen bytes in the address's row.
      ipMaxUsernames: limit("throttle.ipMaxUsernames", t.ipMaxUsernames, 10, 1000),
      ipMaxRegistrations: limit("throttle.ipMaxRegistrations", t.ipMaxRegistrations, 20, 1_000_000),
      ipMaxResetRequests: limit("throttle.ipMaxResetRequests", t.ipMaxResetRequests, 20, 1_000_000),
    });
  }
  const tokens = options.tokens ?? {};
  if (typeof tokens !== "object" || tokens === null) throw new InvalidOptionsError("tokens must be an object");
  const resolvedTokens: ResolvedTokenOptions = Object.freeze({
    passwordResetMs: integer("tokens.passwordResetMinutes", tokens.passwordResetMinutes ?? 60, 1, 7 * 24 * 60) * 60_000,
    emailVerificationMs: integer("tokens.emailVerificationHours", tokens.emailVerificationHours ?? 48, 1, 30 * 24) * 3_600_000,
    emailChangeMs: integer("tokens.emailChangeHours", tokens.emailChangeHours ?? 24, 1, 30 * 24) * 3_600_000,
  });
  const database = options.database ?? process.env["SESSION_DATABASE_URL"] ?? "sqlite:sessions.db";
  if (typeof database !== "string" && (typeof database !== "object" || database === null)) {
    throw new InvalidOptionsError("database must be a URL string or a Kysely instance");
  }
  const sqliteDriver = options.sqliteDriver ?? runtimeSqliteDriver();
  if (!SQLITE_DRIVERS.includes(sqliteDriver)) {
    throw new InvalidOptionsError(`sqliteDriver must be one of ${SQLITE_DRIVERS.map((name) => JSON.stringify(name)).join(", ")}`);
  }
  if (options.clock !== undefined && typeof options.clock !== "function") {
    throw new InvalidOptionsError("clock must be a function returning a Date");
  }
  if (options.onEvent !== undefined && typeof options.onEvent !== "function") {
    throw new InvalidOptionsError("onEvent must be a function");
  }
  return Object.freeze({
    database,
    sqliteDriver,
    sessionDurationMs: durationDays * DAY_MS,
    absoluteLifetimeMs: options.absoluteLifetimeDays === undefined ? null : options.absoluteLifetimeDays * DAY_MS,
    tablePrefix,
    autoMigrate: options.autoMigrate ?? true,
    password: resolvedPassword,
    throttle,
    tokens: resolvedTokens,
    clock: options.clock ?? (() => new Date()),
    onEvent: options.onEvent ?? null,
    totp: resolveTotp(options.totp),
  });
}

function resolveTotp(totp: TotpOptions | undefined): ResolvedTotpOptions | null {
  if (totp === undefined) return null;
  refuseUnknownKeys("totp", totp, ["issuer", "secretKey"]);
  if (totp === null) throw new InvalidOptionsError("totp must be an object with issuer and secretKey");
  const { issuer } = totp;
  // The issuer is the label's prefix in the otpauth URI, before a colon.
  if (typeof issuer !== "string" || issuer.trim() === "" || issuer.length > 100 || /[:\p{Cc}]/u.test(issuer)) {
    throw new InvalidOptionsError("totp.issuer must be a name of 1 to 100 characters without a colon or control characters");
  }
  return Object.freeze({ issuer: issuer.trim(), keys: parseSecretKeys(totp.secretKey) });
}

function positive(name: string, value: number): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > 100 * 365) {
    throw new InvalidOptionsError(`${name} must be a positive number of days (at most 36500)`);
  }
}

/** A per-address limit: `false` turns the rule off (null), undefined takes the default. */
function limit(name: string, value: number | false | undefined, fallback: number, max: number): number | null {
  if (value === false) return null;
  const chosen = value ?? fallback;
  if (!Number.isInteger(chosen) || chosen < 1 || chosen > max) {
    throw new InvalidOptionsError(`${name} must be an integer from 1 to ${max}, or false`);
  }
  return chosen;
}

function integer(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionsError(`${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}
