import { ServiceBusyError, SessionManagerError, type SessionManager } from "session-manager";
import { Lane } from "../../src/lane";
import { FAST_PASSWORDS, TestClock, describeEachDatabase, uniqueName } from "../setup/databases";

const argon2 = require("@node-rs/argon2") as typeof import("@node-rs/argon2");

/** A task that runs until `finish` is called (before or after it starts). */
function gate(): { task: () => Promise<void>; finish: () => void; started: boolean } {
  let finish = (): void => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const state = {
    started: false,
    task: () => {
      state.started = true;
      return done;
    },
    finish: () => finish(),
  };
  return state;
}

describe("Lane", () => {
  it("runs size tasks at once, queues queueLimit more in order, and refuses the next with ServiceBusyError", async () => {
    const lane = new Lane(2, 3);
    const gates = Array.from({ length: 5 }, gate);
    const runs = gates.map((g) => lane.run(g.task));
    await Promise.resolve();
    expect(gates.map((g) => g.started)).toEqual([true, true, false, false, false]);
    expect(lane.queued).toBe(3);
    let refused: unknown = null;
    try {
      await lane.run(async () => {});
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(ServiceBusyError);
    expect(refused).toBeInstanceOf(SessionManagerError);
    expect((refused as ServiceBusyError).code).toBe("service_busy");
    expect((refused as ServiceBusyError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    gates[1]!.finish();
    await runs[1];
    await new Promise((resolve) => setImmediate(resolve));
    // The freed slot went to the oldest waiting task, and a place in the queue opened.
    expect(gates.map((g) => g.started)).toEqual([true, true, true, false, false]);
    const late = gate();
    const lateRun = lane.run(late.task);
    for (const g of gates) g.finish();
    await Promise.all(runs);
    await new Promise((resolve) => setImmediate(resolve));
    late.finish();
    await lateRun;
  });

  it("counts a ticket's place from admission, and gives it back on release", async () => {
    const lane = new Lane(1, 1);
    const running = gate();
    const run = lane.run(running.task);
    const ticket = lane.admit();
    expect(() => lane.admit()).toThrow(ServiceBusyError);
    ticket.release();
    ticket.release();
    const again = lane.admit();
    running.finish();
    await run;
    await again.run(async () => {});
    await expect(again.run(async () => {})).rejects.toThrow("one task");
  });
});

describeEachDatabase("the hashing lane's bounded queue", (fixture) => {
  function manager(queueLimit: number): { sm: SessionManager; clock: TestClock } {
    const clock = new TestClock();
    return { sm: fixture.manager({ clock: clock.now, password: { ...FAST_PASSWORDS, concurrency: 1, queueLimit } }), clock };
  }

  afterEach(() => jest.restoreAllMocks());

  it("refuses logins past the queue with ServiceBusyError before counting them as failures or hashing", async () => {
    const { sm } = manager(4);
    const name = uniqueName();
    await sm.createUser(name, "password123");
    const verify = jest.spyOn(argon2, "verify");
    const results = await Promise.allSettled(Array.from({ length: 30 }, () => sm.login(name, "wrong password")));
    const busy = results.filter((r) => r.status === "rejected" && r.reason instanceof ServiceBusyError);
    const checked = results.filter((r) => r.status === "fulfilled");
    // One running and four queued: the other 25 were refused at once.
    expect(checked).toHaveLength(5);
    expect(busy).toHaveLength(25);
    expect(verify).toHaveBeenCalledTimes(5);
    // Five failures counted, not thirty: five more wrong ones are checked before the lockout.
    for (let i = 0; i < 4; i++) expect(await sm.authenticateUser(name, "wrong password")).toBeNull();
    expect(await sm.authenticateUser(name, "password123")).not.toBeNull();
  });

  it("refuses createUser past the queue, and serves a real login once the flood is past", async () => {
    const { sm } = manager(2);
    const name = uniqueName();
    await sm.createUser(name, "password123");
    const flood = await Promise.allSettled(Array.from({ length: 20 }, () => sm.createUser(uniqueName(), "password123")));
    expect(flood.filter((r) => r.status === "rejected" && r.reason instanceof ServiceBusyError)).toHaveLength(17);
    const unknown = Array.from({ length: 40 }, () => sm.authenticateUser(uniqueName("nobody"), "password123"));
    const settled = await Promise.allSettled(unknown);
    expect(settled.filter((r) => r.status === "rejected").every((r) => r.reason instanceof ServiceBusyError)).toBe(true);
    expect(await sm.authenticateUser(name, "password123")).toMatchObject({ username: name });
  });
});
