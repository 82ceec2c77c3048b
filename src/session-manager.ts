import type { Kysely } from "kysely";
import { connect } from "./database/connect.js";
import type { DialectKind } from "./database/dialect.js";
import { migrateToLatest } from "./database/migrations.js";
import { withMigrationTimeouts } from "./database/timeouts.js";
import type { Database } from "./database/schema.js";
import { rekeyUsernames, type RefusedUsername, type UsernameConflict, type UsernameKeyReport } from "./database/username-keys.js";
import {
  deleteExpiredBatch,
  deleteSession,
  deleteUserSessions,
  insertSession,
  listUserSessions,
  sessionLookup,
  sessionOf,
  updateSessionTimes,
  userOf,
  type SessionLookup,
  type SessionRecord,
} from "./database/sessions.js";
import { NOT_NOW } from "./database/row-reader.js";
import { clearThrottle, deleteStaleThrottles, reserveAttempt, type LockoutSchedule } from "./database/throttle.js";
import {
  deleteUserAndSessions,
  findUserById,
  findUserByName,
  insertUser,
  isUniqueViolation,
  updatePasswordHash,
  type UserRecord,
} from "./database/users.js";
import { InvalidOptionsError, InvalidPasswordError, LoginThrottledError, ServiceBusyError, UserNotFoundError, UsernameTakenError } from "./errors.js";
import { emitEvent } from "./events.js";
import { resolveOptions, type ResolvedOptions, type SessionManagerOptions } from "./options.js";
import { PasswordHasher, isArgon2Hash, normalizePassword, requirePassword } from "./passwords.js";
import { initialExpiry, isLive, refreshAt, type Refresh } from "./sessions.js";
import { lockoutSteps, retryAfterSeconds } from "./throttle.js";
import { digestsEqual, generateSessionId, generateToken, hashToken, isWellFormedToken } from "./tokens.js";
import type { AuthEvent, AuthEventType, Session, SessionCheck, SessionMeta, User } from "./types.js";
import { normalizeUsername, requireUsername, type NormalizedUsername } from "./usernames.js";

/**
 * Key of the manager's synchronous validation, for the HTTP middleware. A registered symbol, so
 * that a manager from the package's other module format (CommonJS beside ESM) is still understood.
 *
 * @internal
 */
export const checkSessionNow: unique symbol = Symbol.for("session-manager.checkSessionNow");

/**
 * Key of the manager's event delivery, for the HTTP layer's own events (`csrf_rejected`).
 * Registered, like `checkSessionNow`, so that adapters of either module format reach it.
 *
 * @internal
 */
export const emitAuthEvent: unique symbol = Symbol.for("session-manager.emitAuthEvent");

// Marks a SessionManager of any build of this package (the CommonJS and the ESM one are two classes).
const MANAGER_BRAND: unique symbol = Symbol.for("session-manager.SessionManager");

/**
 * True for a `SessionManager` made by either module format of this package: `instanceof` is
 * false across the CommonJS and ESM builds, which are two classes.
 *
 * @internal
 */
export function isSessionManager(value: unknown): value is SessionManager {
  return typeof value === "object" && value !== null && (value as { [MANAGER_BRAND]?: unknown })[MANAGER_BRAND] === true;
}

// Throttle rows of usernames nobody has tried for a day are forgotten by deleteExpiredSessions.
const THROTTLE_MEMORY_MS = 24 * 60 * 60 * 1000;
const EXPIRED_BATCH_SIZE = 1000;

/** Options of `changePassword`. */
export interface ChangePasswordOptions {
  /** A token of this user to keep signed in; every other session of the user is revoked. */
  keepToken?: string;
}

/** Options of `migrate`. */
export interface MigrateOptions {
  /**
   * Also check every stored username against the current rules, as the migration that introduced
   * them did: re-key rows whose key the rules now compute differently (rows a process of an older
   * release inserted meanwhile, say) and report the rest. Reads the whole users table in batches,
   * so it belongs in deploy scripts and the CLI's `migrate`, not in every start-up.
   */
  checkUsernames?: boolean;
}

/**
 * What `migrate()` found that needs a person. Usernames are compared under full case folding and
 * refuse invisible characters since the migration `2026_11_20_0001_username_case_folding`; it
 * re-keys the stored names, but never merges or deletes users.
 */
export interface MigrationReport {
  /** How many stored usernames got the key of the current rules. */
  rekeyedUsernames: number;
  /**
   * Users that are one name under the current rules (`Straße` and `STRASSE`). They keep their
   * old keys, and each still signs in with the name it used before. Delete all but one, or change
   * their `username` column in the database and run `migrate({ checkUsernames: true })` (the
   * CLI's `migrate`), which gives the renamed rows their new keys.
   */
  usernameConflicts: UsernameConflict[];
  /**
   * Users whose stored name the current rules refuse (an invisible or bidirectional character).
   * Their rows and sessions are kept, but they can no longer sign in by name; a new name set in
   * the database gets its key the same way.
   */
  invalidUsernames: RefusedUsername[];
}

/**
 * User accounts, password login and server-side sessions over one SQL database.
 *
 * ### Examples
 *
 * ```ts
 * import { SessionManager } from "session-manager"
 *
 * const sm = new SessionManager({ database: "sqlite::memory:" })
 * await sm.createUser("alice", "correct horse battery staple")
 * const token = await sm.login("alice", "correct horse battery staple")
 * if (token !== null) {
 *   const user = await sm.validateSession(token) // { id: 1, username: "alice", createdAt: … }
 * }
 * await sm.close()
 * ```
 */
export class SessionManager {
  readonly #options: ResolvedOptions;
  readonly #db: Kysely<Database>;
  readonly #kind: DialectKind;
  readonly #ownsDatabase: boolean;
  readonly #passwords: PasswordHasher;
  readonly #sessions: SessionLookup;
  readonly #throttle: LockoutSchedule | null;
  #migration: Promise<MigrationReport> | null = null;
  #migrated: boolean;
  #migrationRekeyed = false;
  /** @internal */
  readonly [MANAGER_BRAND] = true;

  constructor(options: SessionManagerOptions = {}) {
    this.#options = resolveOptions(options);
    const connection = connect(this.#options.database, this.#options.tablePrefix);
    this.#db = connection.db;
    this.#kind = connection.kind;
    this.#ownsDatabase = connection.owned;
    this.#passwords = new PasswordHasher(this.#options.password);
    this.#sessions = sessionLookup(this.#db, connection.readOne, connection.readOneNow);
    this.#migrated = !this.#options.autoMigrate;
    const throttle = this.#options.throttle;
    this.#throttle = throttle === null ? null : Object.freeze({ maxFailures: throttle.maxFailures, steps: Object.freeze(lockoutSteps(throttle)) });
  }

  /**
   * The SQL family of the database in use: `"sqlite"`, `"postgres"` or `"mysql"`.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * if (sm.dialect === "sqlite") console.log("embedded database")
   * ```
   */
  get dialect(): DialectKind {
    return this.#kind;
  }

  /**
   * Creates or upgrades the library's tables. Idempotent, and safe when several processes call
   * it at once. With `autoMigrate` (the default) the first operation calls it for you.
   *
   * Returns what this manager's migration found that needs a person (users that the current
   * username rules make one name, names they refuse): every call returns the report of the one
   * migration the manager runs, so with `autoMigrate` a call at start-up still gets it. Only the
   * run that applies a migration reading the users table, or `{ checkUsernames: true }`, reads
   * it; other start-ups do not. The report holds user ids and names, never a secret.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * // At deploy time, with the app's managers built with autoMigrate: false:
   * const sm = new SessionManager({ database: "postgres://localhost/app", autoMigrate: false })
   * const report = await sm.migrate({ checkUsernames: true })
   * for (const conflict of report.usernameConflicts) {
   *   console.warn(`users ${conflict.userIds.join(", ")} are one name now; rename all but one`)
   * }
   * ```
   */
  async migrate(options: MigrateOptions = {}): Promise<MigrationReport> {
    const starts = this.#migration === null;
    // The migration lock wait and a table rewrite may take minutes: its queries get longer than requests'.
    this.#migration ??= withMigrationTimeouts(() => migrateToLatest(this.#db, this.#kind, this.#options.tablePrefix)).then(
      (rekey) => {
        this.#migrated = true;
        this.#migrationRekeyed = rekey !== null;
        return reportOf(rekey);
      },
      (error: unknown) => {
        // A failed attempt (database down at start-up) is tried again by the next call.
        this.#migration = null;
        throw error;
      },
    );
    const report = await this.#migration;
    // A re-key migration that this call ran has just checked every row.
    if (options.checkUsernames === true && !(starts && this.#migrationRekeyed)) {
      return reportOf(await rekeyUsernames(this.#db, this.#kind));
    }
    return structuredClone(report);
  }

  /**
   * Creates a user with an argon2id hash of the password. Throws `UsernameTakenError`,
   * `InvalidUsernameError` (1 to 64 characters, no invisible, control or format characters) or
   * `InvalidPasswordError` (8 to 1024 characters).
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * const user = await sm.createUser("Alice", "correct horse battery staple")
   * console.log(user.id, user.username) // 1 "Alice"
   * ```
   */
  async createUser(username: string, password: string): Promise<User> {
    const name = requireUsername(username);
    const passwordHash = await this.#passwords.hash(requirePassword(password));
    return this.#insertUser(name, passwordHash);
  }

  /**
   * Creates a user from an argon2 PHC string made elsewhere (argon2i, argon2d or argon2id), for
   * migrating accounts from another system. The hash is upgraded at the user's next login.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * await sm.importUser("alice", "$argon2i$v=19$m=4096,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$R0jF4ldHwAs3ifBFrUM8ZxJW62YS6+1tBJXnYWizlZw")
   * ```
   */
  async importUser(username: string, passwordHash: string): Promise<User> {
    const name = requireUsername(username);
    if (!isArgon2Hash(passwordHash)) throw new InvalidPasswordError("passwordHash must be an argon2 PHC string");
    return this.#insertUser(name, passwordHash);
  }

  /**
   * The user with this username (compared after NFKC and case folding), or null.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * await sm.createUser("Alice", "correct horse battery staple")
   * const user = await sm.getUser("ALICE") // { id: 1, username: "Alice", … }
   * ```
   */
  async getUser(username: string): Promise<User | null> {
    const name = normalizeUsername(username);
    if (name === null) return null;
    await this.#ready();
    return (await findUserByName(this.#db, name))?.user ?? null;
  }

  /**
   * The user with this id, or null.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * const user = await sm.getUserById(1)
   * if (user === null) console.log("no such user")
   * ```
   */
  async getUserById(id: number): Promise<User | null> {
    if (!isId(id)) return null;
    await this.#ready();
    return (await findUserById(this.#db, id))?.user ?? null;
  }

  /**
   * The user when the password is right, else null. An unknown username costs the same time as
   * a wrong password. Throws `LoginThrottledError` while the username is locked out.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * const user = await sm.authenticateUser("alice", "correct horse battery staple")
   * if (user === null) console.log("wrong username or password")
   * ```
   */
  async authenticateUser(username: string, password: string): Promise<User | null> {
    return this.#authenticate(username, password, {});
  }

  /**
   * Sets a new password and revokes every session of the user except `keepToken`. Throws
   * `InvalidPasswordError` or `UserNotFoundError`.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * const user = await sm.createUser("alice", "correct horse battery staple")
   * const token = await sm.createSession(user.id)
   * // Other devices are signed out; this one stays signed in.
   * await sm.changePassword(user.id, "a new long passphrase", { keepToken: token })
   * ```
   */
  async changePassword(userId: number, newPassword: string, options: ChangePasswordOptions = {}): Promise<void> {
    const password = requirePassword(newPassword);
    if (!isId(userId)) throw new UserNotFoundError();
    await this.#ready();
    const passwordHash = await this.#passwords.hash(password);
    if (!(await updatePasswordHash(this.#db, userId, passwordHash))) throw new UserNotFoundError();
    let keepId: string | undefined;
    if (isWellFormedToken(options.keepToken)) {
      const kept = await this.#sessions.find(hashToken(options.keepToken));
      if (kept !== null && kept.userId === userId) keepId = kept.id;
    }
    await deleteUserSessions(this.#db, userId, this.#now(), keepId);
    this.#emit("password_changed", { userId });
  }

  /**
   * Deletes the user and all of its sessions; false when there was no such user.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * const user = await sm.createUser("alice", "correct horse battery staple")
   * await sm.deleteUser(user.id) // true
   * ```
   */
  async deleteUser(userId: number): Promise<boolean> {
    if (!isId(userId)) return false;
    await this.#ready();
    const deleted = await deleteUserAndSessions(this.#db, userId);
    if (deleted) this.#emit("user_deleted", { userId });
    return deleted;
  }

  /**
   * Starts a session and returns its token, the only copy there will ever be: the database keeps
   * a SHA-256 digest. Throws `UserNotFoundError` for an unknown user.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * const user = await sm.createUser("alice", "correct horse battery staple")
   * const token = await sm.createSession(user.id, { ip: "203.0.113.7", userAgent: "Firefox" })
   * ```
   */
  async createSession(userId: number, meta: SessionMeta = {}): Promise<string> {
    if (!isId(userId)) throw new UserNotFoundError();
    await this.#ready();
    if ((await findUserById(this.#db, userId)) === null) throw new UserNotFoundError();
    return this.#startSession(userId, meta);
  }

  /**
   * The session's user, or null for any token that is not a live session's (unknown, expired,
   * revoked, malformed, not even a string). Never throws for bad input; database errors propagate.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * const token = "token from the session cookie"
   * const user = await sm.validateSession(token)
   * if (user === null) console.log("signed out")
   * ```
   */
  async validateSession(token: string): Promise<User | null> {
    return (await this.checkSession(token))?.user ?? null;
  }

  /**
   * The session and its user, or null. Extends the session past half of its life
   * (`session.renewed` is then true) and writes nothing otherwise, but for an hourly
   * `lastSeenAt`.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * const check = await sm.checkSession("token from the session cookie")
   * if (check?.session.renewed) console.log("set the cookie again, until", check.session.expiresAt)
   * ```
   */
  async checkSession(token: string): Promise<SessionCheck | null> {
    if (!isWellFormedToken(token)) return null;
    if (!this.#migrated) await this.migrate();
    const tokenHash = hashToken(token);
    const record = await this.#sessions.find(tokenHash);
    if (record === null) return null;
    const now = this.#now();
    const refresh = this.#refreshOf(record, tokenHash, now);
    if (refresh === null) return null;
    if (refresh.kind === "renew") {
      await updateSessionTimes(this.#db, record.id, { expiresAt: refresh.expiresAt, lastSeenAt: now });
      record.expiresAt = refresh.expiresAt;
      record.lastSeenAt = now;
    } else if (refresh.kind === "touch") {
      await updateSessionTimes(this.#db, record.id, { lastSeenAt: now });
      record.lastSeenAt = now;
    }
    return checkOf(record, refresh.kind === "renew");
  }

  /**
   * `checkSession` answered synchronously, for the HTTP middleware: possible on an open SQLite
   * connection nobody holds, for a session that needs no write. Otherwise `NOT_NOW`, and the
   * caller awaits `checkSession`. Throws database errors.
   *
   * @internal
   */
  [checkSessionNow](token: string): SessionCheck | null | typeof NOT_NOW {
    if (!isWellFormedToken(token)) return null;
    if (!this.#migrated) return NOT_NOW;
    const tokenHash = hashToken(token);
    const record = this.#sessions.findNow(tokenHash);
    if (record === NOT_NOW) return NOT_NOW;
    if (record === null) return null;
    const refresh = this.#refreshOf(record, tokenHash, this.#now());
    if (refresh === null) return null;
    // A renewal or the hourly last-seen write goes through checkSession, which reads again.
    return refresh.kind === "none" ? checkOf(record, false) : NOT_NOW;
  }

  /** What validating a looked-up session at `now` must write back; null when it does not validate. */
  #refreshOf(record: SessionRecord, tokenHash: string, now: number): Refresh | null {
    if (!digestsEqual(record.tokenHash, tokenHash)) return null;
    if (!isLive(this.#options, record, now)) return null;
    return refreshAt(this.#options, record, now);
  }

  /**
   * Ends the session of this token; true when a live session was revoked.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * const user = await sm.createUser("alice", "correct horse battery staple")
   * const token = await sm.createSession(user.id)
   * await sm.revokeSession(token) // true
   * ```
   */
  async revokeSession(token: string): Promise<boolean> {
    return this.#endSession(token, "session_revoked");
  }

  /**
   * Ends every session of the user ("sign out everywhere"); returns how many live sessions were
   * revoked. Once it returns, none of them validates in any process.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * const revoked = await sm.revokeSessions(1)
   * console.log(`${revoked} sessions ended`)
   * ```
   */
  async revokeSessions(userId: number): Promise<number> {
    if (!isId(userId)) return 0;
    await this.#ready();
    const count = await deleteUserSessions(this.#db, userId, this.#now());
    this.#emit("sessions_revoked", { userId });
    return count;
  }

  /**
   * Ends every session of the token's user but this one ("sign out other devices"); returns how
   * many were ended, 0 for a token that is not a live session's.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * const user = await sm.createUser("alice", "correct horse battery staple")
   * const here = await sm.createSession(user.id)
   * await sm.createSession(user.id)
   * await sm.revokeOtherSessions(here) // 1
   * ```
   */
  async revokeOtherSessions(token: string): Promise<number> {
    const current = await this.checkSession(token);
    if (current === null) return 0;
    const count = await deleteUserSessions(this.#db, current.user.id, this.#now(), current.session.id);
    this.#emit("sessions_revoked", { userId: current.user.id, sessionId: current.session.id });
    return count;
  }

  /**
   * Live sessions of the user, newest first, for an "active sessions" page.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * for (const session of await sm.listSessions(1)) {
   *   console.log(session.id, session.ip, session.userAgent, session.lastSeenAt)
   * }
   * ```
   */
  async listSessions(userId: number): Promise<Session[]> {
    if (!isId(userId)) return [];
    await this.#ready();
    return listUserSessions(this.#db, userId, this.#now());
  }

  /**
   * Authenticates and starts a session: the token, or null for a wrong username or password.
   * Throws `LoginThrottledError` while the username is locked out.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * const token = await sm.login("alice", "correct horse battery staple", { ip: "203.0.113.7" })
   * if (token === null) console.log("wrong username or password")
   * ```
   */
  async login(username: string, password: string, meta: SessionMeta = {}): Promise<string | null> {
    const user = await this.#authenticate(username, password, meta);
    if (user === null) return null;
    return this.#startSession(user.id, meta, user.username);
  }

  /**
   * Ends the session of this token; true when a live session was ended.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * const token = await sm.login("alice", "correct horse battery staple")
   * if (token !== null) await sm.logout(token)
   * ```
   */
  async logout(token: string): Promise<boolean> {
    return this.#endSession(token, "logout");
  }

  /**
   * Deletes expired sessions, in batches so that no lock is held for long, and forgets the
   * throttle state of usernames nobody has tried for a day; returns how many sessions it deleted.
   * Run it on a schedule (the CLI's `cleanup` does).
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * const deleted = await sm.deleteExpiredSessions({ batchSize: 5000, onProgress: (n) => console.log(n) })
   * ```
   */
  async deleteExpiredSessions(options: { batchSize?: number; onProgress?: (deleted: number) => void } = {}): Promise<number> {
    const batchSize = options.batchSize ?? EXPIRED_BATCH_SIZE;
    // Zero or a negative size would never finish; a fraction reaches the database as a bad LIMIT.
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new InvalidOptionsError("batchSize must be a whole number of at least 1");
    if (options.onProgress !== undefined && typeof options.onProgress !== "function") throw new InvalidOptionsError("onProgress must be a function");
    await this.#ready();
    const now = this.#now();
    let total = 0;
    for (;;) {
      const deleted = await deleteExpiredBatch(this.#db, now, batchSize);
      total += deleted;
      if (deleted > 0) options.onProgress?.(total);
      if (deleted < batchSize) break;
    }
    await deleteStaleThrottles(this.#db, now - THROTTLE_MEMORY_MS, now);
    return total;
  }

  /**
   * Releases the database connections the library opened; a caller's Kysely instance stays open.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * process.on("SIGTERM", () => {
   *   void sm.close()
   * })
   * ```
   */
  async close(): Promise<void> {
    if (this.#migration !== null) await this.#migration.catch(() => {});
    if (this.#ownsDatabase) await this.#db.destroy();
  }

  async #ready(): Promise<void> {
    if (!this.#migrated) await this.migrate();
  }

  #now(): number {
    return this.#options.clock().getTime();
  }

  async #insertUser(name: NormalizedUsername, passwordHash: string): Promise<User> {
    await this.#ready();
    const createdAt = this.#now();
    let id: number;
    try {
      id = await insertUser(this.#db, this.#kind, { username: name.display, usernameKey: name.key, passwordHash, createdAt });
    } catch (error) {
      if (isUniqueViolation(error)) throw new UsernameTakenError();
      throw error;
    }
    // Failures counted on the name before anyone had it must not lock out its new owner.
    if (this.#throttle !== null) await clearThrottle(this.#db, name.key);
    this.#emit("user_created", { userId: id, username: name.display });
    return { id, username: name.display, createdAt: new Date(createdAt) };
  }

  async #authenticate(usernameInput: string, passwordInput: string, meta: SessionMeta): Promise<User | null> {
    const name = normalizeUsername(usernameInput);
    const password = normalizePassword(passwordInput);
    // Input that no account can match is refused before any hashing: nothing about users leaks.
    if (name === null || password === null) return null;
    await this.#ready();
    // The hashing place is taken first, so that a full lane refuses before an attempt is counted.
    const ticket = this.#passwords.admit();
    let record: UserRecord | null;
    try {
      await this.#reserveAttempt(name, meta);
      record = await findUserByName(this.#db, name);
    } catch (error) {
      ticket.release();
      throw error;
    }
    if (!(await this.#passwords.check(ticket, record?.passwordHash ?? null, password)) || record === null) {
      this.#emit("login_failed", { username: name.display, ...eventMeta(cleanSessionMeta(meta)) });
      return null;
    }
    if (this.#throttle !== null) await clearThrottle(this.#db, name.key);
    if (this.#passwords.needsRehash(record.passwordHash)) await this.#rehash(record.user.id, password);
    return record.user;
  }

  /**
   * Counts the attempt against the username before its password is checked, atomically in the
   * database; throws `LoginThrottledError` while the username is locked out.
   */
  async #reserveAttempt(name: NormalizedUsername, meta: SessionMeta): Promise<void> {
    if (this.#throttle === null) return;
    const now = this.#now();
    const reservation = await reserveAttempt(this.#db, this.#kind, name.key, now, this.#throttle);
    if (reservation.reserved) return;
    this.#emit("login_throttled", { username: name.display, ...eventMeta(cleanSessionMeta(meta)) });
    throw new LoginThrottledError(retryAfterSeconds(reservation.lockedUntil, now));
  }

  /** Replaces a hash of other parameters; skipped, for the next login, when the lane is full. */
  async #rehash(userId: number, password: string): Promise<void> {
    let passwordHash: string;
    try {
      passwordHash = await this.#passwords.hash(password);
    } catch (error) {
      if (error instanceof ServiceBusyError) return;
      throw error;
    }
    await updatePasswordHash(this.#db, userId, passwordHash);
  }

  async #startSession(userId: number, meta: SessionMeta, username?: string): Promise<string> {
    const token = generateToken();
    const createdAt = this.#now();
    const id = generateSessionId();
    const { ip, userAgent } = cleanSessionMeta(meta);
    await insertSession(this.#db, {
      id,
      tokenHash: hashToken(token),
      userId,
      createdAt,
      expiresAt: initialExpiry(this.#options, createdAt),
      ip,
      userAgent,
    });
    if (username !== undefined) this.#emit("login", { userId, username, sessionId: id, ...eventMeta({ ip, userAgent }) });
    return token;
  }

  async #endSession(token: string, type: "logout" | "session_revoked"): Promise<boolean> {
    if (!isWellFormedToken(token)) return false;
    await this.#ready();
    const record = await this.#sessions.find(hashToken(token));
    if (record === null) return false;
    const live = await deleteSession(this.#db, record.id, this.#now());
    if (live) this.#emit(type, { userId: record.userId, sessionId: record.id });
    return live;
  }

  /**
   * Delivers an event raised outside the manager (the HTTP layer's `csrf_rejected`) to `onEvent`.
   *
   * @internal
   */
  [emitAuthEvent](type: AuthEventType, fields: Omit<AuthEvent, "type" | "at">): void {
    // These fields come from request headers: bounded and stripped like stored metadata.
    const { ip, userAgent, ...rest } = fields;
    this.#emit(type, { ...rest, ...eventMeta(cleanSessionMeta({ ip, userAgent })) });
  }

  #emit(type: AuthEventType, fields: Omit<AuthEvent, "type" | "at">): void {
    emitEvent(this.#options.onEvent, { type, at: new Date(this.#now()), ...fields });
  }
}

function reportOf(rekey: UsernameKeyReport | null): MigrationReport {
  return { rekeyedUsernames: rekey?.rekeyed ?? 0, usernameConflicts: rekey?.conflicts ?? [], invalidUsernames: rekey?.refused ?? [] };
}

function checkOf(record: SessionRecord, renewed: boolean): SessionCheck {
  const session = sessionOf(record);
  session.renewed = renewed;
  return { user: userOf(record), session };
}

function isId(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}

/**
 * Request metadata as stored: strings only, bounded, without C0 and C1 control characters
 * (PostgreSQL refuses NUL; the rest rewrite terminals and logs where `list-sessions` prints them)
 * or bidirectional controls (which reorder what an account page shows).
 */
function cleanSessionMeta(meta: SessionMeta): { ip: string | null; userAgent: string | null } {
  return { ip: cleanMeta(meta.ip, 255), userAgent: cleanMeta(meta.userAgent, 1024) };
}

function cleanMeta(value: unknown, max: number): string | null {
  if (typeof value !== "string") return null;
  const clean = value.slice(0, max * 2).replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, "").slice(0, max).toWellFormed();
  return clean === "" ? null : clean;
}

/** Cleaned metadata as event fields, absent rather than null. */
function eventMeta({ ip, userAgent }: { ip: string | null; userAgent: string | null }): Pick<AuthEvent, "ip" | "userAgent"> {
  const result: Pick<AuthEvent, "ip" | "userAgent"> = {};
  if (ip !== null) result.ip = ip;
  if (userAgent !== null) result.userAgent = userAgent;
  return result;
}
