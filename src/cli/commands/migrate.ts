import { redactDatabaseUrl, withManager, type CommandContext } from "./context.js";

/** `migrate`: creates or upgrades the tables. */
export async function migrateCommand(context: CommandContext): Promise<void> {
  await withManager(context, { autoMigrate: false }, (manager) => manager.migrate());
  context.io.stdout.write(`schema is up to date in ${redactDatabaseUrl(context.database)}\n`);
}
