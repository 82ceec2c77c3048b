import type { AuthEvent } from "session-manager";
import { TestClock, describeEachDatabase, uniqueName } from "../setup/databases";

describeEachDatabase("audit events", (fixture) => {
  it("reports every kind of event without a token, password or hash", async () => {
    const events: AuthEvent[] = [];
    const clock = new TestClock();
    const sm = fixture.manager({ clock: clock.now, onEvent: (e) => events.push(e) });
    const name = uniqueName("Ev");
    const password = "event password";
    const user = await sm.createUser(name, password);
    expect(await sm.login(name, "wrong password", { ip: "198.51.100.1", userAgent: "agent" })).toBeNull();
    const token = (await sm.login(name, password, { ip: "198.51.100.1", userAgent: "agent" }))!;
    const second = await sm.createSession(user.id);
    await sm.revokeSession(second);
    await sm.revokeOtherSessions(token);
    await sm.changePassword(user.id, "another password", { keepToken: token });
    await sm.logout(token);
    await sm.revokeSessions(user.id);
    const ghost = uniqueName();
    for (let i = 0; i < 10; i++) await sm.authenticateUser(ghost, "wrong password");
    await sm.authenticateUser(ghost, "wrong password").catch(() => {});
    await sm.deleteUser(user.id);

    const types = events.map((e) => e.type);
    expect(new Set(types)).toEqual(
      new Set([
        "user_created",
        "login_failed",
        "login",
        "session_revoked",
        "sessions_revoked",
        "password_changed",
        "logout",
        "login_throttled",
        "user_deleted",
      ]),
    );
    const login = events.find((e) => e.type === "login")!;
    expect(login).toMatchObject({ userId: user.id, username: name, ip: "198.51.100.1", userAgent: "agent", sessionId: expect.any(String) });
    expect(login.at.getTime()).toBe(clock.now().getTime());
    expect(events.find((e) => e.type === "login_failed")).toMatchObject({ username: name, ip: "198.51.100.1" });
    const serialized = JSON.stringify(events);
    for (const secret of [token, second, password, "another password", "wrong password", "$argon2"]) {
      expect(serialized).not.toContain(secret);
    }
  });

  it("never lets a throwing or rejecting listener break the operation", async () => {
    const throwing = fixture.manager({
      onEvent: () => {
        throw new Error("audit sink down");
      },
    });
    const name = uniqueName();
    await throwing.createUser(name, "password123");
    expect(await throwing.login(name, "password123")).toEqual(expect.any(String));
    const rejecting = fixture.manager({ onEvent: (() => Promise.reject(new Error("async sink down"))) as unknown as () => void });
    expect(await rejecting.login(name, "password123")).toEqual(expect.any(String));
  });
});
