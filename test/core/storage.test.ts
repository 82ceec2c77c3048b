import { readFileSync, readdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { SessionManager } from "session-manager";
import { FAST_PASSWORDS, uniqueName } from "../setup/databases";

describe("what the SQLite file holds", () => {
  const dir = mkdtempSync(join(tmpdir(), "sm-storage-"));
  const path = join(dir, "sessions.db");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("holds no token and no password, only their digests, and runs in WAL mode", async () => {
    const sm = new SessionManager({ database: `sqlite:${path}`, password: FAST_PASSWORDS });
    const password = "a password nobody should read";
    const name = uniqueName();
    await sm.createUser(name, password);
    const tokens: string[] = [];
    for (let i = 0; i < 5; i++) tokens.push((await sm.login(name, password))!);
    await sm.close();

    // Every byte of the database and its WAL/SHM files, as a thief with a copy would see them.
    const bytes = readdirSync(dir)
      .map((file) => readFileSync(join(dir, file)))
      .reduce((all, chunk) => Buffer.concat([all, chunk]), Buffer.alloc(0));
    expect(bytes.length).toBeGreaterThan(0);
    for (const token of tokens) {
      expect(bytes.includes(Buffer.from(token))).toBe(false);
      expect(bytes.includes(Buffer.from(token.slice(0, 16)))).toBe(false);
    }
    expect(bytes.includes(Buffer.from(password))).toBe(false);
    expect(bytes.includes(Buffer.from("$argon2id$"))).toBe(true);

    const db = new BetterSqlite3(path, { readonly: true });
    try {
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
      const rows = db.prepare("select token_hash from auth_sessions").all() as Array<{ token_hash: string }>;
      expect(rows).toHaveLength(5);
      for (const row of rows) expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      db.close();
    }
    // The stored digest cannot be used as a token.
    const again = new SessionManager({ database: `sqlite:${path}`, password: FAST_PASSWORDS });
    try {
      const reader = new BetterSqlite3(path, { readonly: true });
      const stolen = reader.prepare("select token_hash from auth_sessions").all() as Array<{ token_hash: string }>;
      reader.close();
      for (const { token_hash } of stolen) {
        expect(await again.validateSession(token_hash)).toBeNull();
        expect(await again.validateSession(Buffer.from(token_hash, "hex").toString("base64url"))).toBeNull();
      }
      for (const token of tokens) expect(await again.validateSession(token)).not.toBeNull();
    } finally {
      await again.close();
    }
  });
});
