import { Migrator, sql, type CreateIndexBuilder, type Kysely, type Migration, type MigrationProvider } from "kysely";
import type { DialectKind } from "./dialect.js";
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE, type Database } from "./schema.js";
import { rekeyUsernames, type UsernameKeyReport } from "./username-keys.js";

/**
 * The schema, one migration per version. Index names carry the prefix because PostgreSQL keeps
 * index names per schema, not per table. A migration that reports something hands it to
 * `onReport`.
 */
function migrations(kind: DialectKind, prefix: string, onReport: (report: UsernameKeyReport) => void): Record<string, Migration> {
  // MySQL has no CREATE INDEX IF NOT EXISTS (MariaDB has); its migrations run under Kysely's lock.
  const ifMissing = <C extends string>(index: CreateIndexBuilder<C>): CreateIndexBuilder<C> =>
    kind === "mysql" ? index : index.ifNotExists();
  return {
    "2026_11_01_0001_initial": {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely types migrations and foreign instances as Kysely<any>
      async up(db: Kysely<any>): Promise<void> {
        // MySQL's default collations treat "a" and "á" (and trailing spaces) as equal; every
        // comparison the library makes must be exact, so its tables use the binary collation.
        const tableOptions = kind === "mysql" ? sql`character set utf8mb4 collate utf8mb4_bin` : sql``;
        const idType = kind === "postgres" ? "serial" : "integer";

        await db.schema
          .createTable("auth_users")
          .addColumn("id", idType, (c) => (kind === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn("username", "varchar(255)", (c) => c.notNull())
          .addColumn("username_key", "varchar(255)", (c) => c.notNull())
          .addColumn("password_hash", "varchar(512)", (c) => c.notNull())
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .modifyEnd(tableOptions)
          .execute();
        await db.schema.createIndex(`${prefix}auth_users_username_key`).unique().on("auth_users").column("username_key").execute();

        await db.schema
          .createTable("auth_sessions")
          .addColumn("id", "varchar(64)", (c) => c.primaryKey())
          .addColumn("token_hash", "varchar(64)", (c) => c.notNull())
          .addColumn("user_id", "integer", (c) => c.notNull().references("auth_users.id").onDelete("cascade"))
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .addColumn("expires_at", "bigint", (c) => c.notNull())
          .addColumn("last_seen_at", "bigint")
          .addColumn("ip", "varchar(255)")
          .addColumn("user_agent", "varchar(1024)")
          .modifyEnd(tableOptions)
          .execute();
        await db.schema.createIndex(`${prefix}auth_sessions_token_hash`).unique().on("auth_sessions").column("token_hash").execute();
        await db.schema.createIndex(`${prefix}auth_sessions_user_id`).on("auth_sessions").column("user_id").execute();
        await db.schema.createIndex(`${prefix}auth_sessions_expires_at`).on("auth_sessions").column("expires_at").execute();

        await db.schema
          .createTable("auth_login_throttle")
          .addColumn("username_key", "varchar(255)", (c) => c.primaryKey())
          .addColumn("failures", "integer", (c) => c.notNull())
          .addColumn("locked_until", "bigint", (c) => c.notNull())
          .addColumn("updated_at", "bigint", (c) => c.notNull())
          .modifyEnd(tableOptions)
          .execute();
        await db.schema.createIndex(`${prefix}auth_login_throttle_updated_at`).on("auth_login_throttle").column("updated_at").execute();
      },
    },
    // Usernames are compared under full case folding and refuse invisible characters since this
    // version. The rule lives in TypeScript, so the rows are re-keyed here rather than in SQL;
    // rows that would merge with another user, or whose name is now refused, keep their keys and
    // are reported by migrate(). Login throttle rows under an old key are left to expire.
    "2026_11_20_0001_username_case_folding": {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely types migrations and foreign instances as Kysely<any>
      async up(db: Kysely<any>): Promise<void> {
        onReport(await rekeyUsernames(db as Kysely<Database>, kind));
      },
    },
    // Email addresses on users, and the one-time tokens of password reset, email verification
    // and email change. Existing users get no address and keep everything else.
    "2026_12_01_0001_email_and_one_time_tokens": {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely types migrations and foreign instances as Kysely<any>
      async up(db: Kysely<any>): Promise<void> {
        // Every step is skipped when already done: on SQLite two processes can run this migration
        // at once (Kysely takes no lock there, and runs it outside a transaction), and on MySQL a
        // run cut short leaves its DDL behind. SQLite adds one column per ALTER TABLE; MySQL
        // columns take the table's binary collation.
        const existing = await columnsOf(db, `${prefix}auth_users`);
        if (!existing.has("email")) await db.schema.alterTable("auth_users").addColumn("email", "varchar(255)").execute();
        if (!existing.has("email_key")) await db.schema.alterTable("auth_users").addColumn("email_key", "varchar(255)").execute();
        if (!existing.has("email_verified")) {
          await db.schema
            .alterTable("auth_users")
            .addColumn("email_verified", "integer", (c) => c.notNull().defaultTo(0))
            .execute();
        }
        // Every database here lets a unique index hold any number of NULLs: users without an address.
        await ifMissing(db.schema.createIndex(`${prefix}auth_users_email_key`).unique().on("auth_users").column("email_key")).execute();

        const tableOptions = kind === "mysql" ? sql`character set utf8mb4 collate utf8mb4_bin` : sql``;
        await db.schema
          .createTable("auth_one_time_tokens")
          .ifNotExists()
          .addColumn("token_hash", "varchar(64)", (c) => c.primaryKey())
          .addColumn("purpose", "varchar(32)", (c) => c.notNull())
          .addColumn("user_id", "integer", (c) => c.notNull().references("auth_users.id").onDelete("cascade"))
          .addColumn("email", "varchar(255)", (c) => c.notNull())
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .addColumn("expires_at", "bigint", (c) => c.notNull())
          .modifyEnd(tableOptions)
          .execute();
        await ifMissing(
          db.schema
            .createIndex(`${prefix}auth_one_time_tokens_user_id`)
            .on("auth_one_time_tokens")
            .columns(["user_id", "purpose", "created_at"]),
        ).execute();
        await ifMissing(
          db.schema.createIndex(`${prefix}auth_one_time_tokens_expires_at`).on("auth_one_time_tokens").column("expires_at"),
        ).execute();
      },
    },
    // When the password was last presented for a session (login, reauthentication), for
    // "fresh sign-in" checks; and whether its cookie outlives the browser session. Existing
    // sessions count as signed in when they were created, and as persistent, as they were.
    "2026_12_01_0002_session_freshness_and_persistence": {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely types migrations and foreign instances as Kysely<any>
      async up(db: Kysely<any>): Promise<void> {
        const existing = await columnsOf(db, `${prefix}auth_sessions`);
        if (!existing.has("authenticated_at")) {
          await db.schema.alterTable("auth_sessions").addColumn("authenticated_at", "bigint").execute();
        }
        if (!existing.has("persistent")) {
          await db.schema
            .alterTable("auth_sessions")
            .addColumn("persistent", "integer", (c) => c.notNull().defaultTo(1))
            .execute();
        }
        await db
          .updateTable("auth_sessions")
          .set((eb) => ({ authenticated_at: eb.ref("created_at") }))
          .where("authenticated_at", "is", null)
          .execute();
      },
    },
    // Throttling by client address: one row per address key, holding every per-address counter
    // (see AddressThrottleTable). Written to be run twice, like the two before it.
    "2026_12_01_0003_address_throttle": {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely types migrations and foreign instances as Kysely<any>
      async up(db: Kysely<any>): Promise<void> {
        const tableOptions = kind === "mysql" ? sql`character set utf8mb4 collate utf8mb4_bin` : sql``;
        await db.schema
          .createTable("auth_address_throttle")
          .ifNotExists()
          .addColumn("address_key", "varchar(64)", (c) => c.primaryKey())
          .addColumn("locked_until", "bigint", (c) => c.notNull())
          .addColumn("failures", "integer", (c) => c.notNull())
          .addColumn("pending", "integer", (c) => c.notNull())
          .addColumn("failures_since", "bigint", (c) => c.notNull())
          .addColumn("usernames", "text", (c) => c.notNull())
          .addColumn("usernames_since", "bigint", (c) => c.notNull())
          .addColumn("registrations", "integer", (c) => c.notNull())
          .addColumn("registrations_since", "bigint", (c) => c.notNull())
          .addColumn("reset_requests", "integer", (c) => c.notNull())
          .addColumn("reset_requests_since", "bigint", (c) => c.notNull())
          .addColumn("updated_at", "bigint", (c) => c.notNull())
          .modifyEnd(tableOptions)
          .execute();
        await ifMissing(
          db.schema.createIndex(`${prefix}auth_address_throttle_updated_at`).on("auth_address_throttle").column("updated_at"),
        ).execute();
      },
    },
    // Two-factor authentication with TOTP: each user's encrypted secret, its recovery codes (as
    // digests) and the sign-ins waiting for a code. Written to be run twice, like those before it.
    "2026_12_01_0004_totp": {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely types migrations and foreign instances as Kysely<any>
      async up(db: Kysely<any>): Promise<void> {
        const tableOptions = kind === "mysql" ? sql`character set utf8mb4 collate utf8mb4_bin` : sql``;
        await db.schema
          .createTable("auth_totp")
          .ifNotExists()
          .addColumn("user_id", "integer", (c) => c.primaryKey().references("auth_users.id").onDelete("cascade"))
          .addColumn("secret_encrypted", "varchar(255)", (c) => c.notNull())
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .addColumn("confirmed_at", "bigint")
          .addColumn("last_used_step", "bigint")
          .modifyEnd(tableOptions)
          .execute();
        await db.schema
          .createTable("auth_recovery_codes")
          .ifNotExists()
          .addColumn("user_id", "integer", (c) => c.notNull().references("auth_users.id").onDelete("cascade"))
          .addColumn("code_digest", "varchar(64)", (c) => c.notNull())
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .addColumn("used_at", "bigint")
          .addPrimaryKeyConstraint(`${prefix}auth_recovery_codes_pk`, ["user_id", "code_digest"])
          .modifyEnd(tableOptions)
          .execute();
        await db.schema
          .createTable("auth_pending_sign_ins")
          .ifNotExists()
          .addColumn("token_hash", "varchar(64)", (c) => c.primaryKey())
          .addColumn("user_id", "integer", (c) => c.notNull().references("auth_users.id").onDelete("cascade"))
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .addColumn("expires_at", "bigint", (c) => c.notNull())
          .addColumn("failures", "integer", (c) => c.notNull())
          .addColumn("persistent", "integer", (c) => c.notNull())
          .addColumn("attempt_reserved", "integer", (c) => c.notNull())
          .modifyEnd(tableOptions)
          .execute();
        await ifMissing(
          db.schema.createIndex(`${prefix}auth_pending_sign_ins_user_id`).on("auth_pending_sign_ins").column("user_id"),
        ).execute();
        await ifMissing(
          db.schema.createIndex(`${prefix}auth_pending_sign_ins_expires_at`).on("auth_pending_sign_ins").column("expires_at"),
        ).execute();
      },
    },
  };
}

/** The column names of a table as the database reports them (none when it does not exist). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely types migrations and foreign instances as Kysely<any>
async function columnsOf(db: Kysely<any>, table: string): Promise<Set<string>> {
  const tables = await db.introspection.getTables();
  return new Set(tables.find((t) => t.name === table)?.columns.map((c) => c.name) ?? []);
}

/** A Kysely Migrator over the library's migrations, with its bookkeeping tables prefixed too. */
export function createMigrator(
  db: Kysely<any>, // eslint-disable-line @typescript-eslint/no-explicit-any
  kind: DialectKind,
  prefix: string,
  onReport: (report: UsernameKeyReport) => void = () => {},
): Migrator {
  const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations(kind, prefix, onReport)) };
  return new Migrator({
    db,
    provider,
    migrationTableName: `${prefix}${MIGRATION_TABLE}`,
    migrationLockTableName: `${prefix}${MIGRATION_LOCK_TABLE}`,
  });
}

/**
 * Brings the schema up to date; returns the username re-key report when this call ran that
 * migration (null when it was already applied). Kysely's migrator takes a database lock on
 * PostgreSQL and MySQL, so processes starting together take turns; on SQLite it takes none, and a
 * writer that loses the race can see SQLITE_BUSY at once (instead of waiting) or find a migration
 * applied under it, so the whole idempotent step is tried again.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely types migrations and foreign instances as Kysely<any>
export async function migrateToLatest(db: Kysely<any>, kind: DialectKind, prefix: string): Promise<UsernameKeyReport | null> {
  // The report of the username re-key when this call applied that migration, else null; an
  // attempt that failed and was rolled back does not count.
  let report: UsernameKeyReport | null = null;
  const migrator = createMigrator(db, kind, prefix, (r) => (report = r));
  for (let attempt = 1; ; attempt++) {
    report = null;
    const { error } = await migrator.migrateToLatest();
    if (error === undefined) return report;
    if (attempt >= 10 || !isRetryable(error)) throw error as Error;
    await new Promise((resolve) => setTimeout(resolve, 20 * attempt + Math.random() * 50));
  }
}

function isRetryable(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  const message = (error as { message?: unknown }).message;
  // SQLITE_BUSY / SQLITE_LOCKED, PostgreSQL unique_violation or duplicate_table while two
  // processes create the bookkeeping tables, MySQL deadlock / lock wait / duplicate key.
  // On SQLite Kysely's migrator takes no lock across processes and runs each migration outside
  // a transaction, so a process can run a migration that another is finishing; its bookkeeping
  // row then collides on the primary key, and the retry finds the migration applied. Likewise two
  // processes can both see a column missing and both add it: the loser's "duplicate column name"
  // is retried, and the idempotent migration then skips the column.
  return (
    code === "SQLITE_BUSY" ||
    code === "SQLITE_LOCKED" ||
    code === "SQLITE_CONSTRAINT_PRIMARYKEY" ||
    code === "23505" ||
    code === "42P07" ||
    code === "ER_LOCK_DEADLOCK" ||
    code === "ER_LOCK_WAIT_TIMEOUT" ||
    code === "ER_DUP_ENTRY" ||
    code === "ER_TABLE_EXISTS_ERROR" ||
    (typeof message === "string" && /already exists|database is locked|duplicate column name/i.test(message))
  );
}
