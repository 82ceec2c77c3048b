import { startExample, type ExampleFramework, type RunningExample } from "./example";

// The example apps' TRUST_PROXY: login throttling counts by the address the proxy appended to
// X-Forwarded-For when told a proxy stands in front, and by the connection's address otherwise.
// (No browser here: the file sits beside the harness that starts the examples.)
async function login(example: RunningExample, username: string, forwardedFor: string): Promise<number> {
  const res = await fetch(`${example.baseUrl}/api/login`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": forwardedFor },
    body: JSON.stringify({ username, password: "not the password" }),
  });
  return res.status;
}

/** Fails on 10 usernames from `client` (the default ipMaxUsernames), then tries an eleventh from it and one from `other`. */
async function spray(example: RunningExample, client: string, other: string): Promise<{ eleventh: number; other: number }> {
  for (let i = 0; i < 10; i++) expect(await login(example, `ghost-${i}`, client)).toBe(401);
  return { eleventh: await login(example, "ghost-10", client), other: await login(example, "ghost-11", other) };
}

describe.each<ExampleFramework>(["express", "koa", "hono"])("%s example: TRUST_PROXY", (framework) => {
  it("counts each forwarded client apart behind one trusted proxy", async () => {
    const example = await startExample({ TRUST_PROXY: "1" }, framework);
    try {
      // The client may write entries of its own left of the one the proxy appended.
      expect(await spray(example, "6.6.6.6, 203.0.113.5", "203.0.113.5, 198.51.100.7")).toEqual({ eleventh: 429, other: 401 });
    } finally {
      await example.stop();
    }
  });

  it("counts by the connection's address without it, whatever X-Forwarded-For claims", async () => {
    const example = await startExample({}, framework);
    try {
      expect(await spray(example, "203.0.113.5", "198.51.100.7")).toEqual({ eleventh: 429, other: 429 });
    } finally {
      await example.stop();
    }
  });
});
