import { CliError } from "../io.js";
import { requireExistingDatabase, requireUser, withManager, type CommandContext } from "./context.js";

/**
 * `disable-totp USERNAME`: turns off the user's two-factor authentication and revokes every
 * session of it, for an operator helping a user locked out of the second factor. Deleting rows
 * needs no TOTP key, so the command takes none.
 */
export async function disableTotpCommand(context: CommandContext): Promise<void> {
  requireExistingDatabase(context.database);
  const user = await withManager(context, { autoMigrate: true }, async (manager) => {
    const user = await requireUser(manager, context.args[0]!);
    if (!(await manager.disableTotp(user.id))) {
      throw new CliError(`${JSON.stringify(user.username)} does not have two-factor authentication enabled`);
    }
    return user;
  });
  context.io.stdout.write(
    `turned off two-factor authentication for ${JSON.stringify(user.username)} (id ${user.id}): secret and recovery codes deleted, every session revoked\n`,
  );
}
