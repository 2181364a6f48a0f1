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
 * GraphQL over SSE (distinct connections mode) for subscriptions, as yoga's own processor but
 * cheaper per event, which is what matters with thousands of subscribers:
 * - each event is one chunk, whose bytes are shared by every subscriber that receives the same
 *   result (see use-shared-execution.ts), instead of two chunks serialised per subscriber;
 * - the body is a Node stream, which the server adapter pipes straight into the response, instead
 *   of a WHATWG ReadableStream pumped chunk by chunk through promises;
 * - for kubesub's own streams, events are taken synchronously from the subscriber's queue
 *   (SubscriberQueue.attach), executed with the shared executor and written, with no promise per
 *   event; any other stream is read through its iterator.
 * A client that reads too slowly stops the flow (backpressure) and its queue overflows, which ends
 * its stream with OVERFLOW; a client that disconnects ends the subscription with return().
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
      setResultProcessor((value, fetchAPI) => {
        // On the direct path the iterator is never read, nor kept: ending the queue ends the stream.
        const iterator = direct ? undefined : (value as AsyncIterable<ExecutionResult>)[Symbol.asyncIterator]();
        // The server adapter pipes this straight into the response; read() is called when the
        // socket wants more, which is how backpressure from a slow client reaches the source.
        let wanted: (() => void) | undefined;
        const body = new Readable({
          read() {
            if (direct) {
              direct.source.resume();
              return;
            }
            const resume = wanted;
            wanted = undefined;
            resume?.();
          },
        });
        const timer = setInterval(() => body.push(ping), pingIntervalMs);
        timer.unref();
        let open = true;
        const finish = () => {
          clearInterval(timer);
          body.push(complete);
          body.push(null);
        };
        body.once("close", () => {
          open = false;
          clearInterval(timer);
          wanted?.();
          if (direct) void direct.source.return();
          else void iterator?.return?.();
        });
        body.push(ping);

        if (direct) {
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
            end: finish,
          });
        } else {
          const forward = async () => {
            while (open && iterator) {
              const next = await iterator.next();
              if (!open) return;
              if (next.done) return finish();
              if (next.value != null && !body.push(frameOf(next.value))) {
                await new Promise<void>((resolve) => {
                  wanted = resolve;
                });
              }
            }
          };
          forward().catch((error: unknown) => body.destroy(error as Error));
        }
        return new fetchAPI.Response(body as unknown as BodyInit, { status: 200, headers });
      }, "text/event-stream");
    },
  };
}
