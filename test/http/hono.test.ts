import { Hono } from "hono";
import * as adapter from "session-manager/hono";
import { FAST_PASSWORDS, uniqueName } from "../setup/databases.js";
import { RUNTIME, serveOnRuntime, stopRuntimeServers } from "../setup/runtime-server.js";
import { SessionManager } from "session-manager";
import { createHonoApp, createHonoFetch } from "./apps.js";
import { runSharedSuite } from "./shared-suite.js";

// On Node.js through @hono/node-server; on Bun and Deno through Bun.serve and Deno.serve.
if (RUNTIME === "node") {
  runSharedSuite({ name: "hono", createApp: createHonoApp, hasBodyParser: false, handlers: adapter });
} else {
  afterAll(() => stopRuntimeServers());
  const server = RUNTIME === "bun" ? "Bun.serve" : "Deno.serve";
  runSharedSuite({
    name: `hono on ${server}`,
    createApp: (setup) => serveOnRuntime(createHonoFetch(setup)),
    hasBodyParser: false,
    handlers: adapter,
  });

  describe(`hono on ${server}: the client address`, () => {
    it(`is by default what hono/${RUNTIME}'s getConnInfo reports`, async () => {
      const { getConnInfo } = (await import(`hono/${RUNTIME}`)) as { getConnInfo: (c: unknown) => { remote: { address?: string } } };
      const manager = new SessionManager({ database: "sqlite::memory:", password: FAST_PASSWORDS });
      try {
        const app = new Hono<{ Variables: adapter.SessionVariables }>();
        app.use(adapter.sessionMiddleware({ manager }));
        app.post("/register", adapter.registerHandler());
        app.get("/peer", (c) => c.json({ address: getConnInfo(c).remote.address ?? null }));
        const base = serveOnRuntime((request, env) => app.fetch(request, env));
        const registered = await fetch(`${base}/register`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username: uniqueName(), password: "correct horse battery" }),
        });
        expect(registered.status).toBe(201);
        const { user } = (await registered.json()) as { user: { id: number } };
        const { address } = (await (await fetch(`${base}/peer`)).json()) as { address: string | null };
        expect(address).toMatch(/^(127\.0\.0\.1|::ffff:127\.0\.0\.1)$/);
        expect((await manager.listSessions(user.id)).map((session) => session.ip)).toEqual([address]);
      } finally {
        await manager.close();
      }
    });
  });
}
