import fc from "fast-check";
import { sql } from "kysely";
import type { SessionManager } from "session-manager";
import { DatabaseFixture, TestClock, describeWith, testDatabase, uniqueName } from "../setup/databases";
import { SELF, cookieValuesSet } from "../setup/http";
import { ADAPTERS, LocalServer, createApp, jsonOf, type TestRequest, type TestResponse } from "./apps";
import { headerValue, hostileString, isHeaderSafe, otherCookie, tokenLike } from "./arbitraries";

// Sized so that the three adapters together stay within a few seconds.
const RUNS = { arbitrary: 120, withSession: 80 };
const PASSWORD = "correct horse battery";

interface Target {
  server: LocalServer;
  manager: SessionManager;
  clock: TestClock;
  prefix: string;
  keeper: { id: number; username: string; token: string };
  probe: { username: string };
}

/** Anything a client can put in a request to the app, the session cookie of a real user excepted. */
const hostileRequest: fc.Arbitrary<TestRequest> = fc
  .record(
    {
      route: fc.constantFrom(
        "POST /login",
        "POST /register",
        "POST /logout",
        "GET /me",
        "GET /whoami",
        "POST /action",
        "PUT /action",
        "DELETE /action",
        "POST /forgot-password",
        "POST /reset-password",
        "GET /reset-password",
        "POST /form/reset-password",
        "POST /send-verification",
        "GET /verify-email",
        "POST /verify-email",
        "POST /change-email",
        "POST /confirm-email",
      ),
      query: fc.option(tokenLike, { nil: undefined }),
      cookie: fc.option(
        fc.oneof(
          headerValue,
          fc
            .tuple(
              fc.array(otherCookie, { maxLength: 3 }),
              fc.option(fc.oneof(tokenLike.filter(isHeaderSafe), headerValue), { nil: undefined }),
            )
            .map(([others, session]) => [...others, ...(session === undefined ? [] : [`session=${session}`])].join("; ")),
        ),
        { nil: undefined },
      ),
      origin: fc.option(fc.oneof(fc.constantFrom(SELF, "null", "https://evil.example", `${SELF}:8080`), headerValue, fc.webUrl()), {
        nil: undefined,
      }),
      referer: fc.option(fc.oneof(fc.webUrl(), headerValue), { nil: undefined }),
      fetchSite: fc.option(fc.constantFrom("cross-site", "same-site", "same-origin", "none"), { nil: undefined }),
      contentType: fc.option(
        fc.oneof(
          fc.constantFrom(
            "application/json",
            "application/json; charset=utf-8",
            "APPLICATION/JSON",
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=UTF-8",
            "text/plain",
            "multipart/form-data; boundary=x",
          ),
          headerValue,
        ),
        { nil: undefined },
      ),
      body: fc.oneof(
        fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
        fc.jsonValue().map((value) => JSON.stringify(value) ?? ""),
        fc
          .record(
            { username: fc.oneof(hostileString(), fc.jsonValue()), password: fc.oneof(hostileString(), fc.jsonValue()) },
            { requiredKeys: [] },
          )
          .map((value) => JSON.stringify(value)),
        fc.tuple(hostileString(), hostileString()).map(([username, password]) => new URLSearchParams({ username, password }).toString()),
        // The recovery handlers' fields, as JSON or as a form.
        fc
          .record(
            {
              identifier: fc.oneof(hostileString(), fc.jsonValue()),
              token: fc.oneof(tokenLike, fc.jsonValue()),
              password: fc.oneof(hostileString(), fc.jsonValue()),
              email: fc.oneof(hostileString(), fc.jsonValue()),
            },
            { requiredKeys: [] },
          )
          .map((value) => JSON.stringify(value)),
        fc
          .tuple(hostileString(), tokenLike, hostileString())
          .map(([identifier, token, password]) => new URLSearchParams({ identifier, token, password, email: identifier }).toString()),
        fc.string({ maxLength: 200 }),
      ),
    },
    { requiredKeys: ["route", "body"] },
  )
  .map(({ route, query, cookie, origin, referer, fetchSite, contentType, body }) => {
    const [method, bare] = route.split(" ") as [string, string];
    // A link's token in the query, on the routes a mailed link leads to.
    const linked = method === "GET" && query !== undefined && RECOVERY_ANSWERS[bare] !== undefined;
    const path = linked ? `${bare}?${new URLSearchParams({ token: query }).toString()}` : bare;
    const headers: Record<string, string> = {};
    if (cookie !== undefined) headers["cookie"] = cookie;
    if (origin !== undefined) headers["origin"] = origin;
    if (referer !== undefined) headers["referer"] = referer;
    if (fetchSite !== undefined) headers["sec-fetch-site"] = fetchSite;
    if (contentType !== undefined) headers["content-type"] = contentType;
    return { method, path, headers, body: method === "GET" ? undefined : body };
  });

/** Well-formed login and register requests carrying hostile usernames and passwords. */
const hostileCredentials: fc.Arbitrary<TestRequest> = fc
  .tuple(
    fc.constantFrom("/login", "/register"),
    fc.boolean(),
    hostileString(),
    fc.oneof(
      hostileString(),
      hostileString(20).map((p) => `${p}${PASSWORD}`),
    ),
  )
  .map(([path, json, username, password]) => ({
    method: "POST",
    path,
    headers: { "content-type": json ? "application/json" : "application/x-www-form-urlencoded" },
    body: json ? JSON.stringify({ username, password }) : new URLSearchParams({ username, password }).toString(),
  }));

/** Well-formed requests to the recovery routes, with hostile identifiers, tokens and passwords. */
const hostileRecovery: fc.Arbitrary<TestRequest> = fc
  .tuple(
    fc.constantFrom("/forgot-password", "/reset-password", "/form/reset-password", "/verify-email", "/confirm-email", "GET /verify-email"),
    fc.boolean(),
    hostileString(),
    tokenLike,
    fc.oneof(
      hostileString(),
      hostileString(20).map((p) => `${p}${PASSWORD}`),
    ),
  )
  .map(([route, json, identifier, token, password]) => {
    if (route.startsWith("GET ")) return { method: "GET", path: `${route.slice(4)}?${new URLSearchParams({ token }).toString()}` };
    const fields: Record<string, string> =
      route === "/forgot-password" ? { identifier } : route.endsWith("reset-password") ? { token, password } : { token };
    return {
      method: "POST",
      path: route,
      headers: { "content-type": json ? "application/json" : "application/x-www-form-urlencoded" },
      body: json ? JSON.stringify(fields) : new URLSearchParams(fields).toString(),
    };
  });

/** The probe user's own credentials now and then, right or wrong, so that the success path is exercised too. */
function probeLogin(probe: string): fc.Arbitrary<TestRequest> {
  return fc.constantFrom(PASSWORD, "wrong password").map((password) => ({
    method: "POST",
    path: "/login",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: probe, password }),
  }));
}

function errorOf(res: TestResponse): unknown {
  const body = jsonOf(res) as { error?: unknown } | undefined;
  return body?.error;
}

function isUserBody(body: unknown): body is { user: { id: number; username: string; createdAt: string } } {
  const user = (body as { user?: Record<string, unknown> } | undefined)?.user;
  return (
    user !== undefined &&
    Object.keys(user).sort().join() === "createdAt,email,emailVerified,id,username" &&
    Number.isSafeInteger(user["id"]) &&
    typeof user["username"] === "string" &&
    typeof user["createdAt"] === "string" &&
    (user["email"] === null || typeof user["email"] === "string") &&
    typeof user["emailVerified"] === "boolean"
  );
}

/**
 * Checks one answer against the documented outcomes of its route. Returns the session token the
 * answer started, if any, so that the caller can account for every session.
 */
function checkDocumented(req: TestRequest, res: TestResponse): { token: string; username: string } | null {
  const route = `${req.method} ${req.path}`;
  const fail = (why: string): never => {
    throw new Error(`${route} answered ${res.status} ${res.text.slice(0, 200)}: ${why}`);
  };
  if (res.status >= 500) fail("a server error");
  const error = errorOf(res);
  if (res.status === 403) {
    if (error !== "forbidden") fail("403 without the documented body");
    return null;
  }
  const set = cookieValuesSet(res);
  const [path] = req.path.split("?") as [string];
  const recovery = RECOVERY_ANSWERS[path]?.[req.method];
  if (recovery !== undefined) {
    const answer = res.status === 303 ? res.headers["location"] : (error ?? (jsonOf(res) as { status?: unknown } | undefined)?.status);
    if (!recovery[res.status]?.includes(answer)) fail("not a documented answer");
    // A recovery handler never signs anyone in; at most it clears the cookie on the request.
    if (set.some((value) => value !== "")) fail("set a session cookie");
    if (TOKEN_PATHS.has(path) && res.headers["referrer-policy"] !== "no-referrer") fail("no Referrer-Policy: no-referrer");
    return null;
  }
  switch (route) {
    case "POST /login":
    case "POST /register": {
      const success = route === "POST /login" ? 200 : 201;
      if (res.status === success) {
        const body = jsonOf(res);
        if (!isUserBody(body)) fail("success without the user");
        const token = set.at(-1);
        if (token === undefined || !/^[A-Za-z0-9_-]{32}$/.test(token)) fail("success without a session cookie");
        return { token: token!, username: (body as { user: { username: string } }).user.username };
      }
      const allowed: Record<number, string[]> =
        route === "POST /login"
          ? { 400: ["invalid_request"], 401: ["invalid_credentials"], 413: ["payload_too_large"], 429: ["too_many_attempts"] }
          : {
              400: ["invalid_request", "invalid_username", "invalid_password", "invalid_email"],
              409: ["username_taken", "email_taken"],
              413: ["payload_too_large"],
              // Past throttle.ipMaxRegistrations sign-ups from one address (every request comes from 127.0.0.1).
              429: ["too_many_attempts"],
            };
      if (!allowed[res.status]?.includes(error as string)) fail("not a documented answer");
      if (res.status === 429 && !/^\d+$/.test(String(res.headers["retry-after"]))) fail("429 without Retry-After");
      // A failure never hands out a session; at most it clears the one on the request.
      if (set.some((value) => value !== "")) fail("a failure set a session cookie");
      return null;
    }
    case "POST /logout":
      if (res.status !== 204) fail("logout did not answer 204");
      if (set.some((value) => value !== "")) fail("logout set a session cookie");
      return null;
    case "GET /me":
      if (res.status !== 401 || error !== "unauthorized") fail("no real session was sent, so 401 was due");
      return null;
    default:
      // /whoami and /action: anonymous, since no real session was sent.
      if (res.status !== 200 || (jsonOf(res) as { username?: unknown } | undefined)?.username !== null) fail("not anonymous");
      if (set.some((value) => value !== "")) fail("set a session cookie");
      return null;
  }
}

/**
 * What the recovery routes may answer, by path, method and status: the documented error codes,
 * the 202's `status`, or a redirect's `Location`. No request carries a live token or session, so
 * nothing can succeed past a 202, and a random token is refused before its password is looked at.
 */
const TOKEN_ANSWERS = { 400: ["invalid_request", "invalid_token"], 413: ["payload_too_large"] };
const RECOVERY_ANSWERS: Record<string, Record<string, Record<number, unknown[]>>> = {
  "/forgot-password": { POST: { 202: ["accepted"], 400: ["invalid_request"], 413: ["payload_too_large"], 429: ["too_many_attempts"] } },
  "/reset-password": { POST: TOKEN_ANSWERS, GET: { 405: ["method_not_allowed"] } },
  "/form/reset-password": {
    POST: { 303: ["invalid_request", "invalid_token", "payload_too_large"].map((code) => `/choose-password?error=${code}`) },
  },
  "/send-verification": { POST: { 401: ["unauthorized"] } },
  "/verify-email": { GET: { 400: ["invalid_token"] }, POST: TOKEN_ANSWERS },
  "/change-email": { POST: { 401: ["unauthorized"] } },
  "/confirm-email": { POST: TOKEN_ANSWERS },
};

/** The routes whose every answer carries `Referrer-Policy: no-referrer`: a token may be in their URL or body. */
const TOKEN_PATHS: ReadonlySet<string> = new Set([
  "/forgot-password",
  "/reset-password",
  "/form/reset-password",
  "/verify-email",
  "/confirm-email",
]);

/** The CSRF rule as documented, written independently of the library's code. */
function csrfAllows(headers: Record<string, string>): boolean {
  const origin = headers["origin"]?.trim();
  const referer = headers["referer"]?.trim();
  let source: string | undefined = origin;
  if (source === undefined && referer !== undefined) {
    try {
      const url = new URL(referer);
      source = url.protocol === "http:" || url.protocol === "https:" ? url.origin : "null";
    } catch {
      source = "null";
    }
  }
  const fetchSite = headers["sec-fetch-site"]?.trim();
  // An opaque origin (a page under Referrer-Policy: no-referrer) that the browser itself says is ours.
  if (source === "null" && fetchSite === "same-origin") return true;
  if (source !== undefined) return source === SELF;
  return fetchSite !== "cross-site";
}

describeWith(testDatabase("sqlite-memory"), "HTTP properties of every adapter", (fixture) => {
  async function countSessions(prefix: string): Promise<number> {
    const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(`${prefix}auth_sessions`)}`.execute(
      fixture.raw(),
    );
    return Number(rows[0]!.n);
  }

  for (const adapter of ADAPTERS) {
    describe(adapter, () => {
      let target: Target;

      beforeAll(async () => {
        const clock = new TestClock();
        const prefix = DatabaseFixture.prefix();
        const manager = fixture.manager({ tablePrefix: prefix, clock: clock.now });
        const server = await LocalServer.start(createApp(adapter, manager));
        const keeperName = uniqueName("keeper");
        const keeper = await manager.createUser(keeperName, PASSWORD);
        const token = (await manager.login(keeperName, PASSWORD))!;
        const probe = uniqueName("probe");
        await manager.createUser(probe, PASSWORD);
        target = { server, manager, clock, prefix, keeper: { id: keeper.id, username: keeperName, token }, probe: { username: probe } };
      });
      afterAll(() => target.server.close());

      it("answers arbitrary requests only as documented, and starts no session nobody asked for", async () => {
        const { server, manager, keeper, prefix } = target;
        const before = await countSessions(prefix);
        const started: Array<{ token: string; username: string }> = [];
        await fc.assert(
          fc.asyncProperty(
            fc.oneof(
              { weight: 6, arbitrary: hostileRequest },
              { weight: 3, arbitrary: hostileCredentials },
              { weight: 2, arbitrary: hostileRecovery },
              { weight: 1, arbitrary: probeLogin(target.probe.username) },
            ),
            async (req) => {
              const res = await server.send(req);
              const session = checkDocumented(req, res);
              if (session !== null) started.push(session);
            },
          ),
          { numRuns: RUNS.arbitrary },
        );
        // Every session that exists was asked for by a successful login or register, and works.
        expect(await countSessions(prefix)).toBe(before + started.length);
        for (const { token, username } of started) expect((await manager.validateSession(token))?.username).toBe(username);
        expect(await manager.validateSession(keeper.token)).toMatchObject({ id: keeper.id, username: keeper.username });
        const me = await server.send({ method: "GET", path: "/me", headers: { cookie: `session=${keeper.token}` } });
        expect(me.status).toBe(200);
        expect(jsonOf(me)).toMatchObject({ username: keeper.username });
      });

      it("gives a real session's request its own user or a 403, whatever surrounds the cookie", async () => {
        const { server, manager, keeper } = target;
        const request = fc.record(
          {
            route: fc.constantFrom("GET /me", "GET /whoami", "POST /action", "PUT /action", "PATCH /action", "DELETE /action"),
            before: fc.array(otherCookie, { maxLength: 3 }),
            after: fc.array(otherCookie, { maxLength: 3 }),
            origin: fc.option(
              fc.oneof(fc.constantFrom(SELF, ` ${SELF} `, "null", "https://evil.example", `${SELF}:8080`, "https://app.test"), headerValue),
              { nil: undefined },
            ),
            referer: fc.option(fc.oneof(fc.constantFrom(`${SELF}/page`, "https://evil.example/x"), fc.webUrl(), headerValue), {
              nil: undefined,
            }),
            fetchSite: fc.option(fc.constantFrom("cross-site", "same-site", "same-origin", "none"), { nil: undefined }),
          },
          { requiredKeys: ["route", "before", "after"] },
        );
        await fc.assert(
          fc.asyncProperty(request, async ({ route, before, after, origin, referer, fetchSite }) => {
            const [method, path] = route.split(" ") as [string, string];
            const headers: Record<string, string> = { cookie: [...before, `session=${keeper.token}`, ...after].join("; ") };
            if (origin !== undefined) headers["origin"] = origin;
            if (referer !== undefined) headers["referer"] = referer;
            if (fetchSite !== undefined) headers["sec-fetch-site"] = fetchSite;
            const res = await server.send({ method, path, headers, body: method === "GET" ? undefined : "" });
            const unsafe = method !== "GET";
            if (unsafe && !csrfAllows(headers)) {
              expect({ status: res.status, body: jsonOf(res) }).toEqual({ status: 403, body: { error: "forbidden" } });
            } else {
              expect({ status: res.status, username: (jsonOf(res) as { username?: unknown }).username }).toEqual({
                status: 200,
                username: keeper.username,
              });
            }
            // The cookie of a live session is never cleared.
            expect(cookieValuesSet(res)).not.toContain("");
          }),
          { numRuns: RUNS.withSession },
        );
        expect(await manager.validateSession(keeper.token)).toMatchObject({ id: keeper.id });
        expect(await manager.listSessions(keeper.id)).toHaveLength(1);
      });
    });
  }
});
