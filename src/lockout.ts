import type { ResolvedThrottleOptions } from "./options.js";

/**
 * Lockout after the `maxFailures`-th consecutive failure: `baseLockoutSeconds`, doubled with each
 * further failure, capped at `maxLockoutSeconds`. Zero while under the limit.
 */
export function lockoutMs(options: ResolvedThrottleOptions, failures: number): number {
  if (failures < options.maxFailures) return 0;
  const doublings = Math.min(failures - options.maxFailures, 30);
  return Math.min(options.baseLockoutSeconds * 2 ** doublings, options.maxLockoutSeconds) * 1000;
}

/** Whole seconds until `lockedUntil`, at least 1 so a client never retries at once. */
export function retryAfterSeconds(lockedUntil: number, now: number): number {
  return Math.max(1, Math.ceil((lockedUntil - now) / 1000));
}

/**
 * The lockout schedule as a table, for the database to apply in the same statement that counts
 * an attempt: `steps[i]` is the lockout in ms at `maxFailures + i` failures, and every count past
 * the table gets `steps[steps.length - 1]`, the cap.
 */
export function lockoutSteps(options: ResolvedThrottleOptions): number[] {
  const steps: number[] = [];
  for (let failures = options.maxFailures; ; failures++) {
    const ms = lockoutMs(options, failures);
    steps.push(ms);
    if (ms >= options.maxLockoutSeconds * 1000 || steps.length > 31) return steps;
  }
}
