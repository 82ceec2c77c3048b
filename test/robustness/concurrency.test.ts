import { UsernameTakenError, type SessionManager, type User } from "session-manager";
import { DatabaseFixture, FAST_PASSWORDS, TestClock, describeEachDatabase, uniqueName } from "../setup/databases";

const PASSWORD = "correct horse battery";
const DAY = 24 * 60 * 60 * 1000;

/** Interleaves the lists so that different kinds of operation are in flight together. */
function interleave<T>(...lists: T[][]): T[] {
  const result: T[] = [];
  for (let i = 0; lists.some((list) => i < list.length); i++) for (const list of lists) if (i < list.length) result.push(list[i]!);
  return result;
}

describeEachDatabase("concurrency", (fixture) => {
  let sm: SessionManager;
  let clock: TestClock;

  beforeAll(async () => {
    clock = new TestClock();
    // A queue long enough for every hash of a burst: these tests are about what the database
    // makes of concurrent operations; the queue's limit has tests of its own.
    sm = fixture.manager({
      clock: clock.now,
      tablePrefix: DatabaseFixture.prefix(),
      throttle: false,
      password: { ...FAST_PASSWORDS, queueLimit: 10_000 },
    });
    await sm.migrate();
  });

  async function users(count: number): Promise<User[]> {
    return Promise.all(Array.from({ length: count }, () => sm.createUser(uniqueName(), PASSWORD)));
  }

  it("lets exactly one of many concurrent createUser calls of one name succeed", async () => {
    const names = [uniqueName("race"), uniqueName("race"), uniqueName("race")];
    const attempts = names.flatMap((name) =>
      Array.from({ length: 20 }, (_, i) => ({ name, spelled: [name, name.toUpperCase(), ` ${name} `, name.replace("r", "Ｒ")][i % 4]! })),
    );
    const results = await Promise.allSettled(attempts.map(({ spelled }) => sm.createUser(spelled, PASSWORD)));
    for (const name of names) {
      const mine = results.filter((_, i) => attempts[i]!.name === name);
      const winners = mine.filter((result): result is PromiseFulfilledResult<User> => result.status === "fulfilled");
      expect(winners).toHaveLength(1);
      for (const result of mine) if (result.status === "rejected") expect(result.reason).toBeInstanceOf(UsernameTakenError);
      expect(await sm.getUser(name)).toEqual(winners[0]!.value);
    }
  });

  it("gives every one of hundreds of concurrent logins a distinct token that validates as its own user", async () => {
    const people = await users(5);
    const earlier = await Promise.all(people.map((user) => sm.login(user.username, PASSWORD)));
    const logins = people.flatMap((user) => Array.from({ length: 40 }, () => ({ user, run: () => sm.login(user.username, PASSWORD) })));
    const validations = Array.from({ length: 200 }, (_, i) => ({
      user: people[i % people.length]!,
      run: () => sm.validateSession(earlier[i % people.length]!),
    }));
    const operations = interleave<{ user: User; run: () => Promise<unknown> }>(logins, validations);
    const results = await Promise.all(operations.map((operation) => operation.run()));

    const tokens: Array<{ user: User; token: string }> = [];
    operations.forEach((operation, i) => {
      const result = results[i];
      if (typeof result === "string") tokens.push({ user: operation.user, token: result });
      // Every validation in the crowd saw its own user: never null, never someone else.
      else expect(result).toEqual(operation.user);
    });
    expect(tokens).toHaveLength(200);
    expect(new Set(tokens.map(({ token }) => token)).size).toBe(200);
    const seen = await Promise.all(tokens.map(({ token }) => sm.validateSession(token)));
    expect(seen).toEqual(tokens.map(({ user }) => user));
    for (const user of people) expect(await sm.listSessions(user.id)).toHaveLength(41);
  });

  it("counts every session exactly once across concurrent revokeSessions, and none validates afterwards", async () => {
    const [victim, bystander] = (await users(2)) as [User, User];
    const victimTokens = await Promise.all(Array.from({ length: 30 }, () => sm.login(victim.username, PASSWORD)));
    const bystanderTokens = await Promise.all(Array.from({ length: 10 }, () => sm.login(bystander.username, PASSWORD)));
    const revocations = Array.from({ length: 8 }, () => sm.revokeSessions(victim.id));
    // Validations and logins of someone else run in the middle of it.
    const noise = Promise.all([
      ...victimTokens.map((token) => sm.validateSession(token!)),
      ...bystanderTokens.map((token) => sm.validateSession(token!)),
      ...Array.from({ length: 20 }, () => sm.login(bystander.username, PASSWORD)),
    ]);
    const counts = await Promise.all(revocations);
    const validated = await noise;
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(30);
    // During the storm a victim's token validated as the victim or not at all.
    for (const result of validated.slice(0, 30)) if (result !== null) expect(result).toEqual(victim);
    expect(await Promise.all(victimTokens.map((token) => sm.validateSession(token!)))).toEqual(victimTokens.map(() => null));
    expect(await Promise.all(bystanderTokens.map((token) => sm.validateSession(token!)))).toEqual(bystanderTokens.map(() => bystander));
    expect(await sm.listSessions(victim.id)).toEqual([]);
    expect(await sm.listSessions(bystander.id)).toHaveLength(30);
  });

  it("revokes every session that existed when revokeSessions began, while logins race with it", async () => {
    const [user] = (await users(1)) as [User];
    const before = await Promise.all(Array.from({ length: 20 }, () => sm.login(user.username, PASSWORD)));
    const racing = Array.from({ length: 20 }, () => sm.login(user.username, PASSWORD));
    const count = await sm.revokeSessions(user.id);
    const raced = await Promise.all(racing);
    const after = await Promise.all(Array.from({ length: 10 }, () => sm.login(user.username, PASSWORD)));
    // All 20 earlier sessions were live and are gone; racing logins landed before or after the delete.
    expect(count).toBeGreaterThanOrEqual(20);
    expect(await Promise.all(before.map((token) => sm.validateSession(token!)))).toEqual(before.map(() => null));
    const survivors = (await Promise.all(raced.map((token) => sm.validateSession(token!)))).filter((result) => result !== null);
    expect(count - 20 + survivors.length).toBe(20);
    expect(await Promise.all(after.map((token) => sm.validateSession(token!)))).toEqual(after.map(() => user));
    expect(await sm.listSessions(user.id)).toHaveLength(10 + survivors.length);
  });

  it("ends each session exactly once when it is revoked from many places at once", async () => {
    const [user] = (await users(1)) as [User];
    const tokens = (await Promise.all(Array.from({ length: 20 }, () => sm.login(user.username, PASSWORD)))) as string[];
    const attempts = tokens.flatMap((token) => [
      sm.revokeSession(token),
      sm.logout(token),
      sm.revokeSession(token),
      sm.validateSession(token),
    ]);
    const results = await Promise.all(attempts);
    for (let i = 0; i < tokens.length; i++) {
      const [revoke1, logout, revoke2] = results.slice(i * 4, i * 4 + 3) as boolean[];
      expect([revoke1, logout, revoke2].filter(Boolean)).toHaveLength(1);
    }
    expect(await sm.listSessions(user.id)).toEqual([]);
  });

  it("renews sessions under concurrent validation without losing any, and revocation wins over renewal", async () => {
    const [kept, revoked] = (await users(2)) as [User, User];
    const keptTokens = (await Promise.all(Array.from({ length: 10 }, () => sm.login(kept.username, PASSWORD)))) as string[];
    const revokedTokens = (await Promise.all(Array.from({ length: 10 }, () => sm.login(revoked.username, PASSWORD)))) as string[];
    // Past half of the 30 days: the next validation of each renews it.
    clock.advance(16 * DAY);
    const renewedAt = clock.now().getTime();
    const checks = [...keptTokens, ...keptTokens, ...keptTokens, ...revokedTokens, ...revokedTokens].map((token) => sm.checkSession(token));
    const revocation = sm.revokeSessions(revoked.id);
    const results = await Promise.all(checks);
    const count = await revocation;
    expect(count).toBe(10);
    for (const result of results.slice(0, 30)) {
      expect(result?.user).toEqual(kept);
      expect(result?.session.expiresAt.getTime()).toBe(renewedAt + 30 * DAY);
    }
    for (const result of results.slice(30)) if (result !== null) expect(result.user).toEqual(revoked);
    // A renewal that raced the revocation must not bring a session back.
    expect(await Promise.all(revokedTokens.map((token) => sm.validateSession(token)))).toEqual(revokedTokens.map(() => null));
    const sessions = await sm.listSessions(kept.id);
    expect(sessions).toHaveLength(10);
    for (const session of sessions) expect(session.expiresAt.getTime()).toBe(renewedAt + 30 * DAY);
    // Renewed, they outlive the original 30 days.
    clock.advance(20 * DAY);
    expect(await Promise.all(keptTokens.map((token) => sm.validateSession(token)))).toEqual(keptTokens.map(() => kept));
  });
});
