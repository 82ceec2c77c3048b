import { once } from "node:events";
import { Agent, createServer, request, type IncomingHttpHeaders, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { SessionManager, SessionMiddlewareOptions } from "session-manager";
import { APPS, type AdapterName } from "../http/apps.js";
import { HOST } from "../setup/http.js";

export { type AdapterName } from "../http/apps.js";
export const ADAPTERS: readonly AdapterName[] = ["express", "koa", "hono"];

/** The shared HTTP suite's app on `adapter`: the handlers, a guarded `/me`, `/whoami`, `/action`, and a 500 error handler. */
export function createApp(
  adapter: AdapterName,
  manager: SessionManager,
  options: Omit<SessionMiddlewareOptions, "manager"> = {},
): RequestListener {
  return APPS[adapter]({ manager, options, trustProxy: false, frameworkBodyParser: false });
}

/** A listening server on a free local port, reached through one keep-alive agent. */
export class LocalServer {
  readonly server: Server;
  readonly agent = new Agent({ keepAlive: true, maxSockets: 16 });
  #port = 0;

  private constructor(server: Server) {
    this.server = server;
  }

  static async start(listener: RequestListener, options: { maxHeaderSize?: number } = {}): Promise<LocalServer> {
    const server = createServer(options, listener);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const local = new LocalServer(server);
    local.#port = (server.address() as AddressInfo).port;
    return local;
  }

  get port(): number {
    return this.#port;
  }

  /** Sends one request; rejects if no complete answer comes within `timeoutMs` (a hang). */
  send(req: TestRequest, timeoutMs = 10_000): Promise<TestResponse> {
    return new Promise((resolve, reject) => {
      const outgoing = request({
        host: "127.0.0.1",
        port: this.#port,
        method: req.method,
        path: req.path,
        agent: this.agent,
        // Node.js sends a DELETE body without framing unless told its length.
        headers: {
          host: HOST,
          ...(req.body === undefined ? {} : { "content-length": String(Buffer.byteLength(req.body)) }),
          ...req.headers,
        },
        timeout: timeoutMs,
      });
      outgoing.on("timeout", () => {
        outgoing.destroy();
        reject(new Error(`no answer to ${req.method} ${req.path} within ${timeoutMs} ms`));
      });
      outgoing.on("error", reject);
      outgoing.on("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      });
      outgoing.end(req.body);
    });
  }

  async close(): Promise<void> {
    this.agent.destroy();
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, "close");
  }
}

export interface TestRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

export interface TestResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** The response body as JSON, or undefined when it is not JSON. */
export function jsonOf(res: TestResponse): unknown {
  try {
    return JSON.parse(res.text) as unknown;
  } catch {
    return undefined;
  }
}
