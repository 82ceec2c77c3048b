const SAMPLES_PER_KIND = 15;
// A parameter set nobody's hash has used for this long no longer sets the pace.
const FORGET_AFTER_MS = 60 * 60 * 1000;
// At most this many parameter sets are remembered: the stored hashes of one app use a handful.
const MAX_KINDS = 16;
// No password check is padded beyond this, whatever a strange imported hash cost once.
const MAX_TARGET_MS = 5000;

interface Kind {
  samples: number[];
  median: number;
  seenAt: number;
}

/**
 * The time a password check takes for each argon2 parameter set seen recently, so that every
 * check can be padded to the slowest of them. Without it, the time of a wrong password tells
 * apart an unknown username (checked against a dummy hash of the current parameters) from a user
 * whose stored hash has other parameters (imported, or not signed in since the parameters were
 * raised), and users of different parameter sets from each other.
 */
export class VerifyTimes {
  readonly #kinds = new Map<string, Kind>();
  #target = 0;

  /** Records how long one check against a hash of parameter set `kind` ran. */
  record(kind: string, ms: number, now: number): void {
    let entry = this.#kinds.get(kind);
    if (entry === undefined) {
      if (this.#kinds.size >= MAX_KINDS) this.#forgetOldest();
      entry = { samples: [], median: ms, seenAt: now };
      this.#kinds.set(kind, entry);
    }
    entry.samples.push(ms);
    if (entry.samples.length > SAMPLES_PER_KIND) entry.samples.shift();
    entry.median = median(entry.samples);
    entry.seenAt = now;
    this.#target = this.#computeTarget(now);
  }

  /** What every check should take: the slowest recent parameter set's median, in milliseconds. */
  target(): number {
    return this.#target;
  }

  #computeTarget(now: number): number {
    let target = 0;
    for (const [kind, entry] of this.#kinds) {
      if (now - entry.seenAt > FORGET_AFTER_MS) this.#kinds.delete(kind);
      else target = Math.max(target, entry.median);
    }
    return Math.min(target, MAX_TARGET_MS);
  }

  #forgetOldest(): void {
    let oldest: string | null = null;
    let oldestAt = Infinity;
    for (const [kind, entry] of this.#kinds) {
      if (entry.seenAt < oldestAt) {
        oldest = kind;
        oldestAt = entry.seenAt;
      }
    }
    if (oldest !== null) this.#kinds.delete(oldest);
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
