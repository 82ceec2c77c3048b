// Serves a fetch handler with the runtime's own HTTP server, as apps on that runtime do:
// Bun.serve on Bun, Deno.serve on Deno (Node.js has none: its tests go through node:http).

/** The runtime the tests run on. */
export type Runtime = "node" | "bun" | "deno";

export const RUNTIME: Runtime = typeof process.versions["bun"] === "string" ? "bun" : "Deno" in globalThis ? "deno" : "node";

export type FetchHandler = (request: Request, env: unknown) => Response | Promise<Response>;

interface BunServer {
  readonly port: number;
  stop(closeActiveConnections?: boolean): Promise<void>;
}

interface BunGlobal {
  serve(options: {
    hostname: string;
    port: number;
    fetch: (request: Request, server: BunServer) => Response | Promise<Response>;
  }): BunServer;
}

interface DenoServer {
  readonly addr: { port: number };
  shutdown(): Promise<void>;
}

interface DenoGlobal {
  serve(
    options: { hostname: string; port: number; onListen?: () => void },
    handler: (request: Request, info: unknown) => Response | Promise<Response>,
  ): DenoServer;
}

const running: Array<() => Promise<void>> = [];

/**
 * Starts the runtime's server on 127.0.0.1 with a free port and returns its base URL. The
 * handler gets what the server passes besides the request (Bun's server, Deno's connection
 * info) as `env`, the way Hono's `app.fetch` takes it, so that Hono's `getConnInfo` of that
 * runtime works. `stopRuntimeServers()` stops every server started.
 */
export function serveOnRuntime(handler: FetchHandler): string {
  if (RUNTIME === "bun") {
    const bun = (globalThis as unknown as { Bun: BunGlobal }).Bun;
    const server = bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request, bunServer) => handler(request, bunServer) });
    running.push(() => server.stop(true));
    return `http://127.0.0.1:${server.port}`;
  }
  if (RUNTIME === "deno") {
    const deno = (globalThis as unknown as { Deno: DenoGlobal }).Deno;
    const server = deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request, info) => handler(request, info));
    running.push(() => server.shutdown());
    return `http://127.0.0.1:${server.addr.port}`;
  }
  throw new Error("serveOnRuntime: Node.js has no server of its own for fetch handlers; use node:http");
}

export async function stopRuntimeServers(): Promise<void> {
  await Promise.all(running.splice(0).map((stop) => stop()));
}
