import type { Readable } from "node:stream";

/**
 * Reads a Node.js request stream up to `limit` bytes; null past it. Past the limit the rest is
 * drained, not destroyed, so that the client still receives the 413.
 */
export function readNodeBody(stream: Readable, limit: number): Promise<Uint8Array | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    function onData(chunk: Buffer): void {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      cleanup();
      stream.resume();
      resolve(null);
    }
    function onEnd(): void {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    }
    function onError(error: Error): void {
      cleanup();
      reject(error);
    }
    function cleanup(): void {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onError);
    }
    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("error", onError);
  });
}

/** Reads a web `ReadableStream` body up to `limit` bytes; null past it. */
export async function readWebBody(body: ReadableStream<Uint8Array> | null, limit: number): Promise<Uint8Array | null> {
  if (body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const source = body.getReader();
  for (;;) {
    const { done, value } = await source.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await source.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}
