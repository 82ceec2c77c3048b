import { sql } from "kysely";
import { connect } from "../../database/connect.js";
import { ProgressBar } from "../progress.js";
import { plural, requireExistingDatabase, withManager, type CommandContext } from "./context.js";

/**
 * `cleanup`: deletes expired sessions in batches of `--batch-size`, each its own short statement,
 * so the sessions table is never locked for long. A progress bar goes to stderr on a terminal;
 * the summary line always goes to stdout.
 */
export async function cleanupCommand(context: CommandContext): Promise<void> {
  requireExistingDatabase(context.database);
  const { stdout, stderr } = context.io;
  const deleted = await withManager(context, { autoMigrate: true }, async (manager) => {
    if (stderr.isTTY !== true) return manager.deleteExpiredSessions({ batchSize: context.batchSize });
    await manager.migrate();
    const bar = new ProgressBar(stderr, await countExpired(context), "expired sessions deleted");
    bar.update(0);
    const total = await manager.deleteExpiredSessions({ batchSize: context.batchSize, onProgress: (done) => bar.update(done) });
    bar.finish(total);
    return total;
  });
  stdout.write(`deleted ${plural(deleted, "expired session")}\n`);
}

/**
 * How many sessions have expired, for the bar's total; null when counting fails, and the bar
 * then shows a plain count. A connection of its own, since the manager does not expose one.
 */
async function countExpired(context: CommandContext): Promise<number | null> {
  const { db } = connect(context.database, context.tablePrefix);
  try {
    const row = await db
      .selectFrom("auth_sessions")
      .select(sql<number | string | bigint>`count(*)`.as("count"))
      .where("expires_at", "<=", Date.now())
      .executeTakeFirst();
    return row === undefined ? null : Number(row.count);
  } catch {
    return null;
  } finally {
    await db.destroy();
  }
}
