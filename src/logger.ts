import { type Logger, pino } from "pino";
import { requestContext } from "./request-context.ts";

export type { Logger };

/** The one logger: JSON lines on stdout. Tokens and request bodies are never logged. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: "kubesub" },
    mixin: () => requestContext.getStore() ?? {},
    redact: { paths: ["req.headers.authorization", "headers.authorization", "token"], censor: "[redacted]" },
  });
}
