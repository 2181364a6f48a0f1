import { Readable } from "node:stream";
import type { ExecutionResult, GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";
import { takeDirectChannel } from "./use-shared-execution.ts";

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
  /** Applied to every error of a result the direct path executes (yoga masks the others). */
  maskError: (error: unknown) => Error;
}

const headers = { "Content-Type": "text/event-stream", Connection: "keep-alive", "Cache-Control": "no-cache", "Content-Encoding": "none" };

/**
 * GraphQL over SSE (distinct connections mode) for kubesub's own streams, cheaper per event than
 * yoga's processor, which is what matters with thousands of subscribers:
 * - events are taken synchronously from the subscriber's queue (SubscriberQueue.attach) and
 *   executed with the shared executor (use-shared-execution.ts): no promise per event;
 * - each event is one chunk, whose bytes are shared by every subscriber that receives the same
 *   result, instead of two chunks serialised per subscriber;
 * - the body is a Node stream, which the server adapter pipes straight into the response, instead
 *   of a WHATWG ReadableStream pumped chunk by chunk through promises.
 * Any other result (a stream that is not kubesub's, a single result) is left to yoga's processor.
 * A client that reads too slowly stops the flow (backpressure) and its queue overflows, which ends
 * its stream with OVERFLOW; a client that disconnects ends the subscription.
 */
export function useSharedSse(options: SseOptions): Plugin {
  const pingIntervalMs = options.pingIntervalMs ?? 12_000;
  const masked = (result: ExecutionResult): ExecutionResult =>
    result.errors ? { ...result, errors: result.errors.map((error) => options.maskError(error) as GraphQLError) } : result;

  return {
    onResultProcess({ request, result, setResultProcessor }) {
      if (!(typeof result === "object" && result !== null && Symbol.asyncIterator in result)) return;
      if (!(request.headers.get("accept") ?? "").includes("text/event-stream")) return;
      const direct = takeDirectChannel(request);
      if (!direct) return;
      // yoga's iterator over the same queue is never read, nor kept: ending the queue ends the stream.
      setResultProcessor((_result, fetchAPI) => {
        // read() is called when the socket wants more: backpressure from a slow client.
        const body = new Readable({ read: () => direct.source.resume() });
        const timer = setInterval(() => body.push(ping), pingIntervalMs);
        timer.unref();
        let open = true;
        body.once("close", () => {
          open = false;
          clearInterval(timer);
          void direct.source.return();
        });
        body.push(ping);
        direct.source.attach({
          deliver(event) {
            if (!open) return false;
            const result = direct.execute(event);
            if (!(result instanceof Promise)) return body.push(frameOf(masked(result)));
            // Resolvers are synchronous today; an asynchronous one keeps the order by pausing.
            result.then(
              (settled) => {
                if (open && body.push(frameOf(masked(settled)))) direct.source.resume();
              },
              (error: unknown) => body.destroy(error as Error),
            );
            return false;
          },
          end() {
            clearInterval(timer);
            body.push(complete);
            body.push(null);
          },
        });
        return new fetchAPI.Response(body as unknown as BodyInit, { status: 200, headers });
      }, "text/event-stream");
    },
  };
}
