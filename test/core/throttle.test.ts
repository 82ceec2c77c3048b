import { LoginThrottledError, SessionManagerError } from "session-manager";
import { FAST_PASSWORDS, TestClock, describeEachDatabase, uniqueName } from "../setup/databases";

// Spied on to count the password checks that really ran.
const argon2 = require("@node-rs/argon2") as typeof import("@node-rs/argon2");

describeEachDatabase("login throttling", (fixture) => {
  async function setUp(options: { throttle?: false } = {}) {
    const clock = new TestClock();
    const sm = fixture.manager({ clock: clock.now, ...options });
    const name = uniqueName();
    await sm.createUser(name, "password123");
    return { clock, sm, name };
  }

  async function fail(sm: ReturnType<typeof fixture.manager>, name: string, times: number): Promise<void> {
    for (let i = 0; i < times; i++) expect(await sm.authenticateUser(name, "wrong password")).toBeNull();
  }

  async function throttled(promise: Promise<unknown>): Promise<LoginThrottledError> {
    const error = await promise.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LoginThrottledError);
    expect(error).toBeInstanceOf(SessionManagerError);
    return error as LoginThrottledError;
  }

  it("locks a username for 30 s after 10 consecutive failures, even for the right password", async () => {
    const { sm, name, clock } = await setUp();
    await fail(sm, name, 9);
    expect(await sm.authenticateUser(name, "password123")).not.toBeNull();
    await fail(sm, name, 10);
    const error = await throttled(sm.authenticateUser(name, "password123"));
    expect(error.code).toBe("login_throttled");
    expect(error.retryAfterSeconds).toBe(30);
    await throttled(sm.login(name, "password123"));
    clock.advance(20_000);
    expect((await throttled(sm.login(name, "password123"))).retryAfterSeconds).toBe(10);
    clock.advance(10_000);
    expect(await sm.login(name, "password123")).toEqual(expect.any(String));
  });

  it("doubles the lockout with each further failure, up to 15 minutes", async () => {
    const { sm, name, clock } = await setUp();
    await fail(sm, name, 10);
    const expected = [60, 120, 240, 480, 900, 900];
    for (const seconds of expected) {
      clock.advance(15 * 60 * 1000);
      await fail(sm, name, 1);
      expect((await throttled(sm.authenticateUser(name, "password123"))).retryAfterSeconds).toBe(seconds);
    }
  });

  it("counts throttled attempts as neither failures nor hashes", async () => {
    const { sm, name, clock } = await setUp();
    await fail(sm, name, 10);
    for (let i = 0; i < 5; i++) await throttled(sm.authenticateUser(name, "wrong password"));
    clock.advance(30_000);
    await fail(sm, name, 1);
    expect((await throttled(sm.authenticateUser(name, "x".repeat(20)))).retryAfterSeconds).toBe(60);
  });

  it("resets on success", async () => {
    const { sm, name, clock } = await setUp();
    await fail(sm, name, 10);
    clock.advance(30_000);
    expect(await sm.authenticateUser(name, "password123")).not.toBeNull();
    await fail(sm, name, 9);
    expect(await sm.authenticateUser(name, "password123")).not.toBeNull();
  });

  it("throttles unknown usernames the same way, and per username", async () => {
    const { sm, name } = await setUp();
    const ghost = uniqueName("ghost");
    await fail(sm, ghost, 10);
    await throttled(sm.authenticateUser(ghost, "password123"));
    expect(await sm.authenticateUser(name, "password123")).not.toBeNull();
    // Case and NFKC variants are one username.
    await throttled(sm.authenticateUser(ghost.toUpperCase(), "password123"));
  });

  it("shares the count between managers on one database", async () => {
    const { name, clock } = await setUp();
    const a = fixture.manager({ clock: clock.now });
    const b = fixture.manager({ clock: clock.now });
    await fail(a, name, 5);
    await fail(b, name, 5);
    await throttled(a.authenticateUser(name, "password123"));
    await throttled(b.authenticateUser(name, "password123"));
  });

  it("can be turned off", async () => {
    const { sm, name } = await setUp({ throttle: false });
    await fail(sm, name, 15);
    expect(await sm.authenticateUser(name, "password123")).not.toBeNull();
  });

  describe("under a burst of concurrent attempts", () => {
    // Room in the hashing queue for the whole burst: the throttle, not the queue, must stop it.
    const roomy = { password: { ...FAST_PASSWORDS, queueLimit: 10_000 } };

    afterEach(() => jest.restoreAllMocks());

    it("checks at most maxFailures of 50 simultaneous guesses and refuses the right password sent last", async () => {
      const clock = new TestClock();
      const sm = fixture.manager({ clock: clock.now, ...roomy });
      const name = uniqueName("victim");
      await sm.createUser(name, "correct horse battery staple");
      // On the single SQLite connection reservations run in call order, so the right password
      // sent 50th must be refused. A server's pool reorders them: there all 50 guesses are wrong,
      // since a right one among the first ten would rightly succeed and reset the count.
      const rightLast = fixture.database.name.startsWith("sqlite");
      const verify = jest.spyOn(argon2, "verify");
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) =>
          sm.authenticateUser(name, i === 49 && rightLast ? "correct horse battery staple" : `wrong guess ${i}`),
        ),
      );
      expect(verify).toHaveBeenCalledTimes(10);
      expect(results.filter((r) => r.status === "fulfilled" && r.value === null)).toHaveLength(10);
      for (const result of results) {
        if (result.status === "rejected") expect(result.reason).toBeInstanceOf(LoginThrottledError);
      }
      if (rightLast) expect(results[49]!.status).toBe("rejected");
      await throttled(sm.authenticateUser(name, "correct horse battery staple"));
      clock.advance(30_000);
      expect(await sm.authenticateUser(name, "correct horse battery staple")).toMatchObject({ username: name });
    });

    it("checks at most maxFailures of 1,000 simultaneous guesses from several managers, counting unknown usernames too", async () => {
      const clock = new TestClock();
      const managers = [
        fixture.manager({ clock: clock.now, ...roomy }),
        fixture.manager({ clock: clock.now, ...roomy }),
        fixture.manager({ clock: clock.now, ...roomy }),
      ];
      const name = uniqueName("nobody");
      await managers[0]!.migrate();
      const verify = jest.spyOn(argon2, "verify");
      const results = await Promise.allSettled(Array.from({ length: 1000 }, (_, i) => managers[i % 3]!.login(name, `guess number ${i}`)));
      expect(verify).toHaveBeenCalledTimes(10);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(10);
      expect(results.filter((r) => r.status === "rejected" && r.reason instanceof LoginThrottledError)).toHaveLength(990);
    });

    it("lets exactly one attempt through when a lockout ends under a burst, and doubles the lockout after it", async () => {
      const { sm, name, clock } = await setUp();
      await fail(sm, name, 10);
      clock.advance(30_000);
      const verify = jest.spyOn(argon2, "verify");
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => sm.authenticateUser(name, `wrong again ${i}`)));
      expect(verify).toHaveBeenCalledTimes(1);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      expect((await throttled(sm.authenticateUser(name, "password123"))).retryAfterSeconds).toBe(60);
    });
  });

  it("starts a new user's name without the failures counted on it before it was taken", async () => {
    const clock = new TestClock();
    const sm = fixture.manager({ clock: clock.now });
    const name = uniqueName("later");
    await fail(sm, name, 10);
    await throttled(sm.authenticateUser(name, "password123"));
    await sm.createUser(name.toUpperCase(), "password123");
    expect(await sm.authenticateUser(name, "password123")).toMatchObject({ username: name.toUpperCase() });
  });
});
