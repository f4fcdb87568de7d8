/** Structured fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/**
 * What schedkit logs through. Bind your own (pino, bunyan, console) by
 * implementing these five methods; `child` must return a logger that adds
 * `fields` to every line.
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/** Drops everything. */
export class NoopLogger implements Logger {
  debug(): void {}
  info(): void {}
  warn(): void {}
  error(): void {}
  child(): Logger {
    return this;
  }
}
