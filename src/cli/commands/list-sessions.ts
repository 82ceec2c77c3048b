import type { Session } from "../../types.js";
import { terminalColumns } from "../io.js";
import { SESSION_ID_PREFIX } from "../spec.js";
import { formatTable, formatTime, truncate } from "../table.js";
import { requireExistingDatabase, requireUser, withManager, type CommandContext } from "./context.js";

const HEADER = ["ID", "CREATED", "LAST SEEN", "EXPIRES", "IP", "USER AGENT"] as const;
// Used when stdout is not a terminal, so a log or a pipe gets a stable width.
const DEFAULT_USER_AGENT_WIDTH = 60;
const MIN_USER_AGENT_WIDTH = 20;

/** A session as `list-sessions --json` prints it: times in ISO 8601, never a token or digest. */
export interface SessionJson {
  id: string;
  createdAt: string;
  lastSeenAt: string | null;
  expiresAt: string;
  authenticatedAt: string;
  ip: string | null;
  userAgent: string | null;
  persistent: boolean;
}

/**
 * `list-sessions USERNAME [--json]`: a table of the user's live sessions, newest first, or with
 * `--json` a JSON array of them with full ids.
 */
export async function listSessionsCommand(context: CommandContext): Promise<void> {
  requireExistingDatabase(context.database);
  const { user, sessions } = await withManager(context, { autoMigrate: true }, async (manager) => {
    const user = await requireUser(manager, context.args[0]!);
    return { user, sessions: await manager.listSessions(user.id) };
  });
  const out = context.io.stdout;
  if (context.json) {
    out.write(`${JSON.stringify(sessions.map(sessionJson), null, 2)}\n`);
    return;
  }
  if (sessions.length === 0) {
    out.write(`no active sessions for ${JSON.stringify(user.username)}\n`);
    return;
  }
  const cells = sessions.map((session) => row(session, Number.POSITIVE_INFINITY));
  // On a terminal the user agent gets what is left of the line; elsewhere a fixed width.
  const others = HEADER.slice(0, -1).reduce(
    (sum, title, column) => sum + Math.max(title.length, ...cells.map((cell) => [...cell[column]!].length)) + 2,
    0,
  );
  const agentWidth = out.isTTY === true ? Math.max(MIN_USER_AGENT_WIDTH, terminalColumns(out) - others - 1) : DEFAULT_USER_AGENT_WIDTH;
  out.write(
    `${formatTable(
      HEADER,
      sessions.map((session) => row(session, agentWidth)),
    )}\n`,
  );
}

/** The fields of a session fit to print, named one by one so that nothing else ever slips in. */
export function sessionJson(session: Session): SessionJson {
  return {
    id: session.id,
    createdAt: session.createdAt.toISOString(),
    lastSeenAt: session.lastSeenAt?.toISOString() ?? null,
    expiresAt: session.expiresAt.toISOString(),
    authenticatedAt: session.authenticatedAt.toISOString(),
    ip: session.ip,
    userAgent: session.userAgent,
    persistent: session.persistent,
  };
}

function row(session: Session, agentWidth: number): string[] {
  return [
    session.id.slice(0, SESSION_ID_PREFIX),
    formatTime(session.createdAt),
    formatTime(session.lastSeenAt),
    formatTime(session.expiresAt),
    session.ip ?? "-",
    truncate(session.userAgent ?? "-", agentWidth),
  ];
}
