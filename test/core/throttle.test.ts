import { LoginThrottledError, SessionManagerError } from "session-manager";
import { TestClock, describeEachDatabase, uniqueName } from "../setup/databases";

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
});
