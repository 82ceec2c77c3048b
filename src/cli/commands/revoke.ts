import type { Session } from "../../types.js";
import { CliError } from "../io.js";
import { plural, requireExistingDatabase, requireUser, withManager, type CommandContext } from "./context.js";

/**
 * `revoke USERNAME [SESSION_ID]`: ends every session of the user, or only the one whose id is, or
 * starts with, SESSION_ID (at least as much of it as `list-sessions` prints; the parser checks).
 */
export async function revokeCommand(context: CommandContext): Promise<void> {
  requireExistingDatabase(context.database);
  const [username, sessionId] = context.args as [string, string | undefined];
  const message = await withManager(context, { autoMigrate: true }, async (manager) => {
    const user = await requireUser(manager, username);
    const name = JSON.stringify(user.username);
    if (sessionId === undefined) return `revoked ${plural(await manager.revokeSessions(user.id), "session")} of ${name}`;
    const session = findSession(await manager.listSessions(user.id), sessionId, name);
    // Expired or revoked since it was listed: gone either way, but not by this command.
    if (!(await manager.revokeSessionById(user.id, session.id))) throw noSuchSession(sessionId, name);
    return `revoked session ${session.id} of ${name}`;
  });
  context.io.stdout.write(`${message}\n`);
}

/**
 * The one live session of the user whose id is `given` or starts with it; a `CliError` when none
 * or several are. Only the user's own sessions are looked at, so another user's id matches nothing.
 */
export function findSession(sessions: readonly Session[], given: string, name: string): Session {
  const exact = sessions.find((session) => session.id === given);
  if (exact !== undefined) return exact;
  const matches = sessions.filter((session) => session.id.startsWith(given));
  if (matches.length === 0) throw noSuchSession(given, name);
  if (matches.length > 1) {
    throw new CliError(
      `${matches.length} live sessions of ${name} have ids starting with ${JSON.stringify(given)}: give more of the id (list-sessions --json shows them in full)`,
    );
  }
  return matches[0]!;
}

function noSuchSession(given: string, name: string): CliError {
  return new CliError(`${name} has no live session whose id starts with ${JSON.stringify(given)}`);
}
