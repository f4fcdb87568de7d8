import { PassThrough, Writable } from 'node:stream';
import winston from 'winston';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode, SchedkitError, TimeoutError } from '../../../src/errors/schedkit-error.js';
import { createWinstonLogger, serializeError, WinstonLogger } from '../../../src/observability/winston-logger.js';

/** A non-TTY output that collects everything written to it. */
function output(tty = false): { stream: PassThrough; text: () => string; lines: () => string[]; json: () => Record<string, unknown>[] } {
  const stream = new PassThrough();
  if (tty) Object.assign(stream, { isTTY: true });
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const lines = (): string[] => text.split('\n').filter((l) => l !== '');
  return { stream, text: () => text, lines, json: () => lines().map((l) => JSON.parse(l) as Record<string, unknown>) };
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[\d+m/;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('createWinstonLogger: JSON output', () => {
  it('writes one JSON object per line on a non-TTY stream (auto format)', async () => {
    const out = output();
    const logger = createWinstonLogger({ stream: out.stream });
    logger.info('hello', { a: 1, s: 'two words' });
    logger.warn('careful');
    await logger.flush();
    expect(out.text()).not.toMatch(ANSI);
    const [first, second] = out.json();
    expect(first).toEqual({ timestamp: expect.any(String), level: 'info', message: 'hello', a: 1, s: 'two words' });
    expect(Number.isNaN(Date.parse(first!.timestamp as string))).toBe(false);
    expect(second).toMatchObject({ level: 'warn', message: 'careful' });
    expect(out.lines()).toHaveLength(2);
  });

  it('filters by level (info by default) and accepts a lower one', async () => {
    const out = output();
    const logger = createWinstonLogger({ stream: out.stream });
    logger.debug('hidden');
    logger.error('shown');
    await logger.flush();
    expect(out.json().map((l) => l.message)).toEqual(['shown']);

    const out2 = output();
    const verbose = createWinstonLogger({ stream: out2.stream, level: 'debug' });
    verbose.debug('now shown');
    await verbose.flush();
    expect(out2.json().map((l) => l.message)).toEqual(['now shown']);
  });

  it('rejects an unknown level with E_INVALID_ARGUMENT', () => {
    expect(() => createWinstonLogger({ level: 'loud', stream: new PassThrough() })).toThrowError(
      expect.objectContaining({ code: ErrorCode.InvalidArgument, message: expect.stringContaining('"loud"') }),
    );
  });

  it('keeps the entry level and message when fields use those names', async () => {
    const out = output();
    const logger = createWinstonLogger({ stream: out.stream });
    logger.info('the message', { message: 'a field', level: 'a field level' });
    await logger.flush();
    expect(out.json()[0]).toMatchObject({
      level: 'info',
      message: 'the message',
      'meta.message': 'a field',
      'meta.level': 'a field level',
    });
  });

  it('wraps a winston logger built by the application', async () => {
    const out = output();
    const own = winston.createLogger({ format: winston.format.json(), transports: [new winston.transports.Stream({ stream: out.stream })] });
    const logger = new WinstonLogger(own, { app: 'mine' });
    logger.child({ job: 'x' }).info('hi', { err: new Error('e') });
    await logger.flush();
    expect(out.json()[0]).toMatchObject({ app: 'mine', job: 'x', message: 'hi', err: { name: 'Error', message: 'e' } });
  });

  it('exposes the underlying winston logger', () => {
    const logger = createWinstonLogger({ stream: new PassThrough() });
    expect(logger).toBeInstanceOf(WinstonLogger);
    expect(logger.winston.transports).toHaveLength(1);
    expect(logger.child({ a: 1 }).winston).toBe(logger.winston);
  });
});

describe('createWinstonLogger: pretty output', () => {
  it('writes colourised key=value lines when the stream is a TTY (auto format)', async () => {
    const out = output(true);
    const logger = createWinstonLogger({ stream: out.stream });
    logger.info('job started', { job: 'report', attempt: 2, note: 'two words', err: new Error('bad') });
    await logger.flush();
    const lines = out.lines();
    expect(lines).toHaveLength(1);
    const plain = lines[0]!.replace(/\u001b\[\d+m/g, '');
    expect(lines[0]).toMatch(ANSI);
    expect(plain).toMatch(/^\d{2}:\d{2}:\d{2}\.\d{3} info {2}job started /);
    expect(plain).toContain('job=report');
    expect(plain).toContain('attempt=2');
    expect(plain).toContain('note="two words"');
    expect(plain).toContain('err="Error: bad"');
  });

  it('uses JSON on a TTY when asked, and pretty on a pipe when asked', async () => {
    const tty = output(true);
    const jsonLogger = createWinstonLogger({ stream: tty.stream, format: 'json' });
    jsonLogger.info('x');
    await jsonLogger.flush();
    expect(JSON.parse(tty.lines()[0]!)).toMatchObject({ message: 'x' });

    const pipe = output();
    const prettyLogger = createWinstonLogger({ stream: pipe.stream, format: 'pretty' });
    prettyLogger.info('y', { k: 'v' });
    await prettyLogger.flush();
    expect(pipe.lines()[0]).toMatch(ANSI);
    expect(pipe.lines()[0]!.replace(/\u001b\[\d+m/g, '')).toContain('y k=v');
  });
});

describe('WinstonLogger.child', () => {
  it('merges nested children; child fields override the parent, call fields override both', async () => {
    const out = output();
    const root = createWinstonLogger({ stream: out.stream, fields: { service: 'billing', component: 'root' } });
    const child = root.child({ component: 'runner', job: 'a' });
    const grandchild = child.child({ job: 'b', attempt: 1 });
    grandchild.info('g', { attempt: 3 });
    child.info('c');
    root.info('r');
    await root.flush();
    const [g, c, r] = out.json();
    expect(g).toMatchObject({ service: 'billing', component: 'runner', job: 'b', attempt: 3 });
    expect(c).toMatchObject({ service: 'billing', component: 'runner', job: 'a' });
    expect(c).not.toHaveProperty('attempt');
    expect(r).toMatchObject({ service: 'billing', component: 'root' });
    expect(r).not.toHaveProperty('job');
  });
});

describe('error serialisation', () => {
  it('serialises top-level Error fields to name, message, code, stack and the cause message', async () => {
    const out = output();
    const logger = createWinstonLogger({ stream: out.stream });
    const err = new SchedkitError(ErrorCode.HandlerError, 'handler threw', { cause: new Error('root cause') });
    const timeout = new TimeoutError('timed out after 5 ms');
    const system = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    logger.error('failed', { err, other: timeout, system, plain: 'text' });
    await logger.flush();
    const [line] = out.json();
    expect(line!.err).toEqual({
      name: 'SchedkitError',
      message: 'handler threw',
      code: 'E_HANDLER',
      stack: expect.stringContaining('handler threw'),
      cause: 'root cause',
    });
    expect(line!.other).toMatchObject({ name: 'TimeoutError', code: 'E_TIMEOUT', message: 'timed out after 5 ms' });
    expect(line!.other).not.toHaveProperty('cause');
    expect(line!.system).toMatchObject({ name: 'Error', code: 'ECONNREFUSED' });
    expect(line!.plain).toBe('text');
  });

  it('renders a non-Error cause briefly', () => {
    const err = new SchedkitError(ErrorCode.HandlerError, 'wrapped', { cause: 'boom' });
    expect(serializeError(err).cause).toBe('"boom"');
    expect(serializeError(new Error('x', { cause: { big: 'x'.repeat(500) } })).cause).toBe('an object');
  });

  it('serialises errors in the logger-wide fields and in child fields', async () => {
    const out = output();
    const logger = createWinstonLogger({ stream: out.stream, fields: { boot: new Error('at boot') } });
    logger.child({ ctx: new RangeError('in child') }).warn('w');
    await logger.flush();
    expect(out.json()[0]).toMatchObject({
      boot: { name: 'Error', message: 'at boot' },
      ctx: { name: 'RangeError', message: 'in child' },
    });
  });
});

describe('WinstonLogger.flush', () => {
  it('resolves only after every line has been written to a slow destination', async () => {
    // Each write completes a macrotask later, like a file or a busy pipe.
    const written: string[] = [];
    const slow = new Writable({
      write(chunk: Buffer, _encoding, callback): void {
        setImmediate(() => {
          written.push(chunk.toString('utf8'));
          callback();
        });
      },
    });
    const logger = createWinstonLogger({ stream: slow });
    for (let i = 0; i < 500; i++) logger.info('line', { i });
    expect(written.length).toBeLessThan(500);
    await logger.flush();
    const lines = written.join('').split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(500);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ i: 499 });
  });

  it('resolves after every line on a PassThrough', async () => {
    const out = output();
    const logger = createWinstonLogger({ stream: out.stream });
    for (let i = 0; i < 2_000; i++) logger.info('line', { i });
    await logger.flush();
    const lines = out.json();
    expect(lines).toHaveLength(2_000);
    expect(lines.at(-1)).toMatchObject({ i: 1_999 });
  });

  it('is idempotent, and writes later lines straight to the stream, after the flushed ones', async () => {
    const consoleError = vi.spyOn(console, 'error');
    const stderrWrite = vi.spyOn(process.stderr, 'write');
    const out = output();
    const logger = createWinstonLogger({ stream: out.stream });
    const child = logger.child({ job: 'x' });
    const errors: unknown[] = [];
    logger.winston.on('error', (e) => errors.push(e));
    logger.info('before');

    const first = child.flush();
    expect(logger.flush()).toBe(first);
    await first;
    await expect(logger.flush()).resolves.toBeUndefined();

    expect(() => {
      logger.info('after');
      logger.error('after', { err: new Error('x') });
      child.warn('after');
      child.child({ more: 1 }).debug('after');
    }).not.toThrow();
    await new Promise((resolve) => setImmediate(resolve));

    // debug is below the level; the rest arrive in order, after 'before'.
    expect(out.json().map((l) => [l.message, l.job ?? null])).toEqual([
      ['before', null],
      ['after', null],
      ['after', null],
      ['after', 'x'],
    ]);
    expect(consoleError).not.toHaveBeenCalled();
    expect(stderrWrite).not.toHaveBeenCalled();
    expect(errors).toEqual([]);
  });
});
