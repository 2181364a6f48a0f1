import { Readable } from "node:stream";
import type { ExecutionResult } from "graphql";
import type { Plugin } from "graphql-yoga";

const encoder = new TextEncoder();
const frames = new WeakMap<object, Uint8Array>();
const ping = encoder.encode(":\n\n");
const complete = encoder.encode("event: complete\ndata:\n\n");

/** One result as one SSE frame, encoded once per result object, whoever it is sent to. */
function frameOf(result: ExecutionResult): Uint8Array {
  let frame = frames.get(result);
  if (!frame) {
    const { extensions, ...rest } = result as ExecutionResult & { extensions?: Record<string, unknown> };
    const visible = extensions && Object.keys(extensions).some((k) => !k.startsWith("http")) ? { ...rest, extensions } : rest;
    frame = encoder.encode(`event: next\ndata: ${JSON.stringify(visible)}\n\n`);
    frames.set(result, frame);
  }
  return frame;
}

export interface SseOptions {
  /** A comment line keeps proxies from closing an idle stream. Default 12 s, as yoga's. */
  pingIntervalMs?: number;
}

/**
 * GraphQL over SSE (distinct connections mode) for subscriptions, as yoga's own processor but
 * cheaper per event, which is what matters with thousands of subscribers:
 * - each event is one chunk, whose bytes are shared by every subscriber that receives the same
 *   result (see use-shared-execution.ts), instead of two chunks serialised per subscriber;
 * - the body is a Node stream, which the server adapter pipes straight into the response, instead
 *   of a WHATWG ReadableStream pumped chunk by chunk through promises.
 * A client that reads too slowly stops this loop (backpressure) and its queue overflows, which
 * ends its stream with OVERFLOW; a client that disconnects ends the iterator with return().
 */
export function useSharedSse(options: SseOptions = {}): Plugin {
  const pingIntervalMs = options.pingIntervalMs ?? 12_000;
  return {
    onResultProcess({ request, result, setResultProcessor }) {
      if (!(typeof result === "object" && result !== null && Symbol.asyncIterator in result)) return;
      if (!(request.headers.get("accept") ?? "").includes("text/event-stream")) return;
      setResultProcessor((value, fetchAPI) => {
        const iterator = (value as AsyncIterable<ExecutionResult>)[Symbol.asyncIterator]();
        // The server adapter pipes this straight into the response; read() is called when the
        // socket wants more, which is how backpressure from a slow client reaches the loop below.
        let wanted: (() => void) | undefined;
        const body = new Readable({
          read() {
            const resume = wanted;
            wanted = undefined;
            resume?.();
          },
        });
        const timer = setInterval(() => body.push(ping), pingIntervalMs);
        timer.unref();
        let open = true;
        body.once("close", () => {
          open = false;
          clearInterval(timer);
          wanted?.();
          void iterator.return?.();
        });
        body.push(ping);
        const forward = async () => {
          while (open) {
            const next = await iterator.next();
            if (!open) return;
            if (next.done) {
              clearInterval(timer);
              body.push(complete);
              body.push(null);
              return;
            }
            if (next.value != null && !body.push(frameOf(next.value))) {
              await new Promise<void>((resolve) => {
                wanted = resolve;
              });
            }
          }
        };
        forward().catch((error: unknown) => body.destroy(error as Error));
        return new fetchAPI.Response(body as unknown as BodyInit, {
          status: 200,
          headers: {
            "Content-Type": "text/event-stream",
            Connection: "keep-alive",
            "Cache-Control": "no-cache",
            "Content-Encoding": "none",
          },
        });
      }, "text/event-stream");
    },
  };
}
