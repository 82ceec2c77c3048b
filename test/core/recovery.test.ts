import {
  EmailTakenError,
  InvalidEmailError,
  InvalidPasswordError,
  LoginThrottledError,
  UserNotFoundError,
  type AuthEvent,
  type SessionManager,
} from "session-manager";
import { connect } from "../../src/database/connect";
import { createMigrator } from "../../src/database/migrations";
import { DatabaseFixture, TestClock, describeEachDatabase, uniqueName } from "../setup/databases";
import { FIRST_RELEASE, insertFirstReleaseUsers } from "../setup/first-release";

const PASSWORD = "correct horse battery";
const NEW_PASSWORD = "a new long passphrase";
const HOUR = 60 * 60 * 1000;

function uniqueEmail(base = "user"): string {
  return `${uniqueName(base)}@example.com`;
}

/** A manager on the fixture's database with a hand-moved clock and a record of its events. */
function setUp(fixture: DatabaseFixture, options: Parameters<DatabaseFixture["manager"]>[0] = {}) {
  const clock = new TestClock(Date.now());
  const events: AuthEvent[] = [];
  const sm = fixture.manager({ clock: clock.now, onEvent: (event) => events.push(event), ...options });
  return { sm, clock, events };
}

/**
 * Managers that stand for separate processes. On a SQLite file, managers in one process are
 * connections whose transactions block each other synchronously (see the README): there the
 * processes are the multi-process test's, and here one manager takes every call.
 */
function managers(fixture: DatabaseFixture, sm: SessionManager): SessionManager[] {
  if (fixture.database.name === "sqlite-file") return [sm, sm, sm];
  return [sm, setUp(fixture).sm, setUp(fixture).sm];
}

/** Every string a token could have been written into: none may hold it. */
function expectNoToken(events: AuthEvent[], ...tokens: string[]): void {
  const text = JSON.stringify(events);
  for (const token of tokens) expect(text).not.toContain(token);
}

describeEachDatabase("email addresses", (fixture) => {
  it("creates users with an optional address, unverified, and finds them by it in any case", async () => {
    const { sm } = setUp(fixture);
    const email = `Mixed.${uniqueEmail()}`;
    const user = await sm.createUser(uniqueName(), PASSWORD, { email: `  ${email}  ` });
    expect(user).toMatchObject({ email, emailVerified: false });
    expect(await sm.getUserById(user.id)).toEqual(user);
    expect(await sm.getUserByEmail(email.toUpperCase())).toEqual(user);
    expect(await sm.getUserByEmail(email.toLowerCase())).toEqual(user);
    expect(await sm.getUserByEmail(uniqueEmail())).toBeNull();
    expect(await sm.getUserByEmail("not an address")).toBeNull();
    const without = await sm.createUser(uniqueName(), PASSWORD);
    expect(without).toMatchObject({ email: null, emailVerified: false });
    const explicitNull = await sm.createUser(uniqueName(), PASSWORD, { email: null });
    expect(explicitNull.email).toBeNull();
  });

  it("keeps addresses unique across case and NFKC look-alikes, naming the address, not the username", async () => {
    const { sm } = setUp(fixture);
    const local = uniqueName("alice");
    await sm.createUser(uniqueName(), PASSWORD, { email: `${local}@example.com` });
    const fullwidth = [...local].map((c) => (/[a-z]/.test(c) ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c)).join("");
    for (const lookalike of [`${local.toUpperCase()}@EXAMPLE.COM`, `${fullwidth}@example.com`, `${local}@ｅｘａｍｐｌｅ.com`]) {
      await expect(sm.createUser(uniqueName(), PASSWORD, { email: lookalike })).rejects.toBeInstanceOf(EmailTakenError);
    }
    const name = uniqueName();
    await sm.createUser(name, PASSWORD, { email: uniqueEmail() });
    // A taken username with a free address is reported as the username.
    await expect(sm.createUser(name, PASSWORD, { email: uniqueEmail() })).rejects.toMatchObject({ code: "username_taken" });
  });

  it("refuses malformed addresses with InvalidEmailError before hashing or storing anything", async () => {
    const { sm } = setUp(fixture);
    const bad: unknown[] = [
      "",
      "   ",
      "a@",
      "@b",
      "ab",
      "no-at-sign",
      "two@@example.com",
      "a@b@c",
      "with space@example.com",
      "tab\t@example.com",
      "zero\u200Bwidth@example.com",
      "bidi\u202E@example.com",
      "ctrl\u0007@example.com",
      "nbsp\u00A0x@example.com",
      `${"x".repeat(250)}@example.com`,
      "lone\uD800@example.com",
      "fullwidth＠example.com",
      42,
      { email: "a@b.c" },
    ];
    for (const email of bad) {
      const name = uniqueName();
      await expect(sm.createUser(name, PASSWORD, { email: email as string })).rejects.toBeInstanceOf(InvalidEmailError);
      expect(await sm.getUser(name)).toBeNull();
    }
  });
});

describeEachDatabase("email verification", (fixture) => {
  it("verifies the address with a one-time token, once", async () => {
    const { sm, events } = setUp(fixture);
    const user = await sm.createUser(uniqueName(), PASSWORD, { email: uniqueEmail() });
    const issued = await sm.createEmailVerificationToken(user.id);
    expect(issued).toEqual({ token: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/), email: user.email, expiresAt: expect.any(Date) });
    const verified = await sm.verifyEmail(issued!.token);
    expect(verified).toEqual({ ...user, emailVerified: true });
    expect(await sm.getUserById(user.id)).toEqual({ ...user, emailVerified: true });
    expect(await sm.verifyEmail(issued!.token)).toBeNull();
    expect(await sm.createEmailVerificationToken(user.id)).toBeNull();
    expect(events.filter((e) => e.type === "email_verified")).toEqual([expect.objectContaining({ userId: user.id })]);
    expectNoToken(events, issued!.token);
  });

  it("issues no token for a user without an address and throws UserNotFoundError for an unknown user", async () => {
    const { sm } = setUp(fixture);
    const user = await sm.createUser(uniqueName(), PASSWORD);
    expect(await sm.createEmailVerificationToken(user.id)).toBeNull();
    await expect(sm.createEmailVerificationToken(987654321)).rejects.toBeInstanceOf(UserNotFoundError);
    await expect(sm.createEmailVerificationToken(-1)).rejects.toBeInstanceOf(UserNotFoundError);
  });

  it("expires verification tokens after 48 hours, or the configured time", async () => {
    const { sm, clock } = setUp(fixture);
    const user = await sm.createUser(uniqueName(), PASSWORD, { email: uniqueEmail() });
    const issued = await sm.createEmailVerificationToken(user.id);
    expect(issued!.expiresAt.getTime() - clock.now().getTime()).toBe(48 * HOUR);
    clock.advance(48 * HOUR - 1);
    expect(await sm.verifyEmail(issued!.token)).toMatchObject({ emailVerified: true });
    const other = setUp(fixture, { tokens: { emailVerificationHours: 1 } });
    const second = await other.sm.createUser(uniqueName(), PASSWORD, { email: uniqueEmail() });
    const short = await other.sm.createEmailVerificationToken(second.id);
    expect(short!.expiresAt.getTime() - other.clock.now().getTime()).toBe(HOUR);
    other.clock.advance(HOUR);
    expect(await other.sm.verifyEmail(short!.token)).toBeNull();
  });

  it("refuses a verification token issued for an address the user no longer has", async () => {
    const { sm } = setUp(fixture);
    const user = await sm.createUser(uniqueName(), PASSWORD, { email: uniqueEmail() });
    const issued = await sm.createEmailVerificationToken(user.id);
    const change = await sm.requestEmailChange(user.id, uniqueEmail());
    expect(await sm.confirmEmailChange(change.token)).toMatchObject({ email: change.email, emailVerified: true });
    expect(await sm.verifyEmail(issued!.token)).toBeNull();
  });
});

describeEachDatabase("password reset", (fixture) => {
  async function userWithSessions(sm: ReturnType<typeof fixture.manager>, email = uniqueEmail()) {
    const name = uniqueName();
    const user = await sm.createUser(name, PASSWORD, { email });
    const tokens = [await sm.createSession(user.id), await sm.createSession(user.id)];
    return { name, user, tokens };
  }

  it("finds the user by username or by address in any case, and always names the stored address", async () => {
    const { sm, events } = setUp(fixture);
    const email = `Reset.${uniqueEmail()}`;
    const { name, user } = await userWithSessions(sm, email);
    for (const identifier of [name, name.toUpperCase(), email, email.toLowerCase(), ` ${email.toUpperCase()} `]) {
      const issued = await sm.createPasswordResetToken(identifier);
      expect(issued).toEqual({ token: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/), user, email, expiresAt: expect.any(Date) });
    }
    expect(events.filter((e) => e.type === "password_reset_requested")).toHaveLength(5);
    expectNoToken(events);
  });

  it("issues nothing for an unknown identifier or a user without an address", async () => {
    const { sm } = setUp(fixture);
    const name = uniqueName();
    await sm.createUser(name, PASSWORD);
    expect(await sm.createPasswordResetToken(name)).toBeNull();
    expect(await sm.createPasswordResetToken(uniqueName())).toBeNull();
    expect(await sm.createPasswordResetToken(uniqueEmail())).toBeNull();
    expect(await sm.createPasswordResetToken("")).toBeNull();
    expect(await sm.createPasswordResetToken(42 as unknown as string)).toBeNull();
  });

  it("sets the password, revokes every session, voids the other reset tokens, marks the address verified, and does not sign in", async () => {
    const { sm, events } = setUp(fixture);
    const { name, user, tokens } = await userWithSessions(sm);
    const older = await sm.createPasswordResetToken(name);
    const issued = await sm.createPasswordResetToken(name);
    const reset = await sm.resetPassword(issued!.token, NEW_PASSWORD);
    expect(reset).toEqual({ ...user, emailVerified: true });
    for (const token of tokens) expect(await sm.validateSession(token)).toBeNull();
    expect(await sm.listSessions(user.id)).toEqual([]);
    expect(await sm.authenticateUser(name, PASSWORD)).toBeNull();
    expect(await sm.authenticateUser(name, NEW_PASSWORD)).toMatchObject({ id: user.id, emailVerified: true });
    expect(await sm.resetPassword(issued!.token, "yet another passphrase")).toBeNull();
    expect(await sm.resetPassword(older!.token, "yet another passphrase")).toBeNull();
    expect(await sm.authenticateUser(name, NEW_PASSWORD)).not.toBeNull();
    expect(events.filter((e) => e.type === "password_reset")).toEqual([expect.objectContaining({ userId: user.id })]);
    expect(events.filter((e) => e.type === "login")).toEqual([]);
    expectNoToken(events, issued!.token, older!.token, ...tokens);
  });

  it("voids the older reset tokens when a new one is issued", async () => {
    const { sm } = setUp(fixture);
    const { name } = await userWithSessions(sm);
    const first = await sm.createPasswordResetToken(name);
    const second = await sm.createPasswordResetToken(name);
    expect(await sm.resetPassword(first!.token, NEW_PASSWORD)).toBeNull();
    expect(await sm.resetPassword(second!.token, NEW_PASSWORD)).not.toBeNull();
  });

  it("clears the login throttle of a locked-out user", async () => {
    const { sm } = setUp(fixture);
    const { name } = await userWithSessions(sm);
    for (let i = 0; i < 10; i++) expect(await sm.authenticateUser(name, "wrong password")).toBeNull();
    await expect(sm.authenticateUser(name, PASSWORD)).rejects.toBeInstanceOf(LoginThrottledError);
    const issued = await sm.createPasswordResetToken(name);
    await sm.resetPassword(issued!.token, NEW_PASSWORD);
    expect(await sm.authenticateUser(name, NEW_PASSWORD)).not.toBeNull();
  });

  it("refuses a password the rules refuse with InvalidPasswordError and keeps the token usable", async () => {
    const { sm } = setUp(fixture);
    const { name, tokens } = await userWithSessions(sm);
    const issued = await sm.createPasswordResetToken(name);
    for (const bad of ["short", "", "x".repeat(1025), 12345678 as unknown as string]) {
      await expect(sm.resetPassword(issued!.token, bad)).rejects.toBeInstanceOf(InvalidPasswordError);
    }
    expect(await sm.validateSession(tokens[0]!)).not.toBeNull();
    expect(await sm.resetPassword(issued!.token, NEW_PASSWORD)).not.toBeNull();
  });

  it("answers null to malformed, altered, padded, expired and other-purpose tokens, and they cost the real one nothing", async () => {
    const { sm, clock } = setUp(fixture);
    const { name, user, tokens } = await userWithSessions(sm);
    const issued = await sm.createPasswordResetToken(name);
    const token = issued!.token;
    const verification = await sm.createEmailVerificationToken(user.id);
    const change = await sm.requestEmailChange(user.id, uniqueEmail());
    const flipped = token[0] === "A" ? `B${token.slice(1)}` : `A${token.slice(1)}`;
    const altered = [
      token.toUpperCase() === token ? token.toLowerCase() : token.toUpperCase(),
      `${token}=`,
      ` ${token}`,
      `${token}\n`,
      token.slice(0, 31),
      `${token}A`,
      flipped,
      Buffer.from(token).toString("base64"),
      "",
      tokens[0]!,
      verification!.token,
      change.token,
      null,
      undefined,
      42,
      { token },
    ];
    for (const bad of altered) expect(await sm.resetPassword(bad as string, NEW_PASSWORD)).toBeNull();
    // Other-purpose tokens stay usable for their own purpose, the session too.
    expect(await sm.validateSession(tokens[0]!)).not.toBeNull();
    expect(await sm.resetPassword(verification!.token, NEW_PASSWORD)).toBeNull();
    expect(await sm.verifyEmail(token)).toBeNull();
    expect(await sm.confirmEmailChange(token)).toBeNull();
    expect(await sm.verifyEmail(verification!.token)).toMatchObject({ emailVerified: true });
    clock.advance(60 * 60 * 1000);
    expect(await sm.resetPassword(token, NEW_PASSWORD)).toBeNull();
    expect(await sm.authenticateUser(name, PASSWORD)).not.toBeNull();
  });

  it("expires reset tokens after 60 minutes, or the configured time", async () => {
    const { sm, clock } = setUp(fixture, { tokens: { passwordResetMinutes: 20 } });
    const { name } = await userWithSessions(sm);
    const issued = await sm.createPasswordResetToken(name);
    expect(issued!.expiresAt.getTime() - clock.now().getTime()).toBe(20 * 60 * 1000);
    clock.advance(20 * 60 * 1000 - 1);
    expect(await sm.resetPassword(issued!.token, NEW_PASSWORD)).not.toBeNull();
    const later = await sm.createPasswordResetToken(name);
    clock.advance(20 * 60 * 1000);
    expect(await sm.resetPassword(later!.token, NEW_PASSWORD)).toBeNull();
  });

  it("issues at most 5 reset tokens per user per hour, however many are asked for at once", async () => {
    const { sm, clock } = setUp(fixture);
    const { name, user } = await userWithSessions(sm);
    const burst = await Promise.all(Array.from({ length: 20 }, () => sm.createPasswordResetToken(name)));
    expect(burst.filter((issued) => issued !== null)).toHaveLength(5);
    expect(await sm.createPasswordResetToken(user.email!)).toBeNull();
    // Exactly one of the five is live: each voided the ones before it.
    const live = [];
    for (const issued of burst) if (issued !== null && (await sm.resetPassword(issued.token, NEW_PASSWORD)) !== null) live.push(issued);
    expect(live).toHaveLength(1);
    clock.advance(HOUR);
    expect(await sm.createPasswordResetToken(name)).not.toBeNull();
  });

  it("issues a token to every one of many users asking at once (no deadlock between users)", async () => {
    const { sm } = setUp(fixture);
    const names = [];
    for (let i = 0; i < 15; i++) names.push((await userWithSessions(sm)).name);
    const [, ...others] = managers(fixture, sm);
    const issued = await Promise.all(names.flatMap((name) => [sm, ...others].map((manager) => manager.createPasswordResetToken(name))));
    expect(issued.filter((token) => token === null)).toEqual([]);
  });

  it("gives exactly one success to concurrent uses of one token, from several managers", async () => {
    const { sm } = setUp(fixture);
    const [, ...others] = managers(fixture, sm);
    const { name } = await userWithSessions(sm);
    const issued = await sm.createPasswordResetToken(name);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => [sm, ...others][i % 3]!.resetPassword(issued!.token, `${NEW_PASSWORD} ${i}`)),
    );
    const winners = results.map((user, i) => (user === null ? null : i)).filter((i) => i !== null);
    expect(winners).toHaveLength(1);
    expect(await sm.authenticateUser(name, `${NEW_PASSWORD} ${winners[0]}`)).not.toBeNull();
  });

  it("answers null when the user was deleted meanwhile", async () => {
    const { sm } = setUp(fixture);
    const { name, user } = await userWithSessions(sm);
    const issued = await sm.createPasswordResetToken(name);
    await sm.deleteUser(user.id);
    expect(await sm.resetPassword(issued!.token, NEW_PASSWORD)).toBeNull();
  });

  it("refuses a reset token once the address it was sent to is no longer the account's", async () => {
    const { sm } = setUp(fixture);
    const { name, user } = await userWithSessions(sm);
    const issued = await sm.createPasswordResetToken(name);
    const change = await sm.requestEmailChange(user.id, uniqueEmail());
    // Requesting a change alone moves nothing: the token still works until the change is confirmed.
    const second = await sm.createPasswordResetToken(name);
    await sm.confirmEmailChange(change.token);
    expect(await sm.resetPassword(issued!.token, NEW_PASSWORD)).toBeNull();
    expect(await sm.resetPassword(second!.token, NEW_PASSWORD)).toBeNull();
    expect(await sm.authenticateUser(name, PASSWORD)).not.toBeNull();
  });

  it("stores only digests of one-time tokens, and cleanup forgets the dead ones", async () => {
    const { sm, clock } = setUp(fixture);
    const { name, user } = await userWithSessions(sm);
    const issued = await sm.createPasswordResetToken(name);
    const verification = await sm.createEmailVerificationToken(user.id);
    const rows = await fixture.raw().selectFrom("auth_one_time_tokens").selectAll().where("user_id", "=", user.id).execute();
    expect(rows).toHaveLength(2);
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(issued!.token);
    expect(stored).not.toContain(verification!.token);
    for (const row of rows) expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
    await sm.resetPassword(issued!.token, NEW_PASSWORD);
    clock.advance(49 * HOUR);
    await sm.deleteExpiredSessions();
    const left = await fixture.raw().selectFrom("auth_one_time_tokens").select("token_hash").where("user_id", "=", user.id).execute();
    expect(left).toEqual([]);
  });
});

describeEachDatabase("email change", (fixture) => {
  it("changes the address only when the link to the new one is followed, and verifies it", async () => {
    const { sm, events } = setUp(fixture);
    const user = await sm.createUser(uniqueName(), PASSWORD, { email: uniqueEmail() });
    const next = `New.${uniqueEmail()}`;
    const issued = await sm.requestEmailChange(user.id, `  ${next} `);
    expect(issued).toEqual({ token: expect.any(String), email: next, expiresAt: expect.any(Date) });
    expect((await sm.getUserById(user.id))?.email).toBe(user.email);
    expect(await sm.confirmEmailChange(issued.token)).toEqual({ ...user, email: next, emailVerified: true });
    expect(await sm.getUserByEmail(next)).toMatchObject({ id: user.id });
    expect(await sm.getUserByEmail(user.email!)).toBeNull();
    expect(await sm.confirmEmailChange(issued.token)).toBeNull();
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(["email_change_requested", "email_changed"]));
    expectNoToken(events, issued.token);
  });

  it("refuses a taken or malformed address at request time, and an unknown user", async () => {
    const { sm } = setUp(fixture);
    const taken = uniqueEmail();
    await sm.createUser(uniqueName(), PASSWORD, { email: taken });
    const user = await sm.createUser(uniqueName(), PASSWORD, { email: uniqueEmail() });
    await expect(sm.requestEmailChange(user.id, taken.toUpperCase())).rejects.toBeInstanceOf(EmailTakenError);
    await expect(sm.requestEmailChange(user.id, "nope")).rejects.toBeInstanceOf(InvalidEmailError);
    await expect(sm.requestEmailChange(987654321, uniqueEmail())).rejects.toBeInstanceOf(UserNotFoundError);
    // A new case of one's own address is a change, not a collision.
    const recased = await sm.requestEmailChange(user.id, user.email!.toUpperCase());
    expect(await sm.confirmEmailChange(recased.token)).toMatchObject({ email: user.email!.toUpperCase() });
  });

  it("answers null, and changes nothing, when the address was taken between request and confirmation", async () => {
    const { sm } = setUp(fixture);
    const user = await sm.createUser(uniqueName(), PASSWORD, { email: uniqueEmail() });
    const contested = uniqueEmail();
    const issued = await sm.requestEmailChange(user.id, contested);
    await sm.createUser(uniqueName(), PASSWORD, { email: contested.toUpperCase() });
    expect(await sm.confirmEmailChange(issued.token)).toBeNull();
    expect(await sm.getUserById(user.id)).toEqual(user);
  });

  it("gives a contested address to exactly one of two users confirming at once", async () => {
    const { sm } = setUp(fixture);
    const contested = uniqueEmail();
    const first = await sm.createUser(uniqueName(), PASSWORD, { email: uniqueEmail() });
    const second = await sm.createUser(uniqueName(), PASSWORD, { email: uniqueEmail() });
    const a = await sm.requestEmailChange(first.id, contested);
    const b = await sm.requestEmailChange(second.id, contested);
    const [, other] = managers(fixture, sm);
    const results = await Promise.all([sm.confirmEmailChange(a.token), other!.confirmEmailChange(b.token)]);
    expect(results.filter((user) => user !== null)).toHaveLength(1);
  });

  it("voids reset and verification links sent to the old address", async () => {
    const { sm } = setUp(fixture);
    const name = uniqueName();
    const user = await sm.createUser(name, PASSWORD, { email: uniqueEmail() });
    const reset = await sm.createPasswordResetToken(name);
    const verification = await sm.createEmailVerificationToken(user.id);
    await sm.confirmEmailChange((await sm.requestEmailChange(user.id, uniqueEmail())).token);
    expect(await sm.resetPassword(reset!.token, NEW_PASSWORD)).toBeNull();
    expect(await sm.verifyEmail(verification!.token)).toBeNull();
    const rows = await fixture
      .raw()
      .selectFrom("auth_one_time_tokens")
      .select("expires_at")
      .where("user_id", "=", user.id)
      .where("purpose", "!=", "email_change")
      .execute();
    expect(rows.map((row) => Number(row.expires_at))).toEqual([0, 0]);
  });

  it("expires email change tokens after 24 hours", async () => {
    const { sm, clock } = setUp(fixture);
    const user = await sm.createUser(uniqueName(), PASSWORD, { email: uniqueEmail() });
    const issued = await sm.requestEmailChange(user.id, uniqueEmail());
    expect(issued.expiresAt.getTime() - clock.now().getTime()).toBe(24 * HOUR);
    clock.advance(24 * HOUR);
    expect(await sm.confirmEmailChange(issued.token)).toBeNull();
  });
});

describeEachDatabase("upgrade to email addresses", (fixture) => {
  for (const [release, migration] of [
    ["the first release", FIRST_RELEASE],
    ["the release before email addresses", "2026_11_20_0001_username_case_folding"],
  ] as const) {
    it(`upgrades a database of ${release} with users in it, and recovery works for them`, async () => {
      const prefix = DatabaseFixture.prefix();
      const { db, kind } = connect(fixture.raw(), prefix);
      const { error } = await createMigrator(db, kind, prefix).migrateTo(migration);
      expect(error).toBeUndefined();
      const name = uniqueName("old");
      const ids = await insertFirstReleaseUsers(db, kind, [name]);
      const userId = ids.get(name)!;
      const { sm } = setUp(fixture, { tablePrefix: prefix });
      const report = await sm.migrate();
      expect(report.usernameConflicts).toEqual([]);
      const before = await sm.getUserById(userId);
      expect(before).toMatchObject({ id: userId, username: name, email: null, emailVerified: false });
      const token = await sm.login(name, `${name}-password`);
      expect(token).not.toBeNull();
      // Without an address there is nothing to reset through, until the user adds one.
      expect(await sm.createPasswordResetToken(name)).toBeNull();
      const email = uniqueEmail();
      await sm.confirmEmailChange((await sm.requestEmailChange(userId, email)).token);
      const issued = await sm.createPasswordResetToken(email);
      expect(await sm.resetPassword(issued!.token, NEW_PASSWORD)).toMatchObject({ id: userId, email, emailVerified: true });
      expect(await sm.validateSession(token!)).toBeNull();
      expect(await sm.login(name, NEW_PASSWORD)).not.toBeNull();
    });
  }
});
