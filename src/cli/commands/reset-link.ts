import { connect } from "../../database/connect.js";
import { MAX_RESETS_PER_WINDOW, RESET_WINDOW_MS, type PasswordResetToken } from "../../recovery.js";
import type { SessionManager } from "../../session-manager.js";
import type { User } from "../../types.js";
import { CliError } from "../io.js";
import { formatTime } from "../table.js";
import { requireExistingDatabase, withManager, type CommandContext } from "./context.js";

/**
 * `reset-link USERNAME_OR_EMAIL --link URL`: issues a password reset token and prints the link
 * that carries it, built as the password reset request handler builds the one it mails. The link
 * alone goes to stdout, so that it can be piped; what it is for goes to stderr. No password is
 * read, set or shown.
 */
export async function resetLinkCommand(context: CommandContext): Promise<void> {
  requireExistingDatabase(context.database);
  const identifier = context.args[0]!;
  const issued = await withManager(context, { autoMigrate: true }, async (manager) => {
    // The core answers null alike for an unknown identifier, a user without an address and one
    // past the limit; looking first tells the operator which.
    requireResettable(identifier, await findUser(manager, identifier));
    const issued = await manager.createPasswordResetToken(identifier);
    if (issued !== null) return issued;
    // Null with the checks passed: the limit, unless the account changed in between.
    const user = requireResettable(identifier, await findUser(manager, identifier));
    throw new CliError(await limitMessage(context, user));
  });
  const url = new URL(context.link!.href);
  url.searchParams.set("token", issued.token);
  context.io.stdout.write(`${url.href}\n`);
  context.io.stderr.write(`${describeLink(issued)}\n`);
}

/** The user an identifier names, looked up as `createPasswordResetToken` does: an address first, then a username. */
async function findUser(manager: SessionManager, identifier: string): Promise<User | null> {
  return (await manager.getUserByEmail(identifier)) ?? (await manager.getUser(identifier));
}

/** The user, when a reset link can be bound to its address; else a `CliError` saying why not. */
function requireResettable(identifier: string, user: User | null): User & { email: string } {
  if (user === null) throw new CliError(`no user named ${JSON.stringify(identifier)} or with that email address`);
  if (user.email === null) {
    throw new CliError(
      `user ${JSON.stringify(user.username)} has no email address, and a reset link is bound to the account's address: none can be issued until it has one`,
    );
  }
  return user as User & { email: string };
}

async function limitMessage(context: CommandContext, user: User): Promise<string> {
  const issued = `${MAX_RESETS_PER_WINDOW} password reset links were issued for ${JSON.stringify(user.username)} within the last hour, the most allowed`;
  const next = await nextIssueTime(context, user.id);
  return next === null ? `${issued}: try again later` : `${issued}: try again after ${formatTime(next)}`;
}

/**
 * When the oldest of the issues that fill the window leaves it, rounded up to the minute; null
 * when that cannot be read. A connection of its own, since the manager does not expose one.
 */
async function nextIssueTime(context: CommandContext, userId: number): Promise<Date | null> {
  const { db } = connect(context.database, context.tablePrefix);
  try {
    const row = await db
      .selectFrom("auth_one_time_tokens")
      .select("created_at")
      .where("user_id", "=", userId)
      .where("purpose", "=", "password_reset")
      .where("created_at", ">", Date.now() - RESET_WINDOW_MS)
      .orderBy("created_at", "desc")
      .limit(1)
      .offset(MAX_RESETS_PER_WINDOW - 1)
      .executeTakeFirst();
    if (row === undefined) return null;
    const at = Number(row.created_at) + RESET_WINDOW_MS;
    return new Date(Math.ceil(at / 60_000) * 60_000);
  } catch {
    return null;
  } finally {
    await db.destroy();
  }
}

/** What the link is for: whose it is, the address it is bound to, and until when it works. */
function describeLink(issued: PasswordResetToken): string {
  const { user } = issued;
  return (
    `one-time password reset link for ${JSON.stringify(user.username)} (id ${user.id}, ${JSON.stringify(issued.email)}), ` +
    `valid until ${formatTime(issued.expiresAt)}; earlier reset links of this user no longer work`
  );
}
