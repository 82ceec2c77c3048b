import { plural, requireExistingDatabase, requireUser, withManager, type CommandContext } from "./context.js";

/** `revoke USERNAME`: ends every session of the user. */
export async function revokeCommand(context: CommandContext): Promise<void> {
  requireExistingDatabase(context.database);
  const { user, revoked } = await withManager(context, { autoMigrate: true }, async (manager) => {
    const user = await requireUser(manager, context.args[0]!);
    return { user, revoked: await manager.revokeSessions(user.id) };
  });
  context.io.stdout.write(`revoked ${plural(revoked, "session")} of ${JSON.stringify(user.username)}\n`);
}
