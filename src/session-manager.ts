import type { Kysely } from "kysely";
import type { ManagerContext } from "./context.js";
import { connect, type DatabaseDriver } from "./database/connect.js";
import type { DialectKind } from "./database/dialect.js";
import { migrateToLatest } from "./database/migrations.js";
import type { Database } from "./database/schema.js";
import { deleteExpiredBatch, deleteUserSession, deleteUserSessions, listUserSessions, sessionLookup } from "./database/sessions.js";
import { deleteDeadOneTimeTokens } from "./database/one-time-tokens.js";
import { countAddressRequest, deleteStaleAddresses, type AddressLimits } from "./database/address-throttle.js";
import { addressKey } from "./client-address.js";
import { clearThrottle, deleteStaleThrottles } from "./database/throttle.js";
import { rekeyUsernames, type RefusedUsername, type UsernameConflict, type UsernameKeyReport } from "./database/username-keys.js";
import {
  deleteUserAndSessions,
  findUserByEmailKey,
  findUserById,
  findUserByName,
  insertUser,
  uniqueViolationOf,
  updatePasswordHash,
} from "./database/users.js";
import { requireEmail, normalizeEmail, type NormalizedEmail } from "./emails.js";
import {
  EmailTakenError,
  InvalidOptionsError,
  InvalidPasswordError,
  TwoFactorRequiredError,
  UserNotFoundError,
  UsernameTakenError,
} from "./errors.js";
import { isId } from "./ids.js";
import { emitEvent } from "./events.js";
import {
  MANAGER_BRAND,
  changeEmail,
  currentTime,
  emitAuthEvent,
  finishSignIn,
  limitAddress,
  reauthenticateSession,
  rotate,
  signIn,
  startSession,
  validateToken,
} from "./internal.js";
import { lockoutSteps, retryAfterSeconds } from "./lockout.js";
import { authenticate, reauthenticate as reauthenticateToken } from "./login.js";
import * as twoFactor from "./two-factor.js";
import {
  MAX_CODE_FAILURES,
  type PendingSignIn,
  type SignedIn,
  type StartedSignIn,
  type TotpSetup,
  type TwoFactorChangeOptions,
} from "./two-factor.js";
import { deleteDeadPendingSignIns } from "./database/totp.js";
import { resolveOptions, type ResolvedOptions, type SessionManagerOptions } from "./options.js";
import { PasswordHasher, isArgon2Hash, requirePassword } from "./passwords.js";
import {
  endSession,
  rotateToken,
  startSession as beginSession,
  validateToken as validate,
  type StartedSession,
} from "./session-lifecycle.js";
import * as recovery from "./recovery.js";
import { RESET_WINDOW_MS } from "./recovery.js";
import type { EmailChange, EmailToken, PasswordResetToken } from "./recovery.js";
import { cleanSessionMeta, eventMeta } from "./session-meta.js";
import { hashToken, isWellFormedToken } from "./tokens.js";
import type { AuthEvent, AuthEventType, LoginOptions, Session, SessionCheck, SessionMeta, User } from "./types.js";
import { normalizeUsername, requireUsername, type NormalizedUsername } from "./usernames.js";

const THROTTLE_MEMORY_MS = 24 * 60 * 60 * 1000;
const EXPIRED_BATCH_SIZE = 1000;

/** Options of `changePassword`. */
export interface ChangePasswordOptions {
  /** A token of this user to keep signed in; every other session of the user is revoked. */
  keepToken?: string;
}

/** Options of `createUser`. */
export interface CreateUserOptions {
  /** The user's email address, unverified until a link sent to it is followed. Default: none. */
  email?: string | null;
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
  readonly #driver: DatabaseDriver | null;
  readonly #ownsDatabase: boolean;
  readonly #duringMigration: <T>(work: () => Promise<T>) => Promise<T>;
  // What the workflow modules (login.ts, session-lifecycle.ts, …) get; the manager delegates to them.
  readonly #context: ManagerContext;
  #migration: Promise<MigrationReport> | null = null;
  #migrated: boolean;
  #migrationRekeyed = false;
  /** @internal */
  readonly [MANAGER_BRAND] = true;

  constructor(options: SessionManagerOptions = {}) {
    this.#options = resolveOptions(options);
    const connection = connect(this.#options.database, this.#options.tablePrefix, this.#options.sqliteDriver);
    this.#db = connection.db;
    this.#kind = connection.kind;
    this.#driver = connection.driver;
    this.#ownsDatabase = connection.owned;
    this.#duringMigration = connection.duringMigration;
    this.#migrated = !this.#options.autoMigrate;
    const throttle = this.#options.throttle;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the context's getter reads the manager's private state
    const manager = this;
    this.#context = {
      db: this.#db,
      kind: this.#kind,
      options: this.#options,
      passwords: new PasswordHasher(this.#options.password),
      throttle:
        throttle === null ? null : Object.freeze({ maxFailures: throttle.maxFailures, steps: Object.freeze(lockoutSteps(throttle)) }),
      addressLimits:
        throttle === null
          ? null
          : Object.freeze<AddressLimits>({
              maxFailures: throttle.ipMaxFailures,
              maxUsernames: throttle.ipMaxUsernames,
              maxRegistrations: throttle.ipMaxRegistrations,
              maxResetRequests: throttle.ipMaxResetRequests,
            }),
      findSession: sessionLookup(this.#db, connection.readOne),
      get migrated() {
        return manager.#migrated;
      },
      ready: () => this.#ready(),
      now: () => this.#now(),
      emit: (type, fields) => this.#emit(type, fields),
    };
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
   * The driver the manager opened its database with: for SQLite `"better-sqlite3"` (Node.js),
   * `"node:sqlite"` (Deno) or `"bun:sqlite"` (Bun), unless the `sqliteDriver` option chose
   * another; `"pg"` or `"mysql2"` for a server; null for a Kysely instance of the caller's. Fixed
   * at construction.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager({ database: "sqlite::memory:" })
   * console.log(`sessions on ${sm.dialect} through ${sm.driver}`) // "sessions on sqlite through better-sqlite3" on Node.js
   * ```
   */
  get driver(): DatabaseDriver | null {
    return this.#driver;
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
    this.#migration ??= this.#duringMigration(() => migrateToLatest(this.#db, this.#kind, this.#options.tablePrefix)).then(
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
   * Creates a user with an argon2id hash of the password, and optionally an email address. Throws
   * `UsernameTakenError`, `InvalidUsernameError` (1 to 64 characters, no invisible, control or
   * format characters), `InvalidPasswordError` (8 to 1024 characters), `InvalidEmailError` or
   * `EmailTakenError` (addresses are unique, compared case-insensitively).
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * const user = await sm.createUser("Alice", "correct horse battery staple", { email: "alice@example.com" })
   * console.log(user.id, user.username, user.email, user.emailVerified) // 1 "Alice" "alice@example.com" false
   * ```
   */
  async createUser(username: string, password: string, options: CreateUserOptions = {}): Promise<User> {
    const name = requireUsername(username);
    const email = options.email === undefined || options.email === null ? null : requireEmail(options.email);
    const passwordHash = await this.#context.passwords.hash(requirePassword(password));
    return this.#insertUser(name, passwordHash, email);
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
   * The user with this email address (compared case-insensitively after NFKC), or null.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * await sm.createUser("alice", "correct horse battery staple", { email: "Alice@Example.com" })
   * const user = await sm.getUserByEmail("alice@example.com") // { username: "alice", email: "Alice@Example.com", … }
   * ```
   */
  async getUserByEmail(email: string): Promise<User | null> {
    const address = normalizeEmail(email);
    if (address === null) return null;
    await this.#ready();
    return (await findUserByEmailKey(this.#db, address.key))?.user ?? null;
  }

  /**
   * A token for a link that verifies the user's address, valid for `tokens.emailVerificationHours`
   * (48); null when the user has no address or it is verified already. Throws `UserNotFoundError`.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * const user = await sm.createUser("alice", "correct horse battery staple", { email: "alice@example.com" })
   * const issued = await sm.createEmailVerificationToken(user.id)
   * if (issued !== null) {
   *   const url = `https://app.example.com/verify-email?token=${issued.token}`
   *   console.log(`send ${url} to ${issued.email}`)
   * }
   * ```
   */
  async createEmailVerificationToken(userId: number): Promise<EmailToken | null> {
    return recovery.createEmailVerificationToken(this.#context, userId);
  }

  /**
   * Marks the address the token was sent to verified and returns the user; null for a token that
   * is unknown, used, expired, of another purpose, or for an address the user no longer has.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * const user = await sm.verifyEmail("token from the link")
   * console.log(user === null ? "link invalid or expired" : `${user.email} verified`)
   * ```
   */
  async verifyEmail(token: string): Promise<User | null> {
    return recovery.verifyEmail(this.#context, token);
  }

  /**
   * A password reset token for the user named by a username or an email address, valid for
   * `tokens.passwordResetMinutes` (60). Null for an unknown identifier, a user without an address,
   * or past 5 tokens for the user within an hour. A new token voids the user's older ones. Send
   * the link to `email`, the address stored on the account, never to what was typed.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * const issued = await sm.createPasswordResetToken("alice@example.com")
   * if (issued !== null) {
   *   const url = `https://app.example.com/reset-password?token=${issued.token}`
   *   console.log(`send ${url} to ${issued.email}`)
   * }
   * ```
   */
  async createPasswordResetToken(usernameOrEmail: string): Promise<PasswordResetToken | null> {
    return recovery.createPasswordResetToken(this.#context, usernameOrEmail);
  }

  /**
   * Sets a new password with a reset token, once: revokes every session of the user, voids its
   * other reset tokens, clears its login throttle and marks its address verified; does not sign
   * in. Null for a token that is not a live reset token. Throws `InvalidPasswordError` for a
   * password the rules refuse, and the token stays usable.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * const user = await sm.resetPassword("token from the link", "a new long passphrase")
   * if (user === null) console.log("the link is invalid or has expired; ask for a new one")
   * ```
   */
  async resetPassword(token: string, newPassword: string): Promise<User | null> {
    return recovery.resetPassword(this.#context, token, newPassword);
  }

  /**
   * A token for a link to the new address, valid for `tokens.emailChangeHours` (24); the address
   * changes only when `confirmEmailChange` gets it. Throws `InvalidEmailError`, `EmailTakenError`
   * or `UserNotFoundError`.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * const user = await sm.createUser("alice", "correct horse battery staple", { email: "alice@example.com" })
   * const issued = await sm.requestEmailChange(user.id, "alice@example.org")
   * console.log(`send https://app.example.com/confirm-email?token=${issued.token} to ${issued.email}`)
   * ```
   */
  async requestEmailChange(userId: number, newEmail: string): Promise<EmailToken> {
    return recovery.requestEmailChange(this.#context, userId, newEmail);
  }

  /**
   * Gives the user the address the token was sent to, verified, and returns the user. Null when
   * the token is not a live email-change token, or another account took the address meanwhile.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * const user = await sm.confirmEmailChange("token from the link")
   * if (user !== null) console.log(`address changed to ${user.email}`)
   * ```
   */
  async confirmEmailChange(token: string): Promise<User | null> {
    return (await recovery.confirmEmailChange(this.#context, token))?.user ?? null;
  }

  /**
   * `confirmEmailChange`, answering the address it replaced too, for the notice sent there.
   *
   * @internal
   */
  [changeEmail](token: string): Promise<EmailChange | null> {
    return recovery.confirmEmailChange(this.#context, token);
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
    return authenticate(this.#context, username, password, {});
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
    const passwordHash = await this.#context.passwords.hash(password);
    if (!(await updatePasswordHash(this.#db, userId, passwordHash))) throw new UserNotFoundError();
    let keepId: string | undefined;
    if (isWellFormedToken(options.keepToken)) {
      const kept = await this.#context.findSession(hashToken(options.keepToken));
      if (kept !== undefined && Number(kept.user_id) === userId) keepId = kept.id;
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
    return (await beginSession(this.#context, userId, meta)).token;
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
    return validate(this.#context, token);
  }

  /**
   * `checkSession` as the HTTP middleware uses it: synchronous when the database allows, so that
   * the request goes on in the same tick; else a promise. Throws or rejects database errors.
   *
   * @internal
   */
  [validateToken](token: string): SessionCheck | null | Promise<SessionCheck | null> {
    return validate(this.#context, token);
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
    return endSession(this.#context, token, "session_revoked");
  }

  /**
   * Ends one session of one user by its public id (as `listSessions` gives it), for a "sign out
   * this device" button; true when it was a live session of that user. A session id of another
   * user revokes nothing.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * const user = await sm.createUser("alice", "correct horse battery staple")
   * await sm.createSession(user.id, { userAgent: "Firefox" })
   * const [session] = await sm.listSessions(user.id)
   * if (session !== undefined) await sm.revokeSessionById(user.id, session.id) // true
   * ```
   */
  async revokeSessionById(userId: number, sessionId: string): Promise<boolean> {
    if (!isId(userId) || typeof sessionId !== "string" || sessionId.length === 0 || sessionId.length > 64) return false;
    await this.#ready();
    const revoked = await deleteUserSession(this.#db, userId, sessionId, this.#now());
    if (revoked) this.#emit("session_revoked", { userId, sessionId });
    return revoked;
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
   * Throws `LoginThrottledError` while the username is locked out. `remember: false` marks the
   * session non-persistent: the HTTP adapters then give it a cookie that ends with the browser
   * session (the server-side expiry is the same). For a user with two-factor authentication it
   * starts no session and throws `TwoFactorRequiredError`, whose `pendingToken` goes to
   * `completeSignIn` with the code (`signIn` answers the same without a throw).
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
  async login(username: string, password: string, options: LoginOptions = {}): Promise<string | null> {
    const result = await this[signIn](username, password, options);
    if (result === null) return null;
    if ("pendingToken" in result) throw new TwoFactorRequiredError(result.pendingToken, result.expiresAt);
    return result.token;
  }

  /**
   * The password step of signing in, for apps with two-factor authentication: `{ token, user }`
   * with a new session for a user without TOTP; `{ pendingToken, user, expiresAt }` and no
   * session for a user with it; null for a wrong username or password. Throws
   * `LoginThrottledError` while the username is locked out. A pending token works once, for 5
   * minutes, until 5 wrong codes; `remember` carries over to the session `completeSignIn` starts.
   * For a user with TOTP the password alone does not clear the username's throttle: the code does.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager({ totp: { issuer: "Example App", secretKey: process.env["TOTP_KEY"] ?? "" } })
   * const result = await sm.signIn("alice", "correct horse battery staple", { remember: false })
   * if (result === null) console.log("wrong username or password")
   * else if ("pendingToken" in result) console.log("ask for the code; keep the pending token until", result.expiresAt)
   * else console.log("signed in, session token", result.token)
   * ```
   */
  async signIn(username: string, password: string, options: LoginOptions = {}): Promise<SignedIn | PendingSignIn | null> {
    const result = await this[signIn](username, password, options);
    if (result === null || "pendingToken" in result) return result;
    return { token: result.token, user: result.user };
  }

  /**
   * The second step of signing in: with the pending token of `signIn` (or of
   * `TwoFactorRequiredError`) and a code from the authenticator app, or a recovery code, starts
   * the session: `{ token, user }`. Null for a wrong or replayed code, or a pending token that is
   * not live (unknown, used, older than 5 minutes, or given 5 wrong codes). An app code is
   * accepted within one 30-second step of the manager's clock either way, and each step once.
   * The first code counts as part of the password step's attempt against the username's
   * throttle, every further code as an attempt of its own (`LoginThrottledError` once the
   * username is locked out); a success clears the throttle. Throws `TotpKeyError` when the user's secret cannot be
   * decrypted with `totp.secretKey`, and `InvalidOptionsError` for an app code without the `totp`
   * option (a recovery code needs no key).
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager({ totp: { issuer: "Example App", secretKey: process.env["TOTP_KEY"] ?? "" } })
   * const signedIn = await sm.completeSignIn("pending token from signIn", "123456", { ip: "203.0.113.7" })
   * if (signedIn === null) console.log("wrong code")
   * ```
   */
  async completeSignIn(pendingToken: string, code: string, meta: SessionMeta = {}): Promise<SignedIn | null> {
    const result = await this[finishSignIn](pendingToken, code, meta);
    return result === null ? null : { token: result.token, user: result.user };
  }

  /**
   * `completeSignIn`, answering the session beside its token, for the HTTP handler's cookie.
   *
   * @internal
   */
  [finishSignIn](pendingToken: string, code: string, meta: SessionMeta): Promise<StartedSignIn | null> {
    return twoFactor.completeSignIn(this.#context, pendingToken, code, meta);
  }

  /**
   * Starts setting up TOTP for a user: a new secret, shown as base32 (`secret`) and as an
   * `otpauth://totp/…` URI with the `totp.issuer` and the username (`uri`, for a QR code). Not in
   * force until `confirmTotpSetup` gets a code of it; a setup begun again replaces the
   * unconfirmed one. The secret is stored encrypted under `totp.secretKey`. Throws
   * `InvalidOptionsError` without the `totp` option, `UserNotFoundError`, and
   * `TotpAlreadyEnabledError` when TOTP is on already.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager({ totp: { issuer: "Example App", secretKey: process.env["TOTP_KEY"] ?? "" } })
   * const user = await sm.createUser("alice", "correct horse battery staple")
   * const { secret, uri } = await sm.beginTotpSetup(user.id)
   * console.log(`scan the QR code of ${uri}, or type ${secret}`)
   * ```
   */
  async beginTotpSetup(userId: number): Promise<TotpSetup> {
    return twoFactor.beginTotpSetup(this.#context, userId);
  }

  /**
   * Turns TOTP on once the user typed a current code of the secret `beginTotpSetup` gave: returns
   * 10 recovery codes (`xxxxx-xxxxx`), to show once, each good for one sign-in without the app;
   * only their digests are stored. Null for a wrong code, or when no setup is waiting (TOTP is on
   * already). Emits `totp_enabled`.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager({ totp: { issuer: "Example App", secretKey: process.env["TOTP_KEY"] ?? "" } })
   * const codes = await sm.confirmTotpSetup(1, "123456")
   * if (codes === null) console.log("wrong code: try the next one")
   * else console.log("write these down:", codes.join(" "))
   * ```
   */
  async confirmTotpSetup(userId: number, code: string): Promise<string[] | null> {
    return twoFactor.confirmTotpSetup(this.#context, userId, code);
  }

  /**
   * Turns TOTP off: deletes the secret, the recovery codes and the sign-ins waiting for a code,
   * and revokes every session of the user except `keepToken`'s (pass the session making the
   * change to keep it signed in). True when TOTP was on; false, changing nothing, when it was
   * not. Works without the `totp` option (the CLI's `disable-totp`). Emits `totp_disabled`.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * const token = "token from the session cookie"
   * const check = await sm.checkSession(token)
   * if (check !== null) await sm.disableTotp(check.user.id, { keepToken: token })
   * ```
   */
  async disableTotp(userId: number, options: TwoFactorChangeOptions = {}): Promise<boolean> {
    return twoFactor.disableTotp(this.#context, userId, options);
  }

  /**
   * New recovery codes for a user with TOTP, in place of the old ones (used or not, they stop
   * working); revokes every session of the user except `keepToken`'s. Throws `UserNotFoundError`
   * and `TotpNotEnabledError`. Emits `recovery_codes_regenerated`.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * const codes = await sm.regenerateRecoveryCodes(1, { keepToken: "token from the session cookie" })
   * console.log("your new recovery codes:", codes.join(" "))
   * ```
   */
  async regenerateRecoveryCodes(userId: number, options: TwoFactorChangeOptions = {}): Promise<string[]> {
    return twoFactor.regenerateRecoveryCodes(this.#context, userId, options);
  }

  /**
   * True when the user has TOTP on (set up and confirmed): signing in then takes a code.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * if (!(await sm.hasTotp(1))) console.log("suggest turning on two-factor authentication")
   * ```
   */
  async hasTotp(userId: number): Promise<boolean> {
    return twoFactor.hasTotp(this.#context, userId);
  }

  /**
   * Re-encrypts every stored TOTP secret that is not under the first key of `totp.secretKey`,
   * for a key rotation: list the new key first and the old one after it, run this, then drop the
   * old key. Returns how many secrets it re-encrypted. Secrets used at sign-in move on their own,
   * too. Throws `TotpKeyError` for a secret that no key of the list decrypts.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager({
   *   totp: { issuer: "Example App", secretKey: [process.env["TOTP_KEY_NEW"] ?? "", process.env["TOTP_KEY_OLD"] ?? ""] },
   * })
   * console.log(`${await sm.reencryptTotpSecrets()} secrets moved to the new key`)
   * ```
   */
  async reencryptTotpSecrets(): Promise<number> {
    return twoFactor.reencryptTotpSecrets(this.#context);
  }

  /**
   * Checks the password of a live session's user again, for a "confirm your password" step
   * before sensitive actions: throttled like `login` (`LoginThrottledError`), it records the time
   * on the session (`session.authenticatedAt`) and rotates the token. Returns the new token (the
   * old one stops working at once), or null for a wrong password or a session that is not live.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * const fresh = await sm.reauthenticate("token from the session cookie", "correct horse battery staple")
   * if (fresh === null) console.log("wrong password")
   * else console.log("set the cookie to the new token")
   * ```
   */
  async reauthenticate(token: string, password: string): Promise<string | null> {
    return (await this[reauthenticateSession](token, password, {}))?.token ?? null;
  }

  /**
   * `reauthenticate`, answering the session beside the new token, for the HTTP handler's cookie.
   *
   * @internal
   */
  [reauthenticateSession](token: string, password: string, meta: SessionMeta): Promise<StartedSession | null> {
    return reauthenticateToken(this.#context, token, password, meta);
  }

  /**
   * Gives a live session a new token, keeping its id, creation time, metadata and expiry: the old
   * token stops working at once. Null for a token that is not a live session's. Rotate after a
   * change of privilege the app makes itself.
   *
   * ### Examples
   *
   * ```ts
   * import { SessionManager } from "session-manager"
   *
   * const sm = new SessionManager()
   * const user = await sm.createUser("alice", "correct horse battery staple")
   * const token = await sm.createSession(user.id)
   * const rotated = await sm.rotateSession(token) // a new token; `token` is now refused
   * ```
   */
  async rotateSession(token: string): Promise<string | null> {
    return (await this[rotate](token))?.token ?? null;
  }

  /**
   * `rotateSession`, answering the session beside the new token.
   *
   * @internal
   */
  [rotate](token: string): Promise<StartedSession | null> {
    return rotateToken(this.#context, token);
  }

  /**
   * `signIn`, answering the user and the new session beside its token, so that the HTTP handler
   * sets the cookie without looking the session up again; for a user with TOTP, the pending
   * sign-in and no session.
   *
   * @internal
   */
  [signIn](username: string, password: string, meta: LoginOptions): Promise<StartedSignIn | PendingSignIn | null> {
    return twoFactor.signIn(this.#context, username, password, meta);
  }

  /**
   * `createSession` for a user the caller has just created, answering the session beside its token.
   *
   * @internal
   */
  [startSession](user: User, meta: SessionMeta): Promise<StartedSession> {
    return beginSession(this.#context, user.id, meta);
  }

  /**
   * Counts a sign-up or a password reset request against the client address, for
   * `registerHandler` and `passwordResetRequestHandler`: null when it may go on, else the seconds
   * until the address's hour is over. A request without an address, or with the limit or the
   * throttle off, is never refused.
   *
   * @internal
   */
  async [limitAddress](action: "registration" | "reset_request", ip: string | null | undefined): Promise<number | null> {
    const limits = this.#context.addressLimits;
    const max = action === "registration" ? limits?.maxRegistrations : limits?.maxResetRequests;
    const address = addressKey(ip);
    if (max === null || max === undefined || address === null) return null;
    await this.#ready();
    const now = this.#now();
    const counter = action === "registration" ? "registrations" : "reset_requests";
    const until = await countAddressRequest(this.#db, this.#kind, address, counter, now, max);
    return until === null ? null : retryAfterSeconds(until, now);
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
    return endSession(this.#context, token, "logout");
  }

  /**
   * Deletes expired sessions, in batches so that no lock is held for long, forgets the throttle
   * state of usernames nobody has tried for a day, the counters of client addresses whose
   * windows and lockouts are over, one-time tokens that can no longer be used, and sign-ins
   * that waited for a second factor in vain; returns how many sessions it deleted.
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
    if (options.onProgress !== undefined && typeof options.onProgress !== "function")
      throw new InvalidOptionsError("onProgress must be a function");
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
    await deleteStaleAddresses(this.#db, now);
    await deleteDeadOneTimeTokens(this.#db, now - RESET_WINDOW_MS, now);
    await deleteDeadPendingSignIns(this.#db, now, MAX_CODE_FAILURES);
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

  /**
   * The manager's clock in ms: `requireUser({ fresh })` measures with it, as the core does.
   *
   * @internal
   */
  [currentTime](): number {
    return this.#now();
  }

  async #ready(): Promise<void> {
    if (!this.#migrated) await this.migrate();
  }

  #now(): number {
    return this.#options.clock().getTime();
  }

  async #insertUser(name: NormalizedUsername, passwordHash: string, email: NormalizedEmail | null = null): Promise<User> {
    await this.#ready();
    const createdAt = this.#now();
    let id: number;
    try {
      id = await insertUser(this.#db, this.#kind, { username: name.display, usernameKey: name.key, passwordHash, createdAt, email });
    } catch (error) {
      const violated = uniqueViolationOf(error);
      if (violated === "email") throw new EmailTakenError();
      if (violated !== null) throw new UsernameTakenError();
      throw error;
    }
    // Failures counted on the name before anyone had it must not lock out its new owner.
    if (this.#context.throttle !== null) await clearThrottle(this.#db, name.key);
    this.#emit("user_created", { userId: id, username: name.display });
    return { id, username: name.display, createdAt: new Date(createdAt), email: email?.display ?? null, emailVerified: false };
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
