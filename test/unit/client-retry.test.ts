// Which failures the example client (examples/client/resumable.ts) subscribes again after.
import { NetworkError } from "graphql-sse";
import { expect, it } from "vitest";
import { isRetryableNetworkError } from "../../examples/client/resumable.ts";

const response = (status: number) => new Response(null, { status });

it("retries a dropped connection, whether graphql-sse wraps it or passes fetch's TypeError on as it is", () => {
  expect(isRetryableNetworkError(new NetworkError("connection closed"))).toBe(true);
  expect(isRetryableNetworkError(new TypeError("terminated"))).toBe(true);
  expect(isRetryableNetworkError(new TypeError("fetch failed"))).toBe(true);
  expect(isRetryableNetworkError(new NetworkError(response(503)))).toBe(true);
  expect(isRetryableNetworkError(new NetworkError(response(429)))).toBe(true);
});

it("does not retry a refusal, nor an error that is not the network's", () => {
  expect(isRetryableNetworkError(new NetworkError(response(401)))).toBe(false);
  expect(isRetryableNetworkError(new NetworkError(response(403)))).toBe(false);
  expect(isRetryableNetworkError(new Error("a bug"))).toBe(false);
  expect(isRetryableNetworkError(undefined)).toBe(false);
});
