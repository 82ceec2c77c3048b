import fc from "fast-check";
import { sql } from "kysely";
import {
  EmailTakenError,
  InvalidEmailError,
  InvalidPasswordError,
  InvalidUsernameError,
  LoginThrottledError,
  SessionManagerError,
  UsernameTakenError,
  type SessionManager,
  type User,
} from "session-manager";
import { DatabaseFixture, TestClock, describeEachDatabase, uniqueName } from "../setup/databases";
import { hostileString, tokenLike } from "./arbitraries";

// Per database; four databases run these, so the numbers are kept small.
const RUNS = 60;
const PASSWORD = "keeper password";
const DAY = 24 * 60 * 60 * 1000;

type Outcome<T> = { value: T } | { error: unknown };

async function outcome<T>(call: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { value: await call() };
  } catch (error) {
    return { error };
  }
}

/** Fails unless the call ended as documented: a value the check accepts, or one of the typed errors listed. */
function expectDocumented<T>(
  label: string,
  result: Outcome<T>,
  accept: (value: T) => boolean,
  errors: Array<abstract new (...args: never[]) => SessionManagerError> = [],
): void {
  if ("error" in result) {
    const error = result.error;
    if (!(error instanceof SessionManagerError) || !errors.some((type) => error instanceof type)) {
      throw new Error(`${label} threw ${error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error)}`);
    }
    return;
  }
  if (!accept(result.value)) throw new Error(`${label} gave ${JSON.stringify(result.value)}`);
}

function isUser(value: unknown): value is User {
  const user = value as User | null;
  return (
    user !== null &&
    typeof user === "object" &&
    Number.isSafeInteger(user.id) &&
    typeof user.username === "string" &&
    user.createdAt instanceof Date &&
    (user.email === null || typeof user.email === "string") &&
    typeof user.emailVerified === "boolean" &&
    Object.keys(user).length === 5
  );
}

describeEachDatabase("core properties under hostile input", (fixture) => {
  let sm: SessionManager;
  let clock: TestClock;
  let prefix: string;
  let keeper: User & { token: string };

  async function countSessions(): Promise<number> {
    const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(`${prefix}auth_sessions`)}`.execute(
      fixture.raw(),
    );
    return Number(rows[0]!.n);
  }

  beforeAll(async () => {
    clock = new TestClock();
    prefix = DatabaseFixture.prefix();
    sm = fixture.manager({ clock: clock.now, tablePrefix: prefix });
    const name = uniqueName("keeper");
    const user = await sm.createUser(name, PASSWORD);
    keeper = { ...user, token: (await sm.login(name, PASSWORD))! };
  });

  /** Whatever a run did, the user and the session made before it still work. */
  async function expectKeeperIntact(): Promise<void> {
    expect(await sm.validateSession(keeper.token)).toEqual({
      id: keeper.id,
      username: keeper.username,
      createdAt: keeper.createdAt,
      email: null,
      emailVerified: false,
    });
    // A run may have locked the keeper out by guessing; a day later the password works again.
    clock.advance(DAY);
    expect(await sm.authenticateUser(keeper.username, PASSWORD)).toMatchObject({ id: keeper.id });
  }

  it("authenticates arbitrary usernames and passwords to null, a user, or a throttle error, and starts no session", async () => {
    const before = await countSessions();
    await fc.assert(
      fc.asyncProperty(fc.oneof(hostileString(), fc.constant(keeper.username)), hostileString(), async (username, password) => {
        const result = await outcome(() => sm.authenticateUser(username, password));
        expectDocumented(
          "authenticateUser",
          result,
          (user) => user === null || (isUser(user) && user.id === keeper.id && password.normalize("NFKC") === PASSWORD),
          [LoginThrottledError],
        );
      }),
      { numRuns: RUNS },
    );
    expect(await countSessions()).toBe(before);
    await expectKeeperIntact();
  });

  it("answers arbitrary tokens with null, false or 0, and touches no session", async () => {
    const before = await sm.listSessions(keeper.id);
    await fc.assert(
      fc.asyncProperty(tokenLike, async (token) => {
        expectDocumented("validateSession", await outcome(() => sm.validateSession(token)), (value) => value === null);
        expectDocumented("checkSession", await outcome(() => sm.checkSession(token)), (value) => value === null);
        expectDocumented("revokeSession", await outcome(() => sm.revokeSession(token)), (value) => value === false);
        expectDocumented("logout", await outcome(() => sm.logout(token)), (value) => value === false);
        expectDocumented("revokeOtherSessions", await outcome(() => sm.revokeOtherSessions(token)), (value) => value === 0);
      }),
      { numRuns: RUNS },
    );
    expect(await sm.listSessions(keeper.id)).toEqual(before);
    await expectKeeperIntact();
  });

  it("answers arbitrary and altered one-time tokens with null, and uses up none of the real ones", async () => {
    const name = uniqueName("recovery");
    const user = await sm.createUser(name, PASSWORD, { email: `${name}@example.com` });
    const reset = (await sm.createPasswordResetToken(name))!.token;
    const verification = (await sm.createEmailVerificationToken(user.id))!.token;
    const change = (await sm.requestEmailChange(user.id, `${name}.new@example.com`)).token;
    const real = [reset, verification, change, keeper.token];
    // A real token with one character replaced, or any other token of the right shape.
    const altered = fc
      .tuple(fc.constantFrom(...real), fc.nat(31), fc.constantFrom(..."AZaz09_-=. "))
      .map(([token, at, char]) => `${token.slice(0, at)}${char}${token.slice(at + 1)}`)
      .filter((token) => !real.includes(token));
    await fc.assert(
      fc.asyncProperty(fc.oneof(tokenLike, altered), hostileString(), async (token, password) => {
        expectDocumented("verifyEmail", await outcome(() => sm.verifyEmail(token)), (value) => value === null);
        expectDocumented("confirmEmailChange", await outcome(() => sm.confirmEmailChange(token)), (value) => value === null);
        // A password the rules refuse may be reported first; either way nothing is used up.
        expectDocumented("resetPassword", await outcome(() => sm.resetPassword(token, password)), (value) => value === null, [
          InvalidPasswordError,
        ]);
      }),
      { numRuns: RUNS },
    );
    // Each real token still does its one job, once.
    expect(await sm.resetPassword(verification, "another password")).toBeNull();
    expect(await sm.verifyEmail(verification)).toMatchObject({ id: user.id, emailVerified: true });
    expect(await sm.resetPassword(reset, "another password")).toMatchObject({ id: user.id });
    expect(await sm.confirmEmailChange(change)).toMatchObject({ email: `${name}.new@example.com` });
    await expectKeeperIntact();
  });

  it("creates users with arbitrary addresses only when the address is valid, and then finds them by it", async () => {
    const address = fc.oneof(
      hostileString(60),
      fc.tuple(hostileString(20), hostileString(20)).map(([local, domain]) => `${local}@${domain}`),
      fc.emailAddress(),
    );
    await fc.assert(
      fc.asyncProperty(address, async (email) => {
        const name = uniqueName();
        const result = await outcome(() => sm.createUser(name, PASSWORD, { email }));
        expectDocumented("createUser", result, (user) => isUser(user) && user.email === email.trim() && !user.emailVerified, [
          InvalidEmailError,
          EmailTakenError,
        ]);
        if ("value" in result) expect((await sm.getUserByEmail(email))?.id).toBe(result.value.id);
        else expect(await sm.getUser(name)).toBeNull();
      }),
      { numRuns: RUNS },
    );
    await expectKeeperIntact();
  });

  it("creates users from arbitrary names and passwords only when both are valid, and then finds and logs them in", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ weight: 4, arbitrary: hostileString(70) }, { weight: 1, arbitrary: fc.constant(keeper.username.toUpperCase()) }),
        fc.oneof(
          hostileString(),
          hostileString(20).map((p) => `${p}${PASSWORD}`),
        ),
        async (username, password) => {
          const result = await outcome(() => sm.createUser(username, password));
          expectDocumented("createUser", result, isUser, [InvalidUsernameError, InvalidPasswordError, UsernameTakenError]);
          if ("error" in result) {
            if (result.error instanceof UsernameTakenError) expect(await sm.getUser(username)).not.toBeNull();
            return;
          }
          const user = result.value;
          // The stored name is the one the lookup and the login find, whatever the input held.
          expect(user.username).toBe(username.normalize("NFKC").trim());
          expect(await sm.getUser(username)).toEqual(user);
          expect(await sm.getUser(user.username)).toEqual(user);
          expect(await sm.getUserById(user.id)).toEqual(user);
          const token = await sm.login(username, password, { ip: username, userAgent: password });
          expect(token).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]{32}$/));
          expect(await sm.validateSession(token!)).toEqual(user);
          expect(await sm.deleteUser(user.id)).toBe(true);
          expect(await sm.validateSession(token!)).toBeNull();
        },
      ),
      { numRuns: RUNS },
    );
    await expectKeeperIntact();
  });

  it("logs in with arbitrary credentials and metadata only as documented, and every token it gives works", async () => {
    const before = await countSessions();
    const tokens: string[] = [];
    const meta = fc.record(
      { ip: fc.option(hostileString(300), { nil: undefined }), userAgent: fc.option(hostileString(1500), { nil: undefined }) },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(hostileString(), fc.constant(keeper.username)),
        fc.oneof(hostileString(), fc.constant(PASSWORD)),
        meta,
        async (username, password, requestMeta) => {
          const result = await outcome(() => sm.login(username, password, requestMeta));
          expectDocumented("login", result, (token) => token === null || /^[A-Za-z0-9_-]{32}$/.test(token), [LoginThrottledError]);
          if ("value" in result && result.value !== null) tokens.push(result.value);
        },
      ),
      { numRuns: RUNS },
    );
    expect(await countSessions()).toBe(before + tokens.length);
    for (const token of tokens) expect((await sm.validateSession(token))?.id).toBe(keeper.id);
    // Metadata is stored bounded and without control characters.
    for (const session of await sm.listSessions(keeper.id)) {
      expect(session.ip === null || (session.ip.length <= 255 && !/[\u0000-\u001f\u007f]/.test(session.ip))).toBe(true);
      expect(session.userAgent === null || (session.userAgent.length <= 1024 && !/[\u0000-\u001f\u007f]/.test(session.userAgent))).toBe(
        true,
      );
    }
    await Promise.all(tokens.map((token) => sm.revokeSession(token)));
    await expectKeeperIntact();
  });
});
