import type { Kysely, Transaction } from "kysely";
import type { DialectKind } from "./dialect.js";
import type { Database } from "./schema.js";

const ATTEMPTS = 5;

/**
 * Runs `work` in a transaction meant to begin by locking one row (a user's, `lockUser`; an
 * address's, in address-throttle.ts), which is what orders concurrent flows on it. On MySQL it runs at READ COMMITTED: the row lock is
 * all the flows need, and REPEATABLE READ's gap locks on the token index would make transactions
 * of two different users deadlock on the gap between their rows. A deadlock the database reports
 * anyway (MySQL, PostgreSQL) rolls the transaction back, and it is tried again.
 */
export async function userTransaction<T>(
  db: Kysely<Database>,
  kind: DialectKind,
  work: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      const transaction = kind === "mysql" ? db.transaction().setIsolationLevel("read committed") : db.transaction();
      return await transaction.execute(work);
    } catch (error) {
      if (attempt >= ATTEMPTS || !isDeadlock(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
    }
  }
}

function isDeadlock(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ER_LOCK_DEADLOCK" || code === "40P01";
}
