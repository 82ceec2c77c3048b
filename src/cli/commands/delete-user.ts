import { plural, requireExistingDatabase, requireUser, withManager, type CommandContext } from "./context.js";

/** `delete-user USERNAME`: deletes the user and all of its sessions. */
export async function deleteUserCommand(context: CommandContext): Promise<void> {
  requireExistingDatabase(context.database);
  const { user, sessions } = await withManager(context, { autoMigrate: true }, async (manager) => {
    const user = await requireUser(manager, context.args[0]!);
    const sessions = (await manager.listSessions(user.id)).length;
    await manager.deleteUser(user.id);
    return { user, sessions };
  });
  context.io.stdout.write(`deleted user ${JSON.stringify(user.username)} (id ${user.id}) and ${plural(sessions, "live session")}\n`);
}
