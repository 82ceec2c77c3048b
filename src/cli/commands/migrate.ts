import type { UsernameConflict } from "../../database/username-keys.js";
import { showInvisible } from "../../unicode.js";
import { plural, redactDatabaseUrl, withManager, type CommandContext } from "./context.js";

/**
 * `migrate`: creates or upgrades the tables, and checks every stored username against the
 * current rules each time it runs (an explicit command may afford the full read that start-ups
 * skip). What needs a person goes to stderr as warnings; the exit code stays 0, since the schema
 * is up to date.
 */
export async function migrateCommand(context: CommandContext): Promise<void> {
  const report = await withManager(context, { autoMigrate: false }, (manager) => manager.migrate({ checkUsernames: true }));
  const { stdout, stderr } = context.io;
  stdout.write(`schema is up to date in ${redactDatabaseUrl(context.database)}\n`);
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
