import { requirePassword } from "../../passwords.js";
import { requireUsername } from "../../usernames.js";
import { UsernameTakenError } from "../../errors.js";
import { readPassword } from "../password.js";
import { withManager, type CommandContext } from "./context.js";

/** `create-user USERNAME`: creates a user with a password read from a prompt or stdin. */
export async function createUserCommand(context: CommandContext): Promise<void> {
  const username = context.args[0]!;
  // Everything that can be checked before the password is, so nobody types one for nothing.
  requireUsername(username);
  const user = await withManager(context, { autoMigrate: true }, async (manager) => {
    if ((await manager.getUser(username)) !== null) throw new UsernameTakenError();
    const password = await readPassword(context.io.stdin, context.io.stderr, { confirm: true, check: requirePassword });
    return manager.createUser(username, password);
  });
  context.io.stdout.write(`created user ${JSON.stringify(user.username)} with id ${user.id}\n`);
}
