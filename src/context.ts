import type { Kysely } from "kysely";
import type { DialectKind } from "./database/dialect.js";
import type { Database } from "./database/schema.js";
import type { SessionLookup } from "./database/sessions.js";
import type { AddressLimits } from "./database/address-throttle.js";
import type { LockoutSchedule } from "./database/throttle.js";
import type { ResolvedOptions } from "./options.js";
import type { PasswordHasher } from "./passwords.js";
import type { AuthEvent, AuthEventType } from "./types.js";

/**
 * What the workflows of one `SessionManager` share: its database, options, hasher and event
 * sink. The manager builds it once; each workflow module (login.ts, session-lifecycle.ts, and the
 * flows to come: recovery, two-factor) takes it as its first argument, the way Kysely-style
 * repository functions take `db`, and the manager stays the one public facade delegating to them.
 */
export interface ManagerContext {
  readonly db: Kysely<Database>;
  readonly kind: DialectKind;
  readonly options: ResolvedOptions;
  readonly passwords: PasswordHasher;
  /** The per-username lockout schedule, or null when throttling is off. */
  readonly throttle: LockoutSchedule | null;
  /** The per-address limits, or null when throttling is off. */
  readonly addressLimits: AddressLimits | null;
  /** The validation lookup, compiled once. */
  readonly findSession: SessionLookup;
  /** True once the schema is known to be up to date, so a synchronous path may run. */
  readonly migrated: boolean;
  /** Migrates first when `autoMigrate` has not yet. */
  ready(): Promise<void>;
  /** The manager's clock, in ms. */
  now(): number;
  /** Delivers an audit event to `onEvent`, never letting the listener break the operation. */
  emit(type: AuthEventType, fields: Omit<AuthEvent, "type" | "at">): void;
}
