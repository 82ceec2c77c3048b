import { randomInt } from "node:crypto";
import fc from "fast-check";
import { LoginThrottledError, type AuthEvent, type SessionManager } from "session-manager";
import { FAST_PASSWORDS, describeEachDatabase, uniqueName } from "../setup/databases";

// SQLite runs are cheap; on the servers every attempt is a few round trips.
const RUNS: Record<string, number> = { "sqlite-memory": 200, "sqlite-file": 200, postgres: 60, mysql: 40 };
const PASSWORD = "the right password";
const SECOND = 1000;
const MINUTE = 60 * SECOND;

// Small limits, so that short sequences reach them.
const LIMITS = { maxFailures: 4, baseLockoutSeconds: 30, maxLockoutSeconds: 900, ipMaxFailures: 3, ipMaxUsernames: 2 };

type Outcome = "signed in" | "wrong" | `refused (${"address" | "username"}, ${number} s)`;

interface Step {
  kind: "attempt" | "wait";
  /** Which client: 0 and 1 are IPv4 addresses, 2 an IPv6 /64, 3 a core call without an address. */
  client: number;
  /** Which username: 0 to 2 are users, 3 has no account. */
  user: number;
  right: boolean;
  waitMs: number;
}

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("attempt" as const),
      // The first client more often, so that its limits are reached.
      client: fc.constantFrom(0, 0, 0, 1, 2, 3, 3),
      user: fc.integer({ min: 0, max: 3 }),
      right: fc.boolean(),
      waitMs: fc.constant(0),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("wait" as const),
      client: fc.constant(0),
      user: fc.constant(0),
      right: fc.constant(false),
      waitMs: fc.constantFrom(SECOND, 31 * SECOND, 5 * MINUTE, 15 * MINUTE, 16 * MINUTE, 61 * MINUTE),
    }),
  },
);

/**
 * The documented rules, kept as plainly as they are stated: the username throttle (consecutive
 * failures, a doubling lockout, cleared by a success) and the address rules (failures within a
 * 15-minute window, distinct usernames within an hour, both windows opened by the first failure
 * counted after the last one closed; the attempt past a limit is refused and locks the address;
 * a refused attempt counts nowhere; a success is no failure).
 */
class Model {
  readonly #users = new Map<number, { failures: number; lockedUntil: number }>();
  readonly #addresses = new Map<
    number,
    { lockedUntil: number; failures: number; failuresSince: number; names: Map<number, number>; namesSince: number }
  >();

  attempt(client: number, user: number, right: boolean, now: number): Outcome {
    const u = this.#users.get(user) ?? { failures: 0, lockedUntil: 0 };
    const a =
      client === 3
        ? null
        : (this.#addresses.get(client) ?? { lockedUntil: 0, failures: 0, failuresSince: 0, names: new Map(), namesSince: 0 });
    if (a !== null) {
      if (a.lockedUntil > now) return refused("address", a.lockedUntil, now);
      if (a.failuresSince + 15 * MINUTE <= now) Object.assign(a, { failures: 0, failuresSince: now });
      if (a.namesSince + 60 * MINUTE <= now) Object.assign(a, { names: new Map(), namesSince: now });
      let lock = 0;
      if (a.failures >= LIMITS.ipMaxFailures) lock = 15 * MINUTE;
      if (!a.names.has(user) && a.names.size >= LIMITS.ipMaxUsernames) lock = 60 * MINUTE;
      if (lock > 0) {
        a.lockedUntil = now + lock;
        this.#addresses.set(client, a);
        return refused("address", a.lockedUntil, now);
      }
    }
    if (u.lockedUntil > now) return refused("username", u.lockedUntil, now);
    if (right && user !== 3) {
      this.#users.delete(user);
      if (a !== null) this.#addresses.set(client, a);
      return "signed in";
    }
    u.failures += 1;
    if (u.failures >= LIMITS.maxFailures) {
      const doublings = u.failures - LIMITS.maxFailures;
      u.lockedUntil = now + Math.min(LIMITS.baseLockoutSeconds * 2 ** doublings, LIMITS.maxLockoutSeconds) * SECOND;
    }
    this.#users.set(user, u);
    if (a !== null) {
      a.failures += 1;
      a.names.set(user, (a.names.get(user) ?? 0) + 1);
      this.#addresses.set(client, a);
    }
    return "wrong";
  }
}

function refused(reason: "address" | "username", lockedUntil: number, now: number): Outcome {
  return `refused (${reason}, ${Math.max(1, Math.ceil((lockedUntil - now) / SECOND))} s)`;
}

describeEachDatabase("address throttle against a model of its rules", (fixture) => {
  let now = Date.UTC(2026, 0, 1);
  const events: AuthEvent[] = [];
  let sm: SessionManager;

  beforeAll(async () => {
    sm = fixture.manager({ clock: () => new Date(now), throttle: LIMITS, onEvent: (event) => events.push(event) });
    await sm.migrate();
  });

  it("answers every interleaving of successes and failures from several addresses on several usernames as the rules say", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 60 }), async (steps) => {
        // A run of its own: new usernames and addresses, and a clock far past the last run's.
        now += 10 * 24 * 60 * MINUTE;
        const names = [uniqueName("a"), uniqueName("b"), uniqueName("c"), uniqueName("ghost")];
        for (const name of names.slice(0, 3)) await sm.createUser(name, PASSWORD);
        const v4 = [randomInt(1 << 24), randomInt(1 << 24)].map((n) => `${n >> 16}.${(n >> 8) & 255}.${n & 255}`);
        const v6 = `2001:db8:${randomInt(0x10000).toString(16)}:${randomInt(0x10000).toString(16)}`;
        // Each client in the spellings it may arrive in: one key each.
        const spellings = [
          [`10.${v4[0]}`, `::ffff:10.${v4[0]}`],
          [`10.${v4[1]}`, `[::FFFF:10.${v4[1]}]`],
          [`${v6}::1`, `${v6.toUpperCase()}:ffff:0:0:7`, `${v6}::2%eth0`],
          [undefined],
        ];
        const model = new Model();
        const log: string[] = [];
        for (const s of steps) {
          if (s.kind === "wait") {
            now += s.waitMs;
            log.push(`wait ${s.waitMs / SECOND} s`);
            continue;
          }
          const forms = spellings[s.client]!;
          const ip = forms[randomInt(forms.length)];
          const expected = model.attempt(s.client, s.user, s.right, now);
          const seen = events.length;
          const actual = await sm.login(names[s.user]!, s.right ? PASSWORD : "a wrong password", { ip }).then(
            (token): Outcome => (token === null ? "wrong" : "signed in"),
            (error: unknown): Outcome => {
              if (!(error instanceof LoginThrottledError)) throw error;
              const reason = events.slice(seen).find((event) => event.type === "login_throttled")?.reason;
              return `refused (${reason as "address" | "username"}, ${error.retryAfterSeconds} s)`;
            },
          );
          log.push(`${ip ?? "no address"} ${s.user} ${s.right ? "right" : "wrong"}: ${actual}`);
          if (actual !== expected) throw new Error(`expected ${expected}\n${log.join("\n")}`);
        }
      }),
      { numRuns: RUNS[fixture.database.name] },
    );
  });
});

interface Attempt {
  /** 0 to 2 are users, 3 has no account. */
  user: number;
  right: boolean;
}

interface Batch {
  /** How long the clock moves before the batch is sent. */
  waitMs: number;
  /** Sent all at once, from one address. */
  attempts: Attempt[];
}

const batch: fc.Arbitrary<Batch> = fc.record({
  waitMs: fc.constantFrom(0, 0, 0, 16 * MINUTE, 61 * MINUTE),
  attempts: fc.array(fc.record({ user: fc.constantFrom(0, 1, 2, 2, 3), right: fc.boolean() }), { minLength: 1, maxLength: 8 }),
});

/**
 * What the rules promise for attempts sent at once, whatever order they reach the database in:
 * failed logins stay within both limits of their windows, and the address is locked out only
 * once finished failures reached a limit; an attempt refused while others were running is told
 * to come back in a second.
 */
describeEachDatabase("address throttle under concurrent attempts", (fixture) => {
  let now = Date.UTC(2027, 0, 1);
  let sm: SessionManager;

  beforeAll(async () => {
    sm = fixture.manager({
      clock: () => new Date(now),
      throttle: { ...LIMITS, maxLockoutSeconds: 600 },
      password: { ...FAST_PASSWORDS, queueLimit: 10_000 },
    });
    await sm.migrate();
  });

  it("keeps both limits and locks only on finished failures, for every batch of simultaneous attempts", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(batch, { minLength: 1, maxLength: 12 }), async (batches) => {
        now += 10 * 24 * 60 * MINUTE;
        const names = [uniqueName("a"), uniqueName("b"), uniqueName("c"), uniqueName("ghost")];
        for (const name of names.slice(0, 3)) await sm.createUser(name, PASSWORD);
        const n = randomInt(1 << 24);
        const forms = [`10.${n >> 16}.${(n >> 8) & 255}.${n & 255}`, `::ffff:10.${n >> 16}.${(n >> 8) & 255}.${n & 255}`];
        // The windows as the rules open them: at the first attempt counted after the last one closed.
        let failuresSince: number | null = null;
        let failures = 0;
        let namesSince: number | null = null;
        const failedNames = new Set<number>();
        let lockedUntil = 0;
        const log: string[] = [];
        for (const b of batches) {
          now += b.waitMs;
          if (failuresSince !== null && failuresSince + 15 * MINUTE <= now) [failuresSince, failures] = [null, 0];
          if (namesSince !== null && namesSince + 60 * MINUTE <= now) {
            namesSince = null;
            failedNames.clear();
          }
          const results = await Promise.all(
            b.attempts.map((a) =>
              sm.login(names[a.user]!, a.right ? PASSWORD : "a wrong password", { ip: forms[randomInt(2)] }).then(
                (token) => (token === null ? "wrong" : "signed in"),
                (error: unknown) => {
                  if (!(error instanceof LoginThrottledError)) throw error;
                  return error.retryAfterSeconds;
                },
              ),
            ),
          );
          log.push(`+${b.waitMs / MINUTE} min: ${b.attempts.map((a, i) => `${a.user}${a.right ? "+" : "-"}=${results[i]}`).join(" ")}`);
          const fail = (why: string) => new Error(`${why}\n${log.join("\n")}`);
          if (results.some((r) => r === "wrong" || r === "signed in")) {
            failuresSince ??= now;
            namesSince ??= now;
          }
          b.attempts.forEach((a, i) => {
            if (results[i] !== "wrong") return;
            failures += 1;
            failedNames.add(a.user);
          });
          if (failures > LIMITS.ipMaxFailures) throw fail(`${failures} failures checked in one window`);
          if (failedNames.size > LIMITS.ipMaxUsernames) throw fail(`${failedNames.size} usernames failed on in one hour`);
          // Username lockouts last at most 600 s here; an address lockout starts at 900 s or 3600 s.
          const lock = Math.max(0, ...results.filter((r): r is number => r === 900 || r === 3600));
          if (lock > 0 && lockedUntil <= now) {
            const reached = lock === 900 ? failures >= LIMITS.ipMaxFailures : failedNames.size >= LIMITS.ipMaxUsernames;
            if (!reached) throw fail(`the address was locked out for ${lock} s before its failures reached that limit`);
            lockedUntil = now + lock * SECOND;
          }
        }
      }),
      { numRuns: RUNS[fixture.database.name]! / 2 },
    );
  });
});
