import { randomBytes } from "node:crypto";
import {
  InvalidOptionsError,
  LoginThrottledError,
  SessionManager,
  TotpAlreadyEnabledError,
  TotpKeyError,
  TotpNotEnabledError,
  TwoFactorRequiredError,
  UserNotFoundError,
  type AuthEvent,
  type SessionManagerOptions,
  type User,
} from "session-manager";
import { codeAt, encodeSecret, stepAt } from "../../src/totp-codes";
import { decodeBase32 } from "../setup/totp";
import { DatabaseFixture, FAST_PASSWORDS, TestClock, describeEachDatabase, uniqueName } from "../setup/databases";

const PASSWORD = "correct horse battery";
const STEP_MS = 30_000;

const base32 = { decode: decodeBase32 };

function newKey(): Buffer {
  return randomBytes(32);
}

/** A manager with TOTP under `key`, a hand-moved clock 5 s into a time step, and a record of its events. */
function setUp(fixture: DatabaseFixture, options: SessionManagerOptions = {}, key: Buffer = newKey()) {
  const clock = new TestClock(Date.UTC(2026, 0, 1) + 5_000);
  const events: AuthEvent[] = [];
  const sm = fixture.manager({
    clock: clock.now,
    onEvent: (event) => events.push(event),
    totp: { issuer: "Example App", secretKey: key },
    ...options,
  });
  return { sm, clock, events, key };
}

/** The app's code `offset` steps from the clock's step. */
function codeOf(secret: Uint8Array, clock: TestClock, offset = 0): string {
  return codeAt(secret, stepAt(clock.now().getTime()) + offset);
}

interface Enrolled {
  user: User;
  secret: Uint8Array;
  base32Secret: string;
  recoveryCodes: string[];
}

/**
 * A user with TOTP confirmed, and the clock then moved 3 steps on, so that the steps around the
 * new "now" (±2) are all later than the one the confirmation used.
 */
async function enroll(sm: SessionManager, clock: TestClock, name = uniqueName()): Promise<Enrolled> {
  const user = await sm.createUser(name, PASSWORD);
  const setup = await sm.beginTotpSetup(user.id);
  const secret = base32.decode(setup.secret);
  const recoveryCodes = await sm.confirmTotpSetup(user.id, codeOf(secret, clock));
  expect(recoveryCodes).not.toBeNull();
  clock.advance(3 * STEP_MS);
  return { user, secret, base32Secret: setup.secret, recoveryCodes: recoveryCodes! };
}

async function pendingTokenOf(sm: SessionManager, user: User, options: { remember?: boolean } = {}): Promise<string> {
  const result = await sm.signIn(user.username, PASSWORD, options);
  if (result === null || !("pendingToken" in result)) throw new Error("expected a pending sign-in");
  return result.pendingToken;
}

/**
 * Managers that stand for separate processes. On a SQLite file, managers in one process are
 * connections whose transactions block each other synchronously: there one manager takes every call.
 */
function others(
  fixture: DatabaseFixture,
  sm: SessionManager,
  key: Buffer,
  clock: TestClock,
  options: SessionManagerOptions = {},
): SessionManager[] {
  if (fixture.database.name === "sqlite-file") return [sm, sm];
  const make = () => fixture.manager({ clock: clock.now, totp: { issuer: "Example App", secretKey: key }, ...options });
  return [make(), make()];
}

describe("TOTP codes (RFC 6238 Appendix B, SHA-1)", () => {
  // The RFC's SHA-1 seed, and the 8-digit codes it publishes at these times.
  const secret = new TextEncoder().encode("12345678901234567890");
  const vectors: Array<[number, string]> = [
    [59, "94287082"],
    [1111111109, "07081804"],
    [1111111111, "14050471"],
    [1234567890, "89005924"],
    [2000000000, "69279037"],
    [20000000000, "65353130"],
  ];

  it.each(vectors)("at %i s gives %s (8 digits) and its last six (6 digits)", (seconds, expected) => {
    const step = stepAt(seconds * 1000);
    expect(codeAt(secret, step, 8)).toBe(expected);
    expect(codeAt(secret, step)).toBe(expected.slice(2));
  });
});

describe("TOTP secrets in base32 (RFC 4648 section 10, unpadded)", () => {
  it.each([
    ["", ""],
    ["f", "MY"],
    ["fo", "MZXQ"],
    ["foo", "MZXW6"],
    ["foob", "MZXW6YQ"],
    ["fooba", "MZXW6YTB"],
    ["foobar", "MZXW6YTBOI"],
  ])("encodes %j as %j", (text, expected) => {
    expect(encodeSecret(new TextEncoder().encode(text))).toBe(expected);
  });

  it("round-trips 20 random bytes", () => {
    const bytes = new Uint8Array(randomBytes(20));
    expect(base32.decode(encodeSecret(bytes))).toEqual(bytes);
  });
});

describe("TOTP options", () => {
  const make = (totp: unknown): SessionManager =>
    new SessionManager({ database: "sqlite::memory:", password: FAST_PASSWORDS, totp: totp as SessionManagerOptions["totp"] });

  it("takes a 32-byte key as a Buffer, 64 hex digits, base64 or base64url, alone or in a list", async () => {
    const key = newKey();
    for (const secretKey of [
      key,
      new Uint8Array(key),
      key.toString("hex"),
      key.toString("hex").toUpperCase(),
      key.toString("base64"),
      key.toString("base64url"),
      [newKey(), key.toString("hex")],
    ]) {
      await make({ issuer: "Example", secretKey }).close();
    }
  });

  it("refuses keys that are not 32 bytes, unknown keys and bad issuers with InvalidOptionsError", () => {
    const bad: unknown[] = [
      { issuer: "Example", secretKey: randomBytes(16) },
      { issuer: "Example", secretKey: randomBytes(33) },
      { issuer: "Example", secretKey: "a".repeat(62) },
      { issuer: "Example", secretKey: randomBytes(24).toString("base64") },
      { issuer: "Example", secretKey: "correct horse battery staple correct horse" },
      { issuer: "Example", secretKey: [] },
      { issuer: "Example", secretKey: [newKey(), "short"] },
      { issuer: "Example" },
      { issuer: "Example", secretKey: 42 },
      { secretKey: newKey() },
      { issuer: "", secretKey: newKey() },
      { issuer: "Acme:Corp", secretKey: newKey() },
      { issuer: "Example", secretKey: newKey(), digits: 8 },
      { issuer: "Example", secretKey: newKey(), secretkey: newKey() },
      "Example",
    ];
    for (const totp of bad) expect(() => make(totp)).toThrow(InvalidOptionsError);
    const key = newKey();
    expect(() => make({ issuer: "Example", secretKey: [key, Buffer.from(key)] })).toThrow(InvalidOptionsError);
    expect(() => make({ issuer: "Example", secretKey: newKey(), period: 60 })).toThrow(/totp has no option "period"/);
  });

  it("throws InvalidOptionsError from the methods that need the key when the option is missing", async () => {
    const sm = new SessionManager({ database: "sqlite::memory:", password: FAST_PASSWORDS });
    try {
      const user = await sm.createUser(uniqueName(), PASSWORD);
      await expect(sm.beginTotpSetup(user.id)).rejects.toBeInstanceOf(InvalidOptionsError);
      await expect(sm.confirmTotpSetup(user.id, "123456")).rejects.toBeInstanceOf(InvalidOptionsError);
      await expect(sm.reencryptTotpSecrets()).rejects.toBeInstanceOf(InvalidOptionsError);
      // Nothing to disable, and no key needed to find that out.
      await expect(sm.disableTotp(user.id)).resolves.toBe(false);
      await expect(sm.hasTotp(user.id)).resolves.toBe(false);
    } finally {
      await sm.close();
    }
  });
});

describeEachDatabase("two-factor authentication: setup", (fixture) => {
  it("begins with a base32 secret of 160 bits and an otpauth URI, and turns on only with a right code", async () => {
    const { sm, clock, events } = setUp(fixture);
    const user = await sm.createUser(uniqueName("Alice"), PASSWORD);
    const setup = await sm.beginTotpSetup(user.id);
    expect(setup.secret).toMatch(/^[A-Z2-7]{32}$/);
    const secret = base32.decode(setup.secret);
    expect(secret).toHaveLength(20);
    const uri = new URL(setup.uri);
    expect(uri.protocol).toBe("otpauth:");
    expect(decodeURIComponent(setup.uri)).toContain(`otpauth://totp/Example App:${user.username}?`);
    expect(uri.searchParams.get("secret")).toBe(setup.secret);
    expect(uri.searchParams.get("issuer")).toBe("Example App");
    expect(await sm.hasTotp(user.id)).toBe(false);
    // Not in force before confirmation: the password alone signs in.
    expect(await sm.login(user.username, PASSWORD)).toEqual(expect.any(String));

    const wrong = codeOf(secret, clock) === "000000" ? "111111" : "000000";
    expect(await sm.confirmTotpSetup(user.id, wrong)).toBeNull();
    expect(await sm.confirmTotpSetup(user.id, codeOf(secret, clock, 2))).toBeNull();
    expect(await sm.hasTotp(user.id)).toBe(false);

    const codes = await sm.confirmTotpSetup(user.id, codeOf(secret, clock));
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes!) expect(code).toMatch(/^[0-9a-z]{5}-[0-9a-z]{5}$/);
    expect(await sm.hasTotp(user.id)).toBe(true);
    expect(events.filter((e) => e.type === "totp_enabled")).toEqual([expect.objectContaining({ userId: user.id })]);

    // Once on: no second confirmation, no second setup.
    clock.advance(STEP_MS);
    expect(await sm.confirmTotpSetup(user.id, codeOf(secret, clock))).toBeNull();
    await expect(sm.beginTotpSetup(user.id)).rejects.toBeInstanceOf(TotpAlreadyEnabledError);
    await expect(sm.beginTotpSetup(987654321)).rejects.toBeInstanceOf(UserNotFoundError);
  });

  it("replaces an unconfirmed setup when it is begun again: the first secret's codes no longer confirm", async () => {
    const { sm, clock } = setUp(fixture);
    const user = await sm.createUser(uniqueName(), PASSWORD);
    const first = base32.decode((await sm.beginTotpSetup(user.id)).secret);
    const second = base32.decode((await sm.beginTotpSetup(user.id)).secret);
    expect(await sm.confirmTotpSetup(user.id, codeOf(first, clock))).toBeNull();
    expect(await sm.confirmTotpSetup(user.id, codeOf(second, clock))).toHaveLength(10);
  });

  it("stores the secret only encrypted, and recovery codes only as digests", async () => {
    const { sm, clock } = setUp(fixture);
    const { user, secret, base32Secret, recoveryCodes } = await enroll(sm, clock);
    const db = fixture.raw();
    const row = await db.selectFrom("auth_totp").selectAll().where("user_id", "=", user.id).executeTakeFirstOrThrow();
    expect(row.secret_encrypted).toMatch(/^v1\.[A-Za-z0-9_-]{11}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    const stored = JSON.stringify(row);
    for (const form of [
      base32Secret,
      base32Secret.toLowerCase(),
      Buffer.from(secret).toString("hex"),
      Buffer.from(secret).toString("base64"),
    ]) {
      expect(stored).not.toContain(form);
    }
    const codes = await db.selectFrom("auth_recovery_codes").selectAll().where("user_id", "=", user.id).execute();
    expect(codes).toHaveLength(10);
    const text = JSON.stringify(codes);
    for (const code of recoveryCodes) {
      expect(text).not.toContain(code);
      expect(text).not.toContain(code.replace("-", ""));
    }
  });
});

describeEachDatabase("two-factor authentication: signing in", (fixture) => {
  it("gives a pending token instead of a session, and a session for the code", async () => {
    const { sm, clock, events } = setUp(fixture);
    const { user, secret } = await enroll(sm, clock);
    const result = await sm.signIn(user.username.toUpperCase(), PASSWORD);
    expect(result).toEqual({ pendingToken: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/), user, expiresAt: expect.any(Date) });
    const pending = result as { pendingToken: string; expiresAt: Date };
    expect(pending.expiresAt.getTime() - clock.now().getTime()).toBe(5 * 60 * 1000);
    expect(await sm.listSessions(user.id)).toEqual([]);
    expect(events.filter((e) => e.type === "login")).toEqual([]);
    // The pending token is no session token.
    expect(await sm.validateSession(pending.pendingToken)).toBeNull();

    const signedIn = await sm.completeSignIn(pending.pendingToken, codeOf(secret, clock), { ip: "203.0.113.7" });
    expect(signedIn).toEqual({ token: expect.any(String), user });
    expect(await sm.validateSession(signedIn!.token)).toEqual(user);
    expect((await sm.listSessions(user.id)).map((s) => s.ip)).toEqual(["203.0.113.7"]);
    expect(events.filter((e) => e.type === "login")).toEqual([expect.objectContaining({ userId: user.id })]);
    // A pending token completes one sign-in only.
    clock.advance(STEP_MS);
    expect(await sm.completeSignIn(pending.pendingToken, codeOf(secret, clock))).toBeNull();
  });

  it("makes login() throw TwoFactorRequiredError with a pending token, and start no session", async () => {
    const { sm, clock } = setUp(fixture);
    const { user, secret } = await enroll(sm, clock);
    const error = await sm.login(user.username, PASSWORD).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TwoFactorRequiredError);
    expect(error).toMatchObject({ code: "two_factor_required", pendingToken: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/) });
    const { pendingToken } = error as TwoFactorRequiredError;
    expect((error as Error).message).not.toContain(pendingToken);
    expect(await sm.listSessions(user.id)).toEqual([]);
    expect(await sm.completeSignIn(pendingToken, codeOf(secret, clock))).not.toBeNull();
    // A wrong password is still null, and users without TOTP are as before.
    expect(await sm.login(user.username, "wrong password")).toBeNull();
    const plain = await sm.createUser(uniqueName(), PASSWORD);
    expect(await sm.login(plain.username, PASSWORD)).toEqual(expect.any(String));
    expect(await sm.signIn(plain.username, PASSWORD)).toEqual({ token: expect.any(String), user: plain });
  });

  it("accepts one step of drift either way, not two", async () => {
    const { sm, clock } = setUp(fixture);
    const { user, secret } = await enroll(sm, clock);
    const pending = await pendingTokenOf(sm, user);
    expect(await sm.completeSignIn(pending, codeOf(secret, clock, -2))).toBeNull();
    expect(await sm.completeSignIn(pending, codeOf(secret, clock, 2))).toBeNull();
    expect(await sm.completeSignIn(pending, codeOf(secret, clock, -1))).not.toBeNull();
    expect(await sm.completeSignIn(await pendingTokenOf(sm, user), codeOf(secret, clock, 1))).not.toBeNull();
  });

  it("accepts each time step once: a replayed or older code is refused", async () => {
    const { sm, clock } = setUp(fixture);
    const { user, secret } = await enroll(sm, clock);
    const code = codeOf(secret, clock);
    expect(await sm.completeSignIn(await pendingTokenOf(sm, user), code)).not.toBeNull();
    expect(await sm.completeSignIn(await pendingTokenOf(sm, user), code)).toBeNull();
    // The step before the one used is older: refused too, though within the drift window.
    expect(await sm.completeSignIn(await pendingTokenOf(sm, user), codeOf(secret, clock, -1))).toBeNull();
    expect(await sm.completeSignIn(await pendingTokenOf(sm, user), codeOf(secret, clock, 1))).not.toBeNull();
  });

  it("gives one session for one code submitted twice at once on two pending tokens", async () => {
    const { sm, clock, key } = setUp(fixture);
    const { user, secret } = await enroll(sm, clock);
    const [a, b] = others(fixture, sm, key, clock);
    for (let round = 0; round < 3; round++) {
      const tokens = [await pendingTokenOf(sm, user), await pendingTokenOf(sm, user)];
      const code = codeOf(secret, clock);
      const results = await Promise.all([a!.completeSignIn(tokens[0]!, code), b!.completeSignIn(tokens[1]!, code)]);
      expect(results.filter((r) => r !== null)).toHaveLength(1);
      clock.advance(STEP_MS);
    }
    expect(await sm.listSessions(user.id)).toHaveLength(3);
  });

  it("gives one session for one pending token completed twice at once with two different valid codes", async () => {
    const { sm, clock, key } = setUp(fixture);
    const { user, secret } = await enroll(sm, clock);
    const [a, b] = others(fixture, sm, key, clock);
    for (let round = 0; round < 3; round++) {
      const token = await pendingTokenOf(sm, user);
      const results = await Promise.all([
        a!.completeSignIn(token, codeOf(secret, clock, 0)),
        b!.completeSignIn(token, codeOf(secret, clock, 1)),
      ]);
      expect(results.filter((r) => r !== null)).toHaveLength(1);
      clock.advance(3 * STEP_MS);
    }
    expect(await sm.listSessions(user.id)).toHaveLength(3);
  });

  it("lets each recovery code sign in once, typed in any case with or without the dash", async () => {
    const { sm, clock, events } = setUp(fixture);
    const { user, recoveryCodes } = await enroll(sm, clock);
    const [first, second] = recoveryCodes as [string, string];
    expect(await sm.completeSignIn(await pendingTokenOf(sm, user), ` ${first.toUpperCase().replace("-", " ")} `)).toEqual({
      token: expect.any(String),
      user,
    });
    expect(await sm.completeSignIn(await pendingTokenOf(sm, user), first)).toBeNull();
    expect(await sm.completeSignIn(await pendingTokenOf(sm, user), second.replace("-", ""))).not.toBeNull();
    expect(events.filter((e) => e.type === "recovery_code_used")).toEqual([
      expect.objectContaining({ userId: user.id }),
      expect.objectContaining({ userId: user.id }),
    ]);
    // Another user's code is no code of this one.
    const other = await enroll(sm, clock);
    expect(await sm.completeSignIn(await pendingTokenOf(sm, user), other.recoveryCodes[0]!)).toBeNull();
  });

  it("gives one session for one recovery code used twice at once", async () => {
    const { sm, clock, key } = setUp(fixture);
    const { user, recoveryCodes } = await enroll(sm, clock);
    const [a, b] = others(fixture, sm, key, clock);
    for (const code of recoveryCodes.slice(0, 3)) {
      const tokens = [await pendingTokenOf(sm, user), await pendingTokenOf(sm, user)];
      const results = await Promise.all([a!.completeSignIn(tokens[0]!, code), b!.completeSignIn(tokens[1]!, code)]);
      expect(results.filter((r) => r !== null)).toHaveLength(1);
    }
    expect(await sm.listSessions(user.id)).toHaveLength(3);
  });

  it("lets a pending token live 5 minutes", async () => {
    const { sm, clock } = setUp(fixture);
    const { user, secret } = await enroll(sm, clock);
    const token = await pendingTokenOf(sm, user);
    clock.advance(5 * 60 * 1000 - 1);
    expect(await sm.completeSignIn(token, codeOf(secret, clock))).not.toBeNull();
    const late = await pendingTokenOf(sm, user);
    clock.advance(5 * 60 * 1000);
    expect(await sm.completeSignIn(late, codeOf(secret, clock))).toBeNull();
  });

  it("kills a pending token at the fifth wrong code, not before", async () => {
    const { sm, clock, events } = setUp(fixture, { throttle: false });
    const { user, secret } = await enroll(sm, clock);
    const wrong = (offset: number) => (codeOf(secret, clock, offset) === "000000" ? "111111" : "000000");
    const survivor = await pendingTokenOf(sm, user);
    for (let i = 0; i < 4; i++) expect(await sm.completeSignIn(survivor, wrong(0))).toBeNull();
    expect(await sm.completeSignIn(survivor, codeOf(secret, clock))).not.toBeNull();
    clock.advance(STEP_MS);
    const doomed = await pendingTokenOf(sm, user);
    // Malformed codes and spent recovery codes are wrong codes too.
    for (const code of [wrong(0), "not a code", wrong(0), "abcde-fghij", wrong(0)])
      expect(await sm.completeSignIn(doomed, code)).toBeNull();
    expect(await sm.completeSignIn(doomed, codeOf(secret, clock))).toBeNull();
    const failed = events.filter((e) => e.type === "two_factor_failed");
    expect(failed).toHaveLength(9);
    for (const event of failed) expect(event).toMatchObject({ userId: user.id, username: user.username });
  });

  it("counts wrong codes toward the username's throttle, and clears it at success", async () => {
    const { sm, clock } = setUp(fixture, { throttle: { maxFailures: 3 } });
    const { user, secret } = await enroll(sm, clock);
    const wrong = codeOf(secret, clock) === "000000" ? "111111" : "000000";
    // The password step (1) covers the first code; the second and third wrong codes are 2 and 3,
    // and the third failure starts the lockout.
    const token = await pendingTokenOf(sm, user);
    for (let i = 0; i < 3; i++) expect(await sm.completeSignIn(token, wrong)).toBeNull();
    await expect(sm.completeSignIn(token, codeOf(secret, clock))).rejects.toBeInstanceOf(LoginThrottledError);
    await expect(sm.login(user.username, PASSWORD)).rejects.toBeInstanceOf(LoginThrottledError);
    // Past the lockout, a password step gets through (and starts the next lockout), its first code
    // is covered by that attempt, and the completed sign-in forgets every failure.
    clock.advance(31_000);
    const again = await pendingTokenOf(sm, user);
    await expect(sm.login(user.username, PASSWORD)).rejects.toBeInstanceOf(LoginThrottledError);
    expect(await sm.completeSignIn(again, codeOf(secret, clock))).not.toBeNull();
    const rows = await fixture.raw().selectFrom("auth_login_throttle").selectAll().where("username_key", "=", user.username).execute();
    expect(rows).toEqual([]);
    expect(await sm.completeSignIn(await pendingTokenOf(sm, user), codeOf(secret, clock, 1))).not.toBeNull();
  });

  it("counts all but one of the codes given at once on one pending token", async () => {
    const { sm, clock, key } = setUp(fixture, { throttle: { maxFailures: 3 } });
    const { user, secret } = await enroll(sm, clock);
    const [a, b] = others(fixture, sm, key, clock, { throttle: { maxFailures: 3 } });
    const wrong = codeOf(secret, clock) === "000000" ? "111111" : "000000";
    const token = await pendingTokenOf(sm, user);
    // 1 (password step) + 2 of the 3 codes: the lockout starts, whichever code came first.
    await Promise.all([sm.completeSignIn(token, wrong), a!.completeSignIn(token, wrong), b!.completeSignIn(token, wrong)]);
    await expect(sm.completeSignIn(token, codeOf(secret, clock))).rejects.toBeInstanceOf(LoginThrottledError);
  });

  it("does not clear the username's throttle on a right password alone for a user with TOTP", async () => {
    const { sm, clock } = setUp(fixture, { throttle: { maxFailures: 3 } });
    const { user } = await enroll(sm, clock);
    const plain = await sm.createUser(uniqueName(), PASSWORD);
    for (const account of [user, plain]) {
      for (let i = 0; i < 2; i++) expect(await sm.signIn(account.username, "wrong password")).toBeNull();
      // The third attempt is verified, and right.
      expect(await sm.signIn(account.username, PASSWORD)).not.toBeNull();
    }
    // Without TOTP the success cleared the failures; with TOTP they stand, and the third started the lockout.
    expect(await sm.login(plain.username, PASSWORD)).toEqual(expect.any(String));
    await expect(sm.signIn(user.username, PASSWORD)).rejects.toBeInstanceOf(LoginThrottledError);
  });

  it("carries remember: false from the password step to the session", async () => {
    const { sm, clock } = setUp(fixture);
    const { user, secret } = await enroll(sm, clock);
    const forgetful = await sm.completeSignIn(await pendingTokenOf(sm, user, { remember: false }), codeOf(secret, clock));
    expect((await sm.checkSession(forgetful!.token))?.session.persistent).toBe(false);
    clock.advance(STEP_MS);
    const remembered = await sm.completeSignIn(await pendingTokenOf(sm, user), codeOf(secret, clock));
    expect((await sm.checkSession(remembered!.token))?.session.persistent).toBe(true);
  });

  it("refuses malformed pending tokens and codes with null", async () => {
    const { sm, clock } = setUp(fixture);
    const { user, secret } = await enroll(sm, clock);
    const token = await pendingTokenOf(sm, user);
    for (const [pending, code] of [
      ["short", codeOf(secret, clock)],
      [42, codeOf(secret, clock)],
      [token, 123456],
      [token, null],
      [token, "1".repeat(1000)],
    ] as const) {
      expect(await sm.completeSignIn(pending as string, code as string)).toBeNull();
    }
    expect(await sm.completeSignIn(token, codeOf(secret, clock))).not.toBeNull();
  });
});

describeEachDatabase("two-factor authentication: keys", (fixture) => {
  it("binds a ciphertext to its user: copied into another user's row it is a TotpKeyError, never a wrong code", async () => {
    const { sm, clock } = setUp(fixture);
    const alice = await enroll(sm, clock);
    const bob = await enroll(sm, clock);
    const db = fixture.raw();
    const { secret_encrypted } = await db
      .selectFrom("auth_totp")
      .select("secret_encrypted")
      .where("user_id", "=", alice.user.id)
      .executeTakeFirstOrThrow();
    await db.updateTable("auth_totp").set({ secret_encrypted }).where("user_id", "=", bob.user.id).execute();
    await expect(sm.completeSignIn(await pendingTokenOf(sm, bob.user), codeOf(alice.secret, clock))).rejects.toBeInstanceOf(TotpKeyError);
    await expect(sm.completeSignIn(await pendingTokenOf(sm, bob.user), codeOf(bob.secret, clock))).rejects.toBeInstanceOf(TotpKeyError);
    // Alice's own row still works.
    expect(await sm.completeSignIn(await pendingTokenOf(sm, alice.user), codeOf(alice.secret, clock))).not.toBeNull();
  });

  it("throws TotpKeyError for a secret under a key the manager does not hold; recovery codes still work", async () => {
    const { sm, clock } = setUp(fixture);
    const { user, secret, recoveryCodes } = await enroll(sm, clock);
    const other = fixture.manager({ clock: clock.now, totp: { issuer: "Example App", secretKey: newKey() } });
    const error = await other.completeSignIn(await pendingTokenOf(other, user), codeOf(secret, clock)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TotpKeyError);
    expect(error).toMatchObject({ code: "totp_key", message: expect.stringContaining("does not hold") });
    // The failed attempt used nothing up: the right manager still signs in with that code.
    expect(await other.completeSignIn(await pendingTokenOf(other, user), recoveryCodes[0]!)).not.toBeNull();
    expect(await sm.completeSignIn(await pendingTokenOf(sm, user), codeOf(secret, clock))).not.toBeNull();
  });

  it("rotates keys: a list's first key encrypts, every key decrypts, and secrets move to the first key", async () => {
    const prefix = DatabaseFixture.prefix();
    const oldKey = newKey();
    const freshKey = newKey();
    const before = setUp(fixture, { tablePrefix: prefix }, oldKey);
    const clock = before.clock;
    const early = await enroll(before.sm, clock);
    const idle = await enroll(before.sm, clock);
    const rotating = fixture.manager({
      clock: clock.now,
      tablePrefix: prefix,
      totp: { issuer: "Example App", secretKey: [freshKey, oldKey] },
    });
    const newOnly = fixture.manager({ clock: clock.now, tablePrefix: prefix, totp: { issuer: "Example App", secretKey: freshKey } });
    // Under the old key: readable by the rotating manager, not by one with the new key alone.
    await expect(newOnly.completeSignIn(await pendingTokenOf(newOnly, idle.user), codeOf(idle.secret, clock))).rejects.toBeInstanceOf(
      TotpKeyError,
    );
    expect(await rotating.completeSignIn(await pendingTokenOf(rotating, early.user), codeOf(early.secret, clock))).not.toBeNull();
    // New setups are under the new key.
    const late = await enroll(rotating, clock);
    expect(await newOnly.completeSignIn(await pendingTokenOf(newOnly, late.user), codeOf(late.secret, clock))).not.toBeNull();
    // The sign-in moved its user's secret; re-encryption moves the rest, once.
    clock.advance(STEP_MS);
    expect(await newOnly.completeSignIn(await pendingTokenOf(newOnly, early.user), codeOf(early.secret, clock))).not.toBeNull();
    expect(await rotating.reencryptTotpSecrets()).toBe(1);
    expect(await rotating.reencryptTotpSecrets()).toBe(0);
    expect(await newOnly.completeSignIn(await pendingTokenOf(newOnly, idle.user), codeOf(idle.secret, clock))).not.toBeNull();
  });
});

describeEachDatabase("two-factor authentication: turning it off, recovery codes, events", (fixture) => {
  it("disableTotp deletes the second factor and revokes every session but the one kept", async () => {
    const { sm, clock, events } = setUp(fixture);
    const { user, secret } = await enroll(sm, clock);
    const kept = (await sm.completeSignIn(await pendingTokenOf(sm, user), codeOf(secret, clock)))!.token;
    const doomed = [await sm.createSession(user.id), await sm.createSession(user.id)];
    const waiting = await pendingTokenOf(sm, user);
    expect(await sm.disableTotp(user.id, { keepToken: kept })).toBe(true);
    expect(await sm.validateSession(kept)).toEqual(user);
    for (const token of doomed) expect(await sm.validateSession(token)).toBeNull();
    expect(await sm.hasTotp(user.id)).toBe(false);
    clock.advance(STEP_MS);
    expect(await sm.completeSignIn(waiting, codeOf(secret, clock))).toBeNull();
    expect(await sm.login(user.username, PASSWORD)).toEqual(expect.any(String));
    for (const table of ["auth_totp", "auth_recovery_codes", "auth_pending_sign_ins"] as const) {
      expect(await fixture.raw().selectFrom(table).select("user_id").where("user_id", "=", user.id).execute()).toEqual([]);
    }
    expect(events.filter((e) => e.type === "totp_disabled")).toEqual([expect.objectContaining({ userId: user.id })]);
    // Off already: nothing happens, no session is revoked.
    const live = await sm.createSession(user.id);
    expect(await sm.disableTotp(user.id)).toBe(false);
    expect(await sm.validateSession(live)).toEqual(user);
    expect(events.filter((e) => e.type === "totp_disabled")).toHaveLength(1);
  });

  it("disableTotp without keepToken revokes every session; another user's token keeps nothing", async () => {
    const { sm, clock } = setUp(fixture);
    const { user } = await enroll(sm, clock);
    const other = await sm.createUser(uniqueName(), PASSWORD);
    const otherToken = await sm.createSession(other.id);
    const tokens = [await sm.createSession(user.id), await sm.createSession(user.id)];
    expect(await sm.disableTotp(user.id, { keepToken: otherToken })).toBe(true);
    for (const token of tokens) expect(await sm.validateSession(token)).toBeNull();
    expect(await sm.validateSession(otherToken)).toEqual(other);
  });

  it("regenerateRecoveryCodes voids the old codes, revokes other sessions, and needs TOTP on", async () => {
    const { sm, clock, events } = setUp(fixture);
    const { user, recoveryCodes } = await enroll(sm, clock);
    const kept = await sm.createSession(user.id);
    const doomed = await sm.createSession(user.id);
    const fresh = await sm.regenerateRecoveryCodes(user.id, { keepToken: kept });
    expect(fresh).toHaveLength(10);
    expect(fresh.some((code) => recoveryCodes.includes(code))).toBe(false);
    expect(await sm.validateSession(kept)).toEqual(user);
    expect(await sm.validateSession(doomed)).toBeNull();
    expect(await sm.completeSignIn(await pendingTokenOf(sm, user), recoveryCodes[1]!)).toBeNull();
    expect(await sm.completeSignIn(await pendingTokenOf(sm, user), fresh[0]!)).not.toBeNull();
    expect(events.filter((e) => e.type === "recovery_codes_regenerated")).toEqual([expect.objectContaining({ userId: user.id })]);
    const plain = await sm.createUser(uniqueName(), PASSWORD);
    await expect(sm.regenerateRecoveryCodes(plain.id)).rejects.toBeInstanceOf(TotpNotEnabledError);
    await expect(sm.regenerateRecoveryCodes(987654321)).rejects.toBeInstanceOf(UserNotFoundError);
  });

  it("deletes the second factor with the user", async () => {
    const { sm, clock } = setUp(fixture);
    const { user } = await enroll(sm, clock);
    await pendingTokenOf(sm, user);
    expect(await sm.deleteUser(user.id)).toBe(true);
    for (const table of ["auth_totp", "auth_recovery_codes", "auth_pending_sign_ins"] as const) {
      expect(await fixture.raw().selectFrom(table).select("user_id").where("user_id", "=", user.id).execute()).toEqual([]);
    }
  });

  it("forgets dead pending sign-ins in deleteExpiredSessions", async () => {
    const { sm, clock } = setUp(fixture);
    const { user } = await enroll(sm, clock);
    await pendingTokenOf(sm, user);
    const rows = () => fixture.raw().selectFrom("auth_pending_sign_ins").select("user_id").where("user_id", "=", user.id).execute();
    await sm.deleteExpiredSessions();
    expect(await rows()).toHaveLength(1);
    clock.advance(5 * 60 * 1000);
    await sm.deleteExpiredSessions();
    expect(await rows()).toEqual([]);
  });

  it("reports every step with the user id and never a secret, code or token", async () => {
    const { sm, clock, events } = setUp(fixture);
    const { user, secret, base32Secret, recoveryCodes } = await enroll(sm, clock);
    const seen: string[] = [base32Secret, ...recoveryCodes];
    const pending = await pendingTokenOf(sm, user);
    seen.push(pending);
    const code = codeOf(secret, clock);
    const wrong = code === "000000" ? "111111" : "000000";
    seen.push(wrong);
    expect(await sm.completeSignIn(pending, wrong)).toBeNull();
    const signedIn = await sm.completeSignIn(pending, code);
    seen.push(code, signedIn!.token);
    const viaRecovery = await pendingTokenOf(sm, user);
    seen.push(viaRecovery);
    seen.push((await sm.completeSignIn(viaRecovery, recoveryCodes[2]!))!.token);
    seen.push(...(await sm.regenerateRecoveryCodes(user.id, { keepToken: signedIn!.token })));
    await sm.disableTotp(user.id);
    const types = events.map((e) => e.type);
    for (const type of ["totp_enabled", "two_factor_failed", "recovery_code_used", "recovery_codes_regenerated", "totp_disabled"]) {
      expect(types).toContain(type);
      for (const event of events.filter((e) => e.type === type)) expect(event.userId).toBe(user.id);
    }
    const text = JSON.stringify(events);
    for (const value of seen) {
      expect(text).not.toContain(value);
      expect(text).not.toContain(value.replace("-", ""));
    }
  });
});
