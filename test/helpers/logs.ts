import { pino } from "pino";

export interface LogRecord {
  level: number;
  msg: string;
  err?: { type?: string; message?: string; statusCode?: number };
  retryInMs?: number;
  [field: string]: unknown;
}

/** A real pino logger whose JSON lines are kept in memory. */
export function captureLogger(): { logger: pino.Logger; records: LogRecord[]; problems: () => LogRecord[] } {
  const records: LogRecord[] = [];
  const logger = pino({ level: "trace" }, { write: (line: string) => records.push(JSON.parse(line) as LogRecord) });
  // pino: warn is 40, error 50.
  return { logger, records, problems: () => records.filter((r) => r.level >= 40) };
}
