import { connect } from "../../database/connect.js";
import { createMigrator } from "../../database/migrations.js";
import type { UsernameConflict } from "../../database/username-keys.js";
import { showInvisible } from "../../unicode.js";
import { redactDatabaseUrl } from "../database-url.js";
import { plural, withManager, type CommandContext } from "./context.js";

/** One of the library's migrations, and whether the database had it before this run. */
export interface MigrationState {
  name: string;
  applied: boolean;
}

/**
 * `migrate`: creates or upgrades the tables, says which migrations that took, and checks every
 * stored username against the current rules each time it runs (an explicit command may afford
 * the full read that start-ups skip). What needs a person goes to stderr as warnings; the exit
 * code stays 0, since the schema is up to date.
 */
export async function migrateCommand(context: CommandContext): Promise<void> {
  const before = await migrationStates(context);
  const report = await withManager(context, { autoMigrate: false }, (manager) => manager.migrate({ checkUsernames: true }));
  const { stdout, stderr } = context.io;
  stdout.write(`${migrationSummary(before, redactDatabaseUrl(context.database))}\n`);
  if (report.rekeyedUsernames > 0) {
    stdout.write(`${plural(report.rekeyedUsernames, "username")} re-keyed for the current comparison rules\n`);
  }
  for (const conflict of report.usernameConflicts) {
    stderr.write(
      `warning: ${usersList(conflict)} are one name under the current rules; each keeps its old key and still signs in as before: delete or rename all but one\n`,
    );
  }
  for (const refused of report.invalidUsernames) {
    stderr.write(
      `warning: user ${refused.userId} ${quoted(refused.username)} has a name the current rules refuse (invisible, control or format characters); it can no longer sign in by name\n`,
    );
  }
}

/**
 * What a successful `migrate()` did, given the migrations the database had before it: every
 * migration that was pending then is applied now (by this run, or by a process that migrated at
 * the same moment, which leaves the same schema). `created the tables in sqlite:sessions.db (4
 * migrations applied)`, `applied 2 migrations in …: NAME, NAME`, or `schema already up to date in
 * …: nothing to apply`.
 */
export function migrationSummary(before: readonly MigrationState[], where: string): string {
  const pending = before.filter((migration) => !migration.applied).map((migration) => migration.name);
  if (pending.length === 0) return `schema already up to date in ${where}: nothing to apply`;
  if (pending.length === before.length) return `created the tables in ${where} (${plural(pending.length, "migration")} applied)`;
  return `applied ${plural(pending.length, "migration")} in ${where}: ${pending.join(", ")}`;
}

/**
 * The library's migrations and which of them the database has, read from the migration table
 * (none when it does not exist yet) without taking the migration lock. A connection of its own,
 * since the manager does not expose one.
 */
async function migrationStates(context: CommandContext): Promise<MigrationState[]> {
  const { db, kind } = connect(context.database, context.tablePrefix);
  try {
    const migrations = await createMigrator(db, kind, context.tablePrefix).getMigrations();
    return migrations.map((migration) => ({ name: migration.name, applied: migration.executedAt !== undefined }));
  } finally {
    await db.destroy();
  }
}

/** `users 3 "Straße" and 4 "STRASSE"`. */
function usersList(conflict: UsernameConflict): string {
  const users = conflict.userIds.map((id, i) => `${id} ${quoted(conflict.usernames[i] ?? "")}`);
  return `users ${users.slice(0, -1).join(", ")} and ${users[users.length - 1]}`;
}

// Names come from the database: a bidirectional control or an escape sequence in one must not
// reorder or restyle the warning on the operator's terminal.
function quoted(name: string): string {
  return showInvisible(JSON.stringify(name));
}
