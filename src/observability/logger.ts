/** Structured fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/**
 * What schedkit logs through. Bind your own (pino, bunyan, console) by
 * implementing these five methods. Fields never hold `undefined`: schedkit
 * drops those before they reach you (a job without a tenant has no `tenantId`
 * field, not `tenantId: undefined`). Every method must not throw; schedkit
 * guards the calls it cannot afford to lose, but a throwing logger may still
 * cost a log line.
 */
export interface Logger {
  /**
   * Detail for tracing one run or one instance: lock waits, claims, syncs.
   * `fields` are structured facts (`job`, `tenantId`, `runId`, `err`, ...).
   */
  debug(message: string, fields?: LogFields): void;
  /**
   * Normal events worth keeping: started, stopped, missed slots, definition
   * changes. `fields` as for `debug`.
   */
  info(message: string, fields?: LogFields): void;
  /**
   * Something went wrong and schedkit recovered or will retry: a backend
   * outage, a stalled run, a run put back, a clock skew. `fields` as for
   * `debug`, with `err` holding the error when there is one.
   */
  warn(message: string, fields?: LogFields): void;
  /**
   * A failure that needs attention: a run that failed, an outcome that could
   * not be recorded, a job that stopped scheduling. `err` holds the error.
   */
  error(message: string, fields?: LogFields): void;
  /**
   * A logger that adds `fields` to every line it writes. Called once per
   * scheduler (`component`, `instanceId`) and once per run (`job`,
   * `tenantId` when the job has one, `runId`, `attempt`), which becomes the
   * run's `ctx.logger`.
   */
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

/** `fields` without its `undefined` values: the same object when it has none (no allocation). */
export function definedFields(fields: LogFields): LogFields {
  for (const key in fields) {
    if (fields[key] === undefined) return copyDefined(fields);
  }
  return fields;
}

function copyDefined(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const key in fields) {
    // defineProperty: a field called "__proto__" stays a field.
    if (fields[key] !== undefined) Object.defineProperty(out, key, { value: fields[key], enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * `logger`, with `undefined` fields dropped from every line and every child,
 * so no `Logger` implementation has to. Applied where schedkit receives the
 * user's logger; wrapping twice returns the same wrapper.
 */
export function withoutUndefinedFields(logger: Logger): Logger {
  if (logger instanceof DefinedFieldsLogger || logger instanceof NoopLogger) return logger;
  return new DefinedFieldsLogger(logger);
}

class DefinedFieldsLogger implements Logger {
  constructor(private readonly inner: Logger) {}

  debug(message: string, fields?: LogFields): void {
    if (fields === undefined) this.inner.debug(message);
    else this.inner.debug(message, definedFields(fields));
  }
  info(message: string, fields?: LogFields): void {
    if (fields === undefined) this.inner.info(message);
    else this.inner.info(message, definedFields(fields));
  }
  warn(message: string, fields?: LogFields): void {
    if (fields === undefined) this.inner.warn(message);
    else this.inner.warn(message, definedFields(fields));
  }
  error(message: string, fields?: LogFields): void {
    if (fields === undefined) this.inner.error(message);
    else this.inner.error(message, definedFields(fields));
  }
  child(fields: LogFields): Logger {
    return new DefinedFieldsLogger(this.inner.child(definedFields(fields)));
  }
}
