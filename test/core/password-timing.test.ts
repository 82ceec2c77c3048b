import { performance } from "node:perf_hooks";
import { hash } from "@node-rs/argon2";
import type { SessionManager } from "session-manager";
import { VerifyTimes } from "../../src/password-timing";
import { describeEachDatabase, uniqueName } from "../setup/databases";

describe("VerifyTimes", () => {
  it("targets the slowest recent parameter set's median, forgets sets unused for an hour, and caps at 5 s", () => {
    const times = new VerifyTimes();
    for (const ms of [10, 11, 90, 12]) times.record("fast", ms, 0);
    expect(times.target()).toBe(11.5);
    for (const ms of [40, 41, 42]) times.record("slow", ms, 1000);
    expect(times.target()).toBe(41);
    times.record("fast", 10, 1000 + 60 * 60 * 1000 + 1);
    expect(times.target()).toBe(11);
    times.record("huge", 60_000, 1000 + 60 * 60 * 1000 + 2);
    expect(times.target()).toBe(5000);
  });
});

/** Median times of two kinds of call, interleaved so that a change in the machine's load hits both alike, in ms. */
async function medianTimes(count: number, first: () => Promise<unknown>, second: () => Promise<unknown>): Promise<[number, number]> {
  const times: [number[], number[]] = [[], []];
  for (let i = 0; i < count; i++) {
    for (const [index, call] of [first, second].entries()) {
      const started = performance.now();
      await call();
      times[index]!.push(performance.now() - started);
    }
  }
  const median = (values: number[]): number => values.sort((a, b) => a - b)[count >> 1]!;
  return [median(times[0]), median(times[1])];
}

// Throttling is off, so that repeated wrong passwords keep being checked. The time is the
// hashing's, whatever the database: one row of the list is enough.
describeEachDatabase(
  "a wrong password costs the same whatever the stored hash's parameters",
  (fixture) => {
    const CHEAP = { memoryCost: 256, timeCost: 1, parallelism: 1 };
    const COSTLY = { memoryCost: 16384, timeCost: 3, parallelism: 1 };

    async function compare(sm: SessionManager, name: string): Promise<{ known: number; unknown: number }> {
      await sm.authenticateUser(name, "wrong password");
      await sm.authenticateUser(uniqueName(), "wrong password");
      const [known, unknown] = await medianTimes(
        9,
        () => sm.authenticateUser(name, "wrong password"),
        () => sm.authenticateUser(uniqueName(), "wrong password"),
      );
      return { known, unknown };
    }

    it("pads a user whose hash predates raised parameters to the cost of an unknown username", async () => {
      const name = uniqueName();
      await fixture.manager({ password: CHEAP, throttle: false }).createUser(name, "password123");
      const { known, unknown } = await compare(fixture.manager({ password: COSTLY, throttle: false }), name);
      expect(known).toBeGreaterThan(unknown * 0.8);
    });

    it("pads an imported argon2i user to the cost of an unknown username", async () => {
      const name = uniqueName();
      const sm = fixture.manager({ password: COSTLY, throttle: false });
      // 1 is Argon2i in @node-rs/argon2's Algorithm enum.
      await sm.importUser(name, await hash("password123", { algorithm: 1, memoryCost: 1024, timeCost: 1, parallelism: 1 }));
      const { known, unknown } = await compare(sm, name);
      expect(known).toBeGreaterThan(unknown * 0.8);
    });

    it("pads an unknown username to the cost of a user whose hash is costlier than the current parameters", async () => {
      const name = uniqueName();
      await fixture.manager({ password: COSTLY, throttle: false }).createUser(name, "password123");
      const { known, unknown } = await compare(fixture.manager({ password: CHEAP, throttle: false }), name);
      expect(unknown).toBeGreaterThan(known * 0.8);
    });
  },
  { except: ["postgres", "mysql", "sqlite-file"] },
);
