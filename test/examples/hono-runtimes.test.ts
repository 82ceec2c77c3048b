import { join } from "node:path";
import { SessionManager } from "session-manager";
import { startExample, type ExampleRuntime, type RunningExample } from "../browser/example";

const PASSWORD = "correct horse battery staple";

// examples/hono as `npm run example:hono`, `example:hono:bun` and `example:hono:deno` start it:
// the JSON API through a sign-up, the session and its recorded address, and the sign-out, on
// each runtime's server and SQLite driver; then Node.js opens the database file the example
// wrote and signs the same user in, so the file is one format under every driver.
describe.each<ExampleRuntime>(["node", "bun", "deno"])("examples/hono on %s", (runtime) => {
  let example: RunningExample;

  beforeAll(async () => {
    example = await startExample({ TOTP_SECRET_KEY: "ab".repeat(32) }, "hono", runtime);
  });

  afterAll(async () => {
    await example?.stop();
  });

  it("signs up, sees the session with the client's address, signs out; Node.js then reads its sessions.db", async () => {
    const username = `smoke_${runtime}`;
    const registered = await fetch(`${example.baseUrl}/api/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password: PASSWORD }),
    });
    expect(registered.status).toBe(201);
    const cookie = registered.headers.getSetCookie()[0]!.split(";")[0]!;
    const me = await fetch(`${example.baseUrl}/api/me`, { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { user: { username: string } }).user.username).toBe(username);
    const sessions = (await (await fetch(`${example.baseUrl}/api/sessions`, { headers: { cookie } })).json()) as {
      sessions: Array<{ ip: string | null; current: boolean }>;
    };
    expect(sessions.sessions).toEqual([expect.objectContaining({ current: true, ip: expect.stringMatching(/^(::ffff:)?127\.0\.0\.1$/) })]);
    expect((await fetch(`${example.baseUrl}/api/logout`, { method: "POST", headers: { cookie } })).status).toBe(204);
    expect((await fetch(`${example.baseUrl}/api/me`, { headers: { cookie } })).status).toBe(401);

    const reader = new SessionManager({ database: `sqlite:${join(example.cwd, "sessions.db")}`, autoMigrate: false });
    try {
      expect(reader.driver).toBe("better-sqlite3");
      expect((await reader.authenticateUser(username, PASSWORD))?.username).toBe(username);
    } finally {
      await reader.close();
    }
  });
});
