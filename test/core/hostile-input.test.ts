import { InvalidUsernameError, SessionManagerError } from "session-manager";
import { describeEachDatabase, uniqueName } from "../setup/databases";

/** Input an attacker or a buggy caller might send. */
const HOSTILE: unknown[] = [
  undefined,
  null,
  0,
  -1,
  1.5,
  Number.NaN,
  Infinity,
  true,
  {},
  [],
  ["alice"],
  { toString: () => "alice" },
  () => "alice",
  Symbol("x"),
  10n,
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "'; drop table auth_users; --",
  '" or 1=1 --',
  "%",
  "_",
  "\\",
  "x".repeat(1_000_000),
  "🦊".repeat(100),
  "\ud800",
  "A".repeat(32),
  "-".repeat(32),
  "\u202e\u0645\u0631\u062d\u0628\u0627",
];

function isDocumented(error: unknown): boolean {
  return error instanceof SessionManagerError;
}

describeEachDatabase("hostile input", (fixture) => {
  it("gives only documented results to every method, and loses nothing", async () => {
    const sm = fixture.manager({ throttle: false });
    const name = uniqueName("keeper");
    const keeper = await sm.createUser(name, "keeper password");
    const token = (await sm.login(name, "keeper password"))!;
    const sessionsBefore = await sm.listSessions(keeper.id);

    const calls: Array<[string, (x: unknown) => Promise<unknown>, (result: unknown) => boolean]> = [
      ["validateSession", (x) => sm.validateSession(x as string), (r) => r === null],
      ["checkSession", (x) => sm.checkSession(x as string), (r) => r === null],
      ["revokeSession", (x) => sm.revokeSession(x as string), (r) => r === false],
      ["logout", (x) => sm.logout(x as string), (r) => r === false],
      ["revokeOtherSessions", (x) => sm.revokeOtherSessions(x as string), (r) => r === 0],
      ["getUser", (x) => sm.getUser(x as string), (r) => r === null],
      ["getUserById", (x) => sm.getUserById(x as number), (r) => r === null],
      ["listSessions", (x) => sm.listSessions(x as number), (r) => Array.isArray(r) && r.length === 0],
      ["revokeSessions", (x) => sm.revokeSessions(x as number), (r) => r === 0],
      ["deleteUser", (x) => sm.deleteUser(x as number), (r) => r === false],
      ["authenticateUser(x, x)", (x) => sm.authenticateUser(x as string, x as string), (r) => r === null],
      ["authenticateUser(name, x)", (x) => sm.authenticateUser(name, x as string), (r) => r === null],
      ["login(x, x)", (x) => sm.login(x as string, x as string), (r) => r === null],
      ["login(name, x)", (x) => sm.login(name, x as string, { ip: x as string, userAgent: x as string }), (r) => r === null],
      ["createSession", (x) => sm.createSession(x as number), () => false],
      ["changePassword(x)", (x) => sm.changePassword(x as number, "password123"), () => false],
      ["importUser", (x) => sm.importUser(uniqueName(), x as string), () => false],
    ];
    for (const [label, call, expected] of calls) {
      for (const input of HOSTILE) {
        let outcome: { result: unknown } | { error: unknown };
        try {
          outcome = { result: await call(input) };
        } catch (error) {
          outcome = { error };
        }
        const ok = "result" in outcome ? expected(outcome.result) : isDocumented(outcome.error);
        if (!ok)
          throw new Error(`${label}(${show(input)}) gave ${"result" in outcome ? JSON.stringify(outcome.result) : String(outcome.error)}`);
      }
    }

    // createUser: hostile usernames either become a user (they are valid strings) or give a typed error.
    for (const input of HOSTILE) {
      for (const args of [
        [input, "password123"],
        [uniqueName(), input],
      ] as const) {
        try {
          const user = await sm.createUser(args[0] as string, args[1] as string);
          expect(await sm.getUserById(user.id)).toEqual(user);
          expect(await sm.deleteUser(user.id)).toBe(true);
        } catch (error) {
          if (!isDocumented(error)) throw new Error(`createUser(${show(args[0])}, ${show(args[1])}) threw ${String(error)}`);
        }
      }
    }

    expect(await sm.validateSession(token)).toEqual(keeper);
    expect(await sm.authenticateUser(name, "keeper password")).toEqual(keeper);
    expect((await sm.listSessions(keeper.id)).map((s) => s.id)).toEqual(sessionsBefore.map((s) => s.id));
  });

  it("stores SQL metacharacters and unicode in usernames as plain data", async () => {
    const sm = fixture.manager();
    // Right-to-left letters are data like any other; a bidirectional control (U+202E) is refused.
    for (const raw of ["'; drop table auth_users; --", "robert'); --", "%_\\", "名前", "\u0645\u0631\u062d\u0628\u0627"]) {
      const name = raw + uniqueName("");
      const user = await sm.createUser(name, "password123");
      expect((await sm.getUser(name))?.id).toBe(user.id);
      expect(await sm.login(name, "password123")).toEqual(expect.any(String));
    }
    await expect(sm.createUser(`\u202eevil${uniqueName("")}`, "password123")).rejects.toBeInstanceOf(InvalidUsernameError);
    // "%" must not act as a wildcard.
    expect(await sm.getUser("%")).toBeNull();
  });
});

function show(input: unknown): string {
  if (typeof input === "string") return input.length > 40 ? `"${input.slice(0, 20)}…" (${input.length})` : JSON.stringify(input);
  if (typeof input === "symbol" || typeof input === "bigint" || typeof input === "function") return String(input);
  return JSON.stringify(input) ?? String(input);
}
