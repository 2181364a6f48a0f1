import { AsyncLocalStorage } from "node:async_hooks";

/**
 * The request being served, for every log line it causes: the HTTP layer enters it (server/
 * http-edge.ts) and the logger's mixin adds its fields (logger.ts). Lines caused later by an open
 * stream's events carry the request id through the stream's own child logger instead.
 */
export const requestContext = new AsyncLocalStorage<{ requestId: string }>();
