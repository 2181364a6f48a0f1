import type { IncomingMessage } from "node:http";

/** What the request's body turned out to be. */
export type BodyRead = { kind: "read"; body: Buffer } | { kind: "too-large" } | { kind: "aborted" };

/**
 * Reads a request's whole body, however it is framed (content-length or chunked), and stops as soon
 * as it passes maxBytes: a limit on content-length alone lets a chunked body of any size through.
 */
export function readBody(request: IncomingMessage, maxBytes: number): Promise<BodyRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (read: BodyRead) => {
      request.off("data", onData);
      request.off("end", onEnd);
      request.off("error", onAbort);
      request.off("aborted", onAbort);
      resolve(read);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        request.pause();
        finish({ kind: "too-large" });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish({ kind: "read", body: Buffer.concat(chunks, size) });
    const onAbort = () => finish({ kind: "aborted" });
    request.on("data", onData);
    request.on("end", onEnd);
    request.on("error", onAbort);
    request.on("aborted", onAbort);
  });
}

/** Whether the request says it carries a body. */
export function hasBody(request: IncomingMessage): boolean {
  return request.headers["transfer-encoding"] !== undefined || Number(request.headers["content-length"] ?? 0) > 0;
}
