// Tests of the files that run on Bun and Deno (see run.mjs) which cannot run on one of them, by
// full title ("describe > … > test"), each with the reason. Bun leaves them out through its
// --test-name-pattern, Deno's preload registers them as skipped; both print them with the reason.

export type Runtime = "bun" | "deno";

export interface Exclusion {
  runtimes: readonly Runtime[];
  /** The full title, or its start: every test under a describe block goes with it. */
  title: string;
  reason: string;
}

export const EXCLUSIONS: readonly Exclusion[] = [];

/** Why the test of that full title is excluded on `runtime`, or null when it runs. */
export function exclusionOf(runtime: Runtime, title: string): string | null {
  const found = EXCLUSIONS.find((exclusion) => exclusion.runtimes.includes(runtime) && title.startsWith(exclusion.title));
  return found === undefined ? null : found.reason;
}
