import { hash } from "@node-rs/argon2";
import { InvalidPasswordError, InvalidUsernameError, SessionManagerError, UserNotFoundError, UsernameTakenError } from "session-manager";
import { describeEachDatabase, uniqueName } from "../setup/databases";

describeEachDatabase("users", (fixture) => {
  it("creates a user and finds it by name and by id, without the hash", async () => {
    const sm = fixture.manager();
    const name = uniqueName("Alice");
    const user = await sm.createUser(name, "correct horse");
    expect(user).toEqual({ id: expect.any(Number), username: name, createdAt: expect.any(Date), email: null, emailVerified: false });
    expect(Object.keys(user).sort()).toEqual(["createdAt", "email", "emailVerified", "id", "username"]);
    expect(await sm.getUser(name)).toEqual(user);
    expect(await sm.getUserById(user.id)).toEqual(user);
    expect(await sm.getUser(uniqueName())).toBeNull();
    expect(await sm.getUserById(987654321)).toBeNull();
  });

  it("treats usernames case-insensitively, keeps the display form, trims and applies NFKC", async () => {
    const sm = fixture.manager();
    const base = uniqueName("Bob");
    const user = await sm.createUser(`  ${base}  `, "password123");
    expect(user.username).toBe(base);
    expect((await sm.getUser(base.toUpperCase()))?.id).toBe(user.id);
    expect((await sm.getUser(base.toLowerCase()))?.id).toBe(user.id);
    await expect(sm.createUser(base.toLowerCase(), "password123")).rejects.toBeInstanceOf(UsernameTakenError);
    // Fullwidth letters are NFKC-equivalent to ASCII ones.
    const fullwidth = [...base].map((c) => (/[A-Za-z]/.test(c) ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c)).join("");
    expect((await sm.getUser(fullwidth))?.id).toBe(user.id);
    await expect(sm.createUser(fullwidth, "password123")).rejects.toMatchObject({ code: "username_taken" });
  });

  it("keeps accented and unicode usernames apart and exact", async () => {
    const sm = fixture.manager();
    const suffix = uniqueName("");
    const plain = await sm.createUser(`resume${suffix}`, "password123");
    const accented = await sm.createUser(`résumé${suffix}`, "password123");
    expect(accented.id).not.toBe(plain.id);
    const cjk = await sm.createUser(`用户${suffix}`, "password123");
    expect((await sm.getUser(`用户${suffix}`))?.username).toBe(`用户${suffix}`);
    const emoji = await sm.createUser(`🦊${suffix}`, "password123");
    expect((await sm.getUserById(emoji.id))?.username).toBe(`🦊${suffix}`);
    // Decomposed é (e + U+0301) is the same user as composed é after NFKC.
    expect((await sm.getUser(`re\u0301sume\u0301${suffix}`))?.id).toBe(accented.id);
    expect(cjk.id).toBeGreaterThan(0);
  });

  it("refuses invalid usernames with InvalidUsernameError", async () => {
    const sm = fixture.manager();
    const bad: unknown[] = [
      "",
      "   ",
      "a".repeat(65),
      "x".repeat(1_000_000),
      "tab\there",
      "nul\u0000byte",
      "line\u2028sep",
      "\ud800lone",
      42,
      null,
      undefined,
      {},
      ["a"],
    ];
    for (const username of bad) {
      const error = await sm.createUser(username as string, "password123").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidUsernameError);
      expect(error).toBeInstanceOf(SessionManagerError);
      expect((error as SessionManagerError).code).toBe("invalid_username");
    }
    // 64 characters counted as code points, not UTF-16 units.
    await expect(sm.createUser("🦊".repeat(63) + "x", "password123")).resolves.toMatchObject({ username: "🦊".repeat(63) + "x" });
    await expect(sm.createUser("🦊".repeat(65), "password123")).rejects.toBeInstanceOf(InvalidUsernameError);
  });

  it("refuses passwords outside 8..1024 characters with InvalidPasswordError", async () => {
    const sm = fixture.manager();
    for (const password of ["", "short", "1234567", "x".repeat(1025), 12345678, null, "\ud800\ud800\ud800\ud800\ud800\ud800\ud800\ud800"]) {
      await expect(sm.createUser(uniqueName(), password as string)).rejects.toBeInstanceOf(InvalidPasswordError);
    }
    await expect(sm.createUser(uniqueName(), "x".repeat(1024))).resolves.toBeDefined();
    await expect(sm.createUser(uniqueName(), "12345678")).resolves.toBeDefined();
  });

  it("imports argon2i, argon2d and argon2id PHC strings and logs in with them", async () => {
    const sm = fixture.manager();
    for (const algorithm of [0, 1, 2]) {
      const phc = await hash("imported password", { algorithm, memoryCost: 256, timeCost: 1 });
      const name = uniqueName("imported");
      const user = await sm.importUser(name, phc);
      expect((await sm.authenticateUser(name, "imported password"))?.id).toBe(user.id);
      expect(await sm.authenticateUser(name, "wrong password")).toBeNull();
    }
  });

  it("refuses anything but an argon2 PHC string on import", async () => {
    const sm = fixture.manager();
    const bad: unknown[] = [
      "$2b$10$abcdefghijklmnopqrstuuNwq1pq8W6bJWBQDY8P3v9TZb0ldmfY6",
      "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
      "plain text password",
      "$argon2id$v=19$m=19456,t=2,p=1$$",
      "",
      null,
      7,
    ];
    for (const passwordHash of bad) {
      await expect(sm.importUser(uniqueName(), passwordHash as string)).rejects.toBeInstanceOf(InvalidPasswordError);
    }
  });

  it("deletes a user with all of its sessions", async () => {
    const sm = fixture.manager();
    const name = uniqueName();
    const user = await sm.createUser(name, "password123");
    const token = await sm.createSession(user.id);
    expect(await sm.deleteUser(user.id)).toBe(true);
    expect(await sm.getUserById(user.id)).toBeNull();
    expect(await sm.validateSession(token)).toBeNull();
    expect(await sm.deleteUser(user.id)).toBe(false);
    expect(await sm.deleteUser(-1)).toBe(false);
    expect(await sm.deleteUser("1" as unknown as number)).toBe(false);
    await expect(sm.createSession(user.id)).rejects.toBeInstanceOf(UserNotFoundError);
  });

  it("gives every user a numeric id and a Date", async () => {
    const sm = fixture.manager();
    const a = await sm.createUser(uniqueName(), "password123");
    const b = await sm.createUser(uniqueName(), "password123");
    expect(typeof a.id).toBe("number");
    expect(b.id).toBeGreaterThan(a.id);
    const found = await sm.getUserById(a.id);
    expect(found?.createdAt).toBeInstanceOf(Date);
    expect(found?.createdAt.getTime()).toBe(a.createdAt.getTime());
  });
});
