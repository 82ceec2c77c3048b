import { requireEmail } from "../../emails.js";
import { requirePassword } from "../../passwords.js";
import { requireUsername } from "../../usernames.js";
import { EmailTakenError, UsernameTakenError } from "../../errors.js";
import type { User } from "../../types.js";
import { readPassword } from "../password.js";
import { withManager, type CommandContext } from "./context.js";

/**
 * `create-user USERNAME [--email ADDRESS]`: creates a user with a password read from a prompt or
 * stdin, and with the address when given (unverified).
 */
export async function createUserCommand(context: CommandContext): Promise<void> {
  const username = context.args[0]!;
  const email = context.email;
  // Everything that can be checked before the password is, so nobody types one for nothing.
  requireUsername(username);
  if (email !== undefined) requireEmail(email);
  const user = await withManager(context, { autoMigrate: true }, async (manager) => {
    if ((await manager.getUser(username)) !== null) throw new UsernameTakenError();
    if (email !== undefined && (await manager.getUserByEmail(email)) !== null) throw new EmailTakenError();
    const password = await readPassword(context.io.stdin, context.io.stderr, { confirm: true, check: requirePassword });
    return manager.createUser(username, password, email === undefined ? {} : { email });
  });
  context.io.stdout.write(`created user ${describeUser(user)}\n`);
}

/** `"alice" with id 3`, and its address when it has one: `… and email "alice@example.com" (unverified)`. */
function describeUser(user: User): string {
  const base = `${JSON.stringify(user.username)} with id ${user.id}`;
  if (user.email === null) return base;
  return `${base} and email ${JSON.stringify(user.email)} (${user.emailVerified ? "verified" : "unverified"})`;
}
