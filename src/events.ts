import type { AuthEvent } from "./types.js";

/**
 * Delivers an audit event without ever letting the listener break the operation: a throw or a
 * rejected promise from the listener is swallowed.
 */
export function emitEvent(listener: ((event: AuthEvent) => void) | null, event: AuthEvent): void {
  if (listener === null) return;
  try {
    const result: unknown = listener(event);
    if (result instanceof Promise) result.catch(() => {});
  } catch {
    // A broken audit sink must not turn a successful login into a failed one.
  }
}
