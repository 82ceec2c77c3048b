import { InvalidUsernameError, UsernameTakenError } from "session-manager";
import { DatabaseFixture, describeEachDatabase } from "../setup/databases";
import { INVISIBLE_SAMPLES } from "./unicode-samples";

// A require, not an import: the library calls these through the module object, so spying on it counts every hash.
const argon2 = require("@node-rs/argon2") as typeof import("@node-rs/argon2");

const PASSWORD = "correct horse battery";

/** Names that differ only by case, full case folding or compatibility form: one user each. */
const SAME_NAME: ReadonlyArray<readonly string[]> = [
  ["straße", "STRASSE", "Strasse", "STRAẞE"],
  ["ΟΔΟΣ", "οδοσ", "οδος"],
  ["Ǆ", "ǆ", "ǅ"],
  ["ＡＤＭＩＮ", "admin", "Admin"],
  ["ﬁle", "FILE", "file"],
  ["yıldız", "YILDIZ", "yildiz"],
];

describeEachDatabase("look-alike usernames", (fixture) => {
  it("refuses admin with any invisible, blank or bidirectional character, and \\u202Enimda", async () => {
    const sm = fixture.manager({ tablePrefix: DatabaseFixture.prefix() });
    await sm.createUser("admin", PASSWORD);
    const lookalikes = [...INVISIBLE_SAMPLES.flatMap((char) => [`ad${char}min`, `admin${char}x`]), "\u202Enimda", "\u2066admin\u2069x"];
    for (const name of lookalikes) {
      const error = await sm.createUser(name, PASSWORD).catch((e: unknown) => e);
      expect([name, error]).toEqual([name, expect.any(InvalidUsernameError)]);
      await expect(sm.importUser(name, "$argon2id$v=19$m=256,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")).rejects.toBeInstanceOf(
        InvalidUsernameError,
      );
    }
  });

  it("answers null to getUser, authenticateUser and login with such a name, without throwing or hashing", async () => {
    const sm = fixture.manager({ tablePrefix: DatabaseFixture.prefix() });
    const admin = await sm.createUser("admin", PASSWORD);
    const hash = jest.spyOn(argon2, "hash");
    const verify = jest.spyOn(argon2, "verify");
    try {
      for (const char of INVISIBLE_SAMPLES) {
        const name = `adm${char}in`;
        await expect(sm.getUser(name)).resolves.toBeNull();
        await expect(sm.authenticateUser(name, PASSWORD)).resolves.toBeNull();
        await expect(sm.login(name, PASSWORD)).resolves.toBeNull();
      }
      await expect(sm.login("\u202Enimda", PASSWORD)).resolves.toBeNull();
      expect(hash.mock.calls.length + verify.mock.calls.length).toBe(0);
    } finally {
      hash.mockRestore();
      verify.mockRestore();
    }
    expect(await sm.listSessions(admin.id)).toEqual([]);
  });

  it("makes names equal under full case folding one user, keeping the display form of the first", async () => {
    const sm = fixture.manager({ tablePrefix: DatabaseFixture.prefix() });
    for (const [first, ...others] of SAME_NAME) {
      const user = await sm.createUser(first!, PASSWORD);
      expect(user.username).toBe(first!.normalize("NFKC"));
      for (const other of others) {
        await expect(sm.createUser(other, PASSWORD)).rejects.toBeInstanceOf(UsernameTakenError);
        expect([other, await sm.getUser(other)]).toEqual([other, user]);
        expect((await sm.authenticateUser(other, PASSWORD))?.id).toBe(user.id);
      }
    }
    expect((await sm.getUser("straße"))?.username).toBe("straße");
    expect((await sm.getUser("ﬁle"))?.username).toBe("file");
    expect((await sm.getUser("ADMIN"))?.username).toBe("ADMIN");
  });

  it("lets exactly one of many concurrent creations of case-fold variants succeed", async () => {
    const sm = fixture.manager({ tablePrefix: DatabaseFixture.prefix() });
    const variants = ["Straße", "STRASSE", "strasse", "STRAẞE", "ｓｔｒａｓｓｅ", "Strasse"];
    const results = await Promise.allSettled(variants.map((name) => sm.createUser(name, PASSWORD)));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const result of results) {
      if (result.status === "rejected") expect(result.reason).toBeInstanceOf(UsernameTakenError);
    }
  });
});
