import { once } from 'node:events';
import { types } from 'node:util';
import winston from 'winston';
import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';
import { messages, show } from '../errors/messages.js';
import type { LogFields, Logger } from './logger.js';

/** Options of `createWinstonLogger`. */
export interface WinstonLoggerOptions {
  /** Lowest level written: `error`, `warn`, `info`, `http`, `verbose`, `debug` or `silly`. @default 'info' */
  level?: string;
  /**
   * `json`: one JSON object per line. `pretty`: one colourised, readable line
   * per entry (time, level, message, key=value fields). `auto`: pretty when
   * the output stream is a TTY, JSON otherwise.
   * @default 'auto'
   */
  format?: 'json' | 'pretty' | 'auto';
  /** Where lines go. @default process.stdout */
  stream?: NodeJS.WritableStream;
  /** Fields added to every line. */
  fields?: LogFields;
}

/** The JSON shape an `Error` field is logged as. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string | number;
  stack?: string;
  /** The cause's message (an Error cause) or a short rendering of it. */
  cause?: string;
}

// Shared by a root logger and all its children, so a flush closes them all.
interface SharedState {
  closed: boolean;
  flushing: Promise<void> | undefined;
  /** The stream the transport writes to, drained by `flush`. */
  destination?: NodeJS.WritableStream;
  /** Set once `flush` has finished: later lines are written at once. */
  flushed?: boolean;
  /** Renders an entry as the transport would: used for lines logged after `flush`. */
  render?: (entry: Record<string, unknown>) => string;
}

// Keys the entry itself uses; a field with one of these names is kept under
// `meta.<name>` instead of silently replacing (or being replaced by) the entry's own.
const RESERVED = new Set(['level', 'message', 'timestamp']);

type Level = 'debug' | 'info' | 'warn' | 'error';

/**
 * The default `Logger`, on winston. Fields are merged by this class, not by
 * winston's `defaultMeta` (which a child's fields could not override), so
 * precedence is: call fields > child fields > parent fields. Top-level `Error`
 * values in fields are serialised to `{ name, message, code?, stack, cause? }`.
 *
 * `flush()` ends the winston logger and waits until every transport has
 * written every line. Lines logged afterwards (the last words of a shutdown:
 * "hook stopped logger", "exiting with code 0") are written straight to the
 * output stream in the same format; for a winston logger you built yourself
 * they are dropped silently.
 *
 * Build it with `createWinstonLogger`, or wrap your own winston logger with `new WinstonLogger(logger, fields)`.
 */
export class WinstonLogger implements Logger {
  /** The underlying winston logger, for advanced use (extra transports, levels). Shared by children. */
  readonly winston: winston.Logger;
  private readonly fields: LogFields;
  private readonly state: SharedState;

  /**
   * Wraps a winston logger you built yourself (your transports and format);
   * `createWinstonLogger` builds the default one. `state` is internal: children
   * share their parent's.
   */
  constructor(logger: winston.Logger, fields: LogFields, state?: SharedState) {
    this.winston = logger;
    this.fields = fields;
    this.state = state ?? { closed: false, flushing: undefined };
  }

  debug(message: string, fields?: LogFields): void {
    this.write('debug', message, fields);
  }

  info(message: string, fields?: LogFields): void {
    this.write('info', message, fields);
  }

  warn(message: string, fields?: LogFields): void {
    this.write('warn', message, fields);
  }

  error(message: string, fields?: LogFields): void {
    this.write('error', message, fields);
  }

  /** A logger that adds `fields` to every line; they override this logger's fields of the same name. */
  child(fields: LogFields): WinstonLogger {
    return new WinstonLogger(this.winston, { ...this.fields, ...fields }, this.state);
  }

  /**
   * Ends the logger and resolves when every transport has finished and the
   * output stream has accepted every line (winston loses lines on
   * `process.exit()` or `close()` without this). Idempotent: later calls
   * return the same promise. Never rejects; an output stream that never
   * drains (a pipe nobody reads) keeps it pending, so bound it with a
   * timeout where that matters (the lifecycle's stop hooks have one).
   */
  flush(): Promise<void> {
    this.state.flushing ??= endAndWait(this.winston, this.state);
    return this.state.flushing;
  }

  private write(level: Level, message: string, fields: LogFields | undefined): void {
    // Checked before building anything: disabled levels cost no allocation.
    if (!this.winston.isLevelEnabled(level)) return;
    const { state } = this;
    if (state.closed && (state.render === undefined || state.flushing === undefined)) return;
    const entry: Record<string, unknown> = { timestamp: new Date().toISOString(), level, message };
    addFields(entry, this.fields);
    if (fields !== undefined) addFields(entry, fields);
    if (!state.closed) {
      this.winston.log(entry as winston.LogEntry);
      return;
    }
    // After a flush: winston is ended, write the line ourselves, in order
    // behind the flushed ones — synchronously once the flush is done, so a
    // last line before process.exit() is not lost.
    if (state.flushed === true) writeDirect(state, entry);
    else void state.flushing!.then(() => writeDirect(state, entry));
  }
}

/**
 * Builds the default logger.
 *
 * @example
 * const logger = createWinstonLogger({ level: 'debug', fields: { service: 'billing' } });
 * logger.child({ job: 'report' }).info('started', { attempt: 1 });
 * await logger.flush(); // before exiting
 */
export function createWinstonLogger(options: WinstonLoggerOptions = {}): WinstonLogger {
  const level = options.level ?? 'info';
  const levels = Object.keys(winston.config.npm.levels);
  if (!levels.includes(level)) {
    throw new SchedkitError(ErrorCode.InvalidArgument, messages.invalidLogLevel(level, levels), { details: { level } });
  }
  const stream = options.stream ?? process.stdout;
  const mode = options.format ?? 'auto';
  const pretty = mode === 'pretty' || (mode === 'auto' && (stream as { isTTY?: boolean }).isTTY === true);
  const render = pretty ? prettyLine : jsonLine;
  const logger = winston.createLogger({
    level,
    levels: winston.config.npm.levels,
    format: winston.format.printf(render),
    transports: [new winston.transports.Stream({ stream })],
    exitOnError: false,
  });
  // A failing output stream (EPIPE on a closed stdout pipe, ...) is emitted as
  // 'error' on the logger; unhandled, that would crash the process. Logging
  // is best effort, so the error is dropped.
  logger.on('error', () => {});
  return new WinstonLogger(logger, options.fields === undefined ? {} : serializeFields(options.fields), {
    closed: false,
    flushing: undefined,
    destination: stream,
    render,
  });
}

function writeDirect(state: SharedState, entry: Record<string, unknown>): void {
  const stream = state.destination as (NodeJS.WritableStream & { writableEnded?: boolean; destroyed?: boolean }) | undefined;
  if (stream === undefined || state.render === undefined || stream.writableEnded === true || stream.destroyed === true) return;
  try {
    stream.write(`${state.render(entry)}\n`);
  } catch {
    // Best effort, like every log line.
  }
}

function jsonLine(info: Record<string, unknown>): string {
  try {
    return JSON.stringify(info, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
  } catch {
    return JSON.stringify({ timestamp: info.timestamp, level: info.level, message: info.message, fields: '[unserialisable]' });
  }
}

/** `err` as a plain object for JSON logs. */
export function serializeError(error: Error): SerializedError {
  const out: SerializedError = { name: error.name, message: error.message };
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') out.code = code;
  if (error.stack !== undefined) out.stack = error.stack;
  if ('cause' in error && error.cause !== undefined) {
    const cause: unknown = error.cause;
    out.cause = isError(cause) ? cause.message : show(cause);
  }
  return out;
}

function isError(value: unknown): value is Error {
  return value instanceof Error || types.isNativeError(value);
}

function addFields(entry: Record<string, unknown>, fields: LogFields): void {
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    // Undefined fields (a job without a tenant) say nothing: leave them out.
    if (value === undefined) continue;
    entry[RESERVED.has(key) ? `meta.${key}` : key] = isError(value) ? serializeError(value) : value;
  }
}

function serializeFields(fields: LogFields): LogFields {
  const out: LogFields = {};
  addFields(out, fields);
  return out;
}

async function endAndWait(logger: winston.Logger, state: SharedState): Promise<void> {
  state.closed = true;
  const done = Promise.all(
    logger.transports.map((transport) =>
      (transport as unknown as { writableFinished?: boolean }).writableFinished === true
        ? undefined
        : // A transport that errors instead of finishing must not make flush reject.
          once(transport, 'finish').catch(() => undefined),
    ),
  );
  logger.end();
  await done;
  // The Stream transport finishes as soon as it has handed every line to the
  // destination, which may still be writing (a file, a slow pipe): wait for
  // its write callbacks too, which run in order after every earlier write.
  if (state.destination !== undefined) await drained(state.destination);
  state.flushed = true;
}

function drained(stream: NodeJS.WritableStream): Promise<void> {
  const writable = stream as NodeJS.WritableStream & {
    writableEnded?: boolean;
    destroyed?: boolean;
    writableObjectMode?: boolean;
  };
  if (writable.writableEnded === true || writable.destroyed === true || writable.writableObjectMode === true) {
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => {
    try {
      // An empty write adds nothing to the output; its callback (called with
      // an error too, if the stream fails) marks the point every line passed.
      writable.write('', () => resolve());
    } catch {
      resolve();
    }
  });
}

// ANSI colours: red, yellow, green, blue; dim for field names.
const LEVEL_COLOURS: Record<string, string> = { error: '31', warn: '33', info: '32', debug: '34' };
const SAFE_BARE = /^[^\s"=\\]+$/;

function prettyLine(info: Record<string, unknown>): string {
  const level = String(info.level);
  const colour = LEVEL_COLOURS[level] ?? '35';
  let line = `\u001b[90m${timeOfDay(info.timestamp)}\u001b[39m \u001b[${colour}m${level.padEnd(5)}\u001b[39m ${String(info.message)}`;
  for (const key of Object.keys(info)) {
    if (key === 'level' || key === 'message' || key === 'timestamp') continue;
    line += ` \u001b[2m${key}=\u001b[22m${prettyValue(info[key])}`;
  }
  return line;
}

function timeOfDay(timestamp: unknown): string {
  const date = typeof timestamp === 'string' ? new Date(timestamp) : new Date();
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

function prettyValue(value: unknown): string {
  if (typeof value === 'string') return SAFE_BARE.test(value) ? value : JSON.stringify(value);
  if (value === null || typeof value !== 'object') return String(value);
  if (value instanceof Date) return value.toISOString();
  if (isSerializedError(value)) {
    // One line per entry: the stack stays out of the readable format.
    const code = value.code === undefined ? '' : ` [${value.code}]`;
    const cause = value.cause === undefined ? '' : ` (cause: ${value.cause})`;
    return JSON.stringify(`${value.name}: ${value.message}${code}${cause}`);
  }
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(value);
  } catch {
    return '[unserialisable]';
  }
}

function isSerializedError(value: object): value is SerializedError {
  const v = value as Partial<SerializedError>;
  return typeof v.name === 'string' && typeof v.message === 'string' && ('stack' in v || 'code' in v);
}
