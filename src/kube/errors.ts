/**
 * An error from the Kubernetes API or from a list-watch source, classified by HTTP status.
 * statusCode is undefined for transport failures (connection refused, reset, timeout).
 */
export class KubeApiError extends Error {
  readonly statusCode: number | undefined;
  readonly reason: string | undefined;

  constructor(message: string, options: { statusCode?: number; reason?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "KubeApiError";
    this.statusCode = options.statusCode;
    this.reason = options.reason;
  }
}

/** The watch (or list continuation) asked for a resourceVersion the server no longer has. */
export function isGone(error: unknown): boolean {
  return error instanceof KubeApiError && error.statusCode === 410;
}

/** 401, 403 and 404: retrying will not help until someone changes the cluster or kubesub's identity. */
export function isPermanent(error: unknown): boolean {
  return error instanceof KubeApiError && [401, 403, 404].includes(error.statusCode ?? 0);
}

/** Raised by the reflector when a watch delivered nothing for longer than its inactivity timeout. */
export class WatchInactiveError extends KubeApiError {
  constructor(timeoutMs: number) {
    super(`watch was silent for ${timeoutMs} ms`);
    this.name = "WatchInactiveError";
  }
}
