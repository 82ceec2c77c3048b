import { MysqlAdapter, PostgresAdapter, SqliteAdapter, type Kysely } from "kysely";
import { UnsupportedDatabaseError } from "../errors.js";

/** The SQL families the library writes its schema and upserts for. */
export type DialectKind = "sqlite" | "postgres" | "mysql";

/** Which SQL family a Kysely instance speaks, from its adapter. */
export function dialectKindOf<T>(db: Kysely<T>): DialectKind {
  const adapter = db.getExecutor().adapter;
  if (adapter instanceof SqliteAdapter) return "sqlite";
  if (adapter instanceof PostgresAdapter) return "postgres";
  if (adapter instanceof MysqlAdapter) return "mysql";
  throw new UnsupportedDatabaseError(
    `unsupported Kysely dialect (${adapter.constructor.name}); session-manager supports SQLite, PostgreSQL and MySQL/MariaDB`,
  );
}
