import type { AuthEvent } from "session-manager";
import { describeEachDatabase, uniqueName, type DatabaseFixture } from "../setup/databases";

describeEachDatabase("passwords", (fixture) => {
  it("authenticates the right password only", async () => {
    const sm = fixture.manager();
    const name = uniqueName();
    const user = await sm.createUser(name, "s3cret password");
    expect(await sm.authenticateUser(name, "s3cret password")).toEqual(user);
    expect(await sm.authenticateUser(name, "s3cret passworD")).toBeNull();
    expect(await sm.authenticateUser(uniqueName(), "s3cret password")).toBeNull();
  });

  it("applies NFKC to passwords, so equivalent forms are the same password", async () => {
    const sm = fixture.manager();
    const name = uniqueName();
    // "ﬁ" (U+FB01) is NFKC "fi"; "é" decomposed is NFKC "é" composed.
    await sm.createUser(name, "ﬁnal café!");
    expect(await sm.authenticateUser(name, "final cafe\u0301!")).not.toBeNull();
    expect(await sm.authenticateUser(name, "final cafe!")).toBeNull();
  });

  it("rehashes on login when the configured parameters changed", async () => {
    const name = uniqueName();
    const old = fixture.manager({ password: { memoryCost: 128, timeCost: 1, parallelism: 1 } });
    await old.createUser(name, "password123");
    expect(await storedHash(fixture, name)).toMatch(/^\$argon2id\$v=19\$m=128,t=1,p=1\$/);
    const current = fixture.manager({ password: { memoryCost: 512, timeCost: 2, parallelism: 1 } });
    expect(await current.authenticateUser(name, "password123")).not.toBeNull();
    expect(await storedHash(fixture, name)).toMatch(/^\$argon2id\$v=19\$m=512,t=2,p=1\$/);
    // And it still verifies under both managers.
    expect(await old.authenticateUser(name, "password123")).not.toBeNull();
  });

  it("changes a password and revokes every other session", async () => {
    const events: AuthEvent[] = [];
    const sm = fixture.manager({ onEvent: (e) => events.push(e) });
    const name = uniqueName();
    const user = await sm.createUser(name, "old password");
    const keep = await sm.createSession(user.id);
    const other = await sm.createSession(user.id);
    await sm.changePassword(user.id, "new password", { keepToken: keep });
    expect(await sm.validateSession(keep)).not.toBeNull();
    expect(await sm.validateSession(other)).toBeNull();
    expect(await sm.authenticateUser(name, "old password")).toBeNull();
    expect(await sm.authenticateUser(name, "new password")).not.toBeNull();
    await sm.changePassword(user.id, "newer password");
    expect(await sm.validateSession(keep)).toBeNull();
    expect(events.filter((e) => e.type === "password_changed")).toHaveLength(2);
    await expect(sm.changePassword(user.id, "short")).rejects.toMatchObject({ code: "invalid_password" });
    await expect(sm.changePassword(123456789, "long enough")).rejects.toMatchObject({ code: "user_not_found" });
  });

  it("does not keep another user's token on password change", async () => {
    const sm = fixture.manager();
    const a = await sm.createUser(uniqueName(), "password123");
    const b = await sm.createUser(uniqueName(), "password123");
    const bToken = await sm.createSession(b.id);
    const aToken = await sm.createSession(a.id);
    await sm.changePassword(a.id, "password456", { keepToken: bToken });
    expect(await sm.validateSession(aToken)).toBeNull();
    expect(await sm.validateSession(bToken)).not.toBeNull();
  });
});

async function storedHash(fixture: DatabaseFixture, username: string): Promise<string> {
  const row = await fixture
    .raw()
    .selectFrom("auth_users")
    .select("password_hash")
    .where("username_key", "=", username.toLowerCase())
    .executeTakeFirstOrThrow();
  return row.password_hash;
}
