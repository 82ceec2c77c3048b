import { createRequire } from "node:module";
import { DatabaseTimeoutError } from "session-manager";
import { DatabaseFixture, describeWith, testDatabase, uniqueName } from "../setup/databases";

// On a server the validation read is a prepared statement the server keeps per connection, so
// that it is parsed and planned once rather than on every request. Each test runs its manager on
// a pool of one connection, so every lookup meets the statement that connection already holds.
const require = createRequire(__filename);
const CHECKS = 5;

/** The manager's URL with one more query-string setting. */
function withSetting(url: string, name: string, value: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set(name, value);
  return parsed.toString();
}

async function signedIn(fixture: DatabaseFixture, poolSetting: string) {
  const sm = fixture.manager({ database: withSetting(fixture.url, poolSetting, "1"), tablePrefix: DatabaseFixture.prefix() });
  const user = await sm.createUser(uniqueName(), "password123");
  const token = await sm.createSession(user.id);
  return { sm, user, token };
}

describeWith(testDatabase("postgres"), "the validation read as a named prepared statement", (fixture) => {
  const { Connection } = require("pg") as { Connection: { prototype: { parse(query: { name?: string; text: string }): void } } };

  it(`parses the lookup once on a connection and runs it ${CHECKS} times`, async () => {
    const { sm, user, token } = await signedIn(fixture, "max");
    const parse = jest.spyOn(Connection.prototype, "parse");
    try {
      for (let i = 0; i < CHECKS; i++) expect(await sm.checkSession(token)).toMatchObject({ user });
      const lookups = parse.mock.calls.filter(([query]) => query.text.includes("token_hash"));
      expect(lookups).toHaveLength(1);
      expect(lookups[0]![0].name).toMatch(/^session_manager_\d+$/);
    } finally {
      parse.mockRestore();
    }
  });

  it("still refuses a revoked session at once, and answers the same as before", async () => {
    const { sm, user, token } = await signedIn(fixture, "max");
    const other = await sm.createSession(user.id);
    expect(await sm.checkSession(other)).toMatchObject({ user, session: { userId: user.id, renewed: false } });
    await sm.revokeSession(other);
    expect(await sm.checkSession(other)).toBeNull();
    expect(await sm.checkSession(token)).toMatchObject({ user });
  });

  it("keeps the query timeout on the prepared read", async () => {
    const sm = fixture.manager({
      database: withSetting(withSetting(fixture.url, "max", "1"), "query_timeout", "200"),
      tablePrefix: DatabaseFixture.prefix(),
    });
    const user = await sm.createUser(uniqueName(), "password123");
    const token = await sm.createSession(user.id);
    await sm.checkSession(token);
    const { Client } = require("pg") as { Client: { prototype: { query(config: { text: string }): unknown } } };
    const original = Client.prototype.query;
    // The server sleeps before answering the lookup; only the client's timer can end the wait.
    const query = jest.spyOn(Client.prototype, "query").mockImplementation(function (this: unknown, ...args: unknown[]) {
      const config = args[0] as { text?: string };
      if (typeof config === "object" && config.text?.includes("token_hash")) {
        (args[0] as { text: string }).text = `select pg_sleep(1), * from (${config.text}) as lookup`;
        delete (args[0] as { name?: string }).name;
      }
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    });
    try {
      await expect(sm.checkSession(token)).rejects.toBeInstanceOf(DatabaseTimeoutError);
    } finally {
      query.mockRestore();
    }
    // The timed-out connection left the pool; the next read gets a new one.
    expect(await sm.checkSession(token)).toMatchObject({ user });
  });
});

describeWith(testDatabase("mysql"), "the validation read as a prepared statement", (fixture) => {
  interface Packet {
    buffer: Buffer;
    start: number;
  }
  const { Connection } = require("mysql2") as { Connection: { prototype: { writePacket(packet: Packet): void } } };
  // The command byte after the 4-byte packet header (MySQL client/server protocol).
  const COMMANDS: Record<number, string> = { 0x03: "query", 0x16: "prepare", 0x17: "execute" };

  it(`prepares the lookup once on a connection and executes it ${CHECKS} times`, async () => {
    const { sm, user, token } = await signedIn(fixture, "connectionLimit");
    await sm.checkSession(token);
    const written = jest.spyOn(Connection.prototype, "writePacket");
    try {
      for (let i = 0; i < CHECKS; i++) expect(await sm.checkSession(token)).toMatchObject({ user });
      const sent = written.mock.calls.map(([packet]) => COMMANDS[packet.buffer[packet.start + 4]!] ?? "other");
      expect(sent).toEqual(Array.from({ length: CHECKS }, () => "execute"));
    } finally {
      written.mockRestore();
    }
  });

  it("still refuses a revoked session at once, and answers the same as before", async () => {
    const { sm, user, token } = await signedIn(fixture, "connectionLimit");
    const other = await sm.createSession(user.id);
    expect(await sm.checkSession(other)).toMatchObject({ user, session: { userId: user.id, renewed: false } });
    await sm.revokeSession(other);
    expect(await sm.checkSession(other)).toBeNull();
    expect(await sm.checkSession(token)).toMatchObject({ user });
  });
});
