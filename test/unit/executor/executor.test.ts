import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeClock, settle } from '../../../src/clock/fake-clock.js';
import { sleep } from '../../../src/clock/clock.js';
import { show } from '../../../src/errors/messages.js';
import { ErrorCode, LockLostError, SchedkitError, ShutdownError, TimeoutError } from '../../../src/errors/schedkit-error.js';
import { DefaultJobExecutor } from '../../../src/executor/default-job-executor.js';
import type { ExecutionRequest, ExecutionResult } from '../../../src/executor/job-executor.js';
import type { JobHandler, RunContext } from '../../../src/job/job-definition.js';
import type { LogFields, Logger } from '../../../src/observability/logger.js';
import { InMemoryMetrics } from '../../../src/observability/in-memory-metrics.js';

type Entry = { level: 'debug' | 'info' | 'warn' | 'error'; message: string; fields: LogFields | undefined };

class RecordingLogger implements Logger {
  readonly entries: Entry[] = [];
  debug(message: string, fields?: LogFields): void {
    this.entries.push({ level: 'debug', message, fields });
  }
  info(message: string, fields?: LogFields): void {
    this.entries.push({ level: 'info', message, fields });
  }
  warn(message: string, fields?: LogFields): void {
    this.entries.push({ level: 'warn', message, fields });
  }
  error(message: string, fields?: LogFields): void {
    this.entries.push({ level: 'error', message, fields });
  }
  child(): Logger {
    return this;
  }
}

const START = Date.parse('2026-03-01T12:00:00.000Z');
const JOB = 'acme/report'; // InMemoryMetrics' label of name 'report' in tenant 'acme'

// Every test in this file asserts that nothing escaped as an unhandled
// rejection or an uncaught exception.
const escaped: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  escaped.push(reason);
};
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
});

let clock: FakeClock;
let metrics: InMemoryMetrics;
let runLogger: RecordingLogger;
let baseLogger: RecordingLogger;
let executor: DefaultJobExecutor;

beforeEach(() => {
  escaped.length = 0;
  clock = new FakeClock(START);
  metrics = new InMemoryMetrics();
  runLogger = new RecordingLogger();
  baseLogger = new RecordingLogger();
  executor = new DefaultJobExecutor({ clock, logger: baseLogger, metrics });
});

afterEach(async () => {
  // Give any stray rejection the turns Node needs to report it.
  await settle(5);
  expect(escaped).toEqual([]);
});

function context(overrides: Partial<Omit<RunContext<unknown>, 'signal'>> = {}): Omit<RunContext<unknown>, 'signal'> {
  return {
    name: 'report',
    tenantId: 'acme',
    runId: '01900000-0000-7000-8000-000000000001',
    id: 'slot-1',
    scheduledAt: new Date(START),
    attempt: 1,
    params: { x: 1 },
    fencingToken: 7,
    logger: runLogger,
    ...overrides,
  };
}

function request(handler: (ctx: RunContext<unknown>) => unknown, extra: Partial<ExecutionRequest> = {}): ExecutionRequest {
  return { handler: handler as JobHandler<never>, context: context(), timeoutMs: 1_000, ...extra };
}

/** Starts `execute` and exposes its result once it resolves, without awaiting it. */
function start(req: ExecutionRequest): { promise: Promise<ExecutionResult>; result: () => ExecutionResult | undefined } {
  let result: ExecutionResult | undefined;
  const promise = executor.execute(req);
  void promise.then((r) => (result = r));
  return { promise, result: () => result };
}

/** A handler whose promise the test settles by hand. */
function deferredHandler(): {
  handler: (ctx: RunContext<unknown>) => Promise<void>;
  resolve: () => void;
  reject: (reason: unknown) => void;
  ctx: () => RunContext<unknown> | undefined;
} {
  let resolve!: () => void;
  let reject!: (reason: unknown) => void;
  let seen: RunContext<unknown> | undefined;
  const handler = (ctx: RunContext<unknown>): Promise<void> => {
    seen = ctx;
    return new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
  };
  return { handler, resolve: () => resolve(), reject: (r) => reject(r), ctx: () => seen };
}

function isPending(promise: Promise<unknown>): () => boolean {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  return () => !done;
}

describe('DefaultJobExecutor: success', () => {
  it('passes the context plus a signal, and reports success with clock times', async () => {
    let seen: RunContext<unknown> | undefined;
    const ctx = context();
    const result = await executor.execute({
      handler: ((c: RunContext<unknown>) => {
        seen = c;
      }) as JobHandler<never>,
      context: ctx,
      timeoutMs: 1_000,
    });
    expect(seen).toMatchObject({ name: 'report', tenantId: 'acme', id: 'slot-1', attempt: 1, params: { x: 1 }, fencingToken: 7 });
    expect(seen?.logger).toBe(runLogger);
    expect(seen?.signal).toBeInstanceOf(AbortSignal);
    expect(seen?.signal.aborted).toBe(false);
    expect(seen).not.toBe(ctx); // a copy: the caller's object is not mutated
    expect('signal' in ctx).toBe(false);
    expect(result).toMatchObject({ outcome: 'success', error: null, startedAt: START, finishedAt: START, abandoned: false });
    await expect(result.settled).resolves.toBeUndefined();
    expect(clock.pendingTimers).toBe(0);
    expect(metrics.count('runStarted', JOB)).toBe(1);
    expect(metrics.count('runCompleted', JOB)).toBe(1);
    expect(metrics.count('runFailed')).toBe(0);
    expect(runLogger.entries).toEqual([]);
  });

  it('measures an async handler with the clock and records its duration', async () => {
    const run = start(request(async (ctx) => sleep(clock, 250, ctx.signal)));
    await clock.advance(249);
    expect(run.result()).toBeUndefined();
    await clock.advance(1);
    expect(run.result()).toMatchObject({ outcome: 'success', startedAt: START, finishedAt: START + 250, abandoned: false });
    expect(metrics.durations.values()).toEqual([250]);
    expect(clock.pendingTimers).toBe(0); // the timeout timer was cleared
  });

  it.each([
    ['a number', 42],
    ['a string', 'done'],
    ['null', null],
    ['undefined', undefined],
    ['a plain object', { rows: 3 }],
    ['a function', () => 1],
  ])('treats a non-promise return value (%s) as success', async (_label, value) => {
    const result = await executor.execute(request(() => value));
    expect(result.outcome).toBe('success');
    expect(result.error).toBeNull();
    expect(metrics.count('runCompleted', JOB)).toBe(1);
  });

  it('adopts a thenable that resolves later', async () => {
    const thenable = {
      then(onFulfilled: (v: unknown) => void): void {
        clock.setTimeout(() => onFulfilled('ok'), 100);
      },
    };
    const run = start(request(() => thenable));
    await clock.advance(99);
    expect(run.result()).toBeUndefined();
    await clock.advance(1);
    expect(run.result()).toMatchObject({ outcome: 'success', finishedAt: START + 100 });
  });

  it('keeps the timeout from firing after the handler has settled, and ignores a later external abort', async () => {
    const external = new AbortController();
    const result = await executor.execute(request(() => 'x', { signal: external.signal }));
    expect(result.outcome).toBe('success');
    external.abort(new LockLostError('lost after the run'));
    await clock.advance(5_000);
    expect(metrics.count('runFailed')).toBe(0);
    expect(metrics.count('runTimedOut')).toBe(0);
    expect(runLogger.entries).toEqual([]);
  });

  it('shares one external signal across many concurrent runs without a listener-leak warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w);
    };
    process.on('warning', onWarning);
    try {
      const shared = new AbortController();
      const handlers = Array.from({ length: 50 }, () => deferredHandler());
      const runs = handlers.map((d) => executor.execute(request(d.handler, { signal: shared.signal })));
      await settle();
      shared.abort(new ShutdownError());
      const results = await Promise.all(runs);
      expect(results.every((r) => r.outcome === 'interrupted')).toBe(true);
      for (const d of handlers) d.resolve();
      await settle();
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('clears its timer and listener on every run (no leak over many runs)', async () => {
    const external = new AbortController();
    const runs = [];
    for (let i = 0; i < 2_000; i++) runs.push(executor.execute(request(() => i, { signal: external.signal })));
    const results = await Promise.all(runs);
    expect(results.every((r) => r.outcome === 'success')).toBe(true);
    expect(clock.pendingTimers).toBe(0);
    expect(metrics.count('runStarted')).toBe(2_000);
    expect(metrics.count('runCompleted')).toBe(2_000);
  });
});

describe('DefaultJobExecutor: failures', () => {
  it('catches a synchronous throw and keeps the Error as is', async () => {
    const boom = new RangeError('boom');
    const result = await executor.execute(
      request(() => {
        throw boom;
      }),
    );
    expect(result).toMatchObject({ outcome: 'failed', abandoned: false, startedAt: START, finishedAt: START });
    expect(result.error).toBe(boom);
    expect(clock.pendingTimers).toBe(0);
    expect(metrics.count('runFailed', JOB)).toBe(1);
    expect(metrics.count('runCompleted')).toBe(0);
    expect(runLogger.entries).toEqual([
      { level: 'error', message: 'run failed', fields: { err: boom, outcome: 'failed', durationMs: 0 } },
    ]);
  });

  it('catches an async rejection after some time', async () => {
    const boom = new Error('later');
    const run = start(
      request(async (ctx) => {
        await sleep(clock, 300, ctx.signal);
        throw boom;
      }),
    );
    await clock.advance(300);
    expect(run.result()).toMatchObject({ outcome: 'failed', finishedAt: START + 300, abandoned: false });
    expect(run.result()?.error).toBe(boom);
    expect(runLogger.entries[0]?.fields).toEqual({ err: boom, outcome: 'failed', durationMs: 300 });
  });

  const nonErrors: Array<[string, unknown]> = [
    ['a string', 'boom'],
    ['undefined', undefined],
    ['null', null],
    ['an object', { code: 42 }],
    ['a number', 7],
  ];

  it.each(nonErrors)('wraps a thrown non-Error (%s) with the original as cause', async (_label, value) => {
    const result = await executor.execute(
      request(() => {
        throw value;
      }),
    );
    expect(result.outcome).toBe('failed');
    expect(result.error).toBeInstanceOf(SchedkitError);
    expect(SchedkitError.is(result.error, ErrorCode.HandlerError)).toBe(true);
    expect(result.error?.cause).toBe(value);
    expect(result.error?.message).toBe(`job "acme/report" handler threw a non-Error value: ${show(value)}`);
    expect(metrics.count('runFailed', JOB)).toBe(1);
  });

  it.each(nonErrors)('wraps a rejected non-Error (%s) with the original as cause', async (_label, value) => {
    const result = await executor.execute(request(() => Promise.reject(value)));
    expect(result.outcome).toBe('failed');
    expect(SchedkitError.is(result.error, ErrorCode.HandlerError)).toBe(true);
    expect(result.error?.cause).toBe(value);
  });

  it('survives a thrown value that cannot even be inspected (a revoked Proxy)', async () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const result = await executor.execute(request(() => Promise.reject(proxy)));
    expect(result.outcome).toBe('failed');
    expect(SchedkitError.is(result.error, ErrorCode.HandlerError)).toBe(true);
    expect(result.error?.message).toBe('job "acme/report" handler threw a value that cannot be inspected');
  });

  it('names a job without a tenant in the wrapped error', async () => {
    const result = await executor.execute({
      ...request(() => Promise.reject('x')),
      context: context({ tenantId: undefined, name: 'solo' }),
    });
    expect(result.error?.message).toBe('job "solo" handler threw a non-Error value: "x"');
    expect(metrics.count('runFailed', 'solo')).toBe(1);
  });

  it('handles a thenable that rejects with a non-Error, and one whose then() throws', async () => {
    const rejecting = { then: (_ok: unknown, fail: (e: unknown) => void) => fail('nope') };
    const r1 = await executor.execute(request(() => rejecting));
    expect(r1.outcome).toBe('failed');
    expect(r1.error?.cause).toBe('nope');

    const thenError = new Error('then exploded');
    const throwing = {
      then(): void {
        throw thenError;
      },
    };
    const r2 = await executor.execute(request(() => throwing));
    expect(r2.outcome).toBe('failed');
    expect(r2.error).toBe(thenError);

    const getterError = new Error('getter exploded');
    const trap = {
      get then(): never {
        throw getterError;
      },
    };
    const r3 = await executor.execute(request(() => trap));
    expect(r3.outcome).toBe('failed');
    expect(r3.error).toBe(getterError);
  });

  it('still resolves when the run logger throws, and reports through the executor logger instead', async () => {
    const throwingLogger: Logger = {
      debug: () => {},
      info: () => {},
      warn: () => {},
      error: () => {
        throw new Error('logger down');
      },
      child: () => throwingLogger,
    };
    const boom = new Error('boom');
    const result = await executor.execute({
      ...request(() => Promise.reject(boom)),
      context: context({ logger: throwingLogger }),
    });
    expect(result.error).toBe(boom);
    expect(baseLogger.entries).toHaveLength(1);
    expect(baseLogger.entries[0]?.fields).toMatchObject({ err: boom, outcome: 'failed' });
    expect((baseLogger.entries[0]?.fields?.loggerError as Error).message).toBe('logger down');
  });
});

describe('DefaultJobExecutor: timeout', () => {
  it('aborts the signal with a TimeoutError exactly at timeoutMs and resolves then, while the handler keeps running', async () => {
    const d = deferredHandler();
    const run = start(request(d.handler, { timeoutMs: 1_000 }));
    await clock.advance(999);
    expect(run.result()).toBeUndefined();
    expect(d.ctx()?.signal.aborted).toBe(false);

    await clock.advance(1);
    const result = run.result();
    expect(result).toBeDefined();
    expect(result).toMatchObject({ outcome: 'timeout', startedAt: START, finishedAt: START + 1_000, abandoned: true });
    expect(result?.error).toBeInstanceOf(TimeoutError);
    expect(SchedkitError.is(result?.error, ErrorCode.Timeout)).toBe(true);
    expect((result?.error as SchedkitError).code).toBe('E_TIMEOUT');
    expect(result?.error?.message).toBe('job "acme/report" timed out after 1000 ms');

    const signal = d.ctx()!.signal;
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(result?.error);

    expect(metrics.count('runTimedOut', JOB)).toBe(1);
    expect(metrics.count('runFailed', JOB)).toBe(1);
    expect(metrics.count('runAbandoned', JOB)).toBe(1);
    expect(metrics.count('runCompleted')).toBe(0);
    expect(runLogger.entries).toEqual([
      {
        level: 'error',
        message: 'run timed out',
        fields: { err: result?.error, outcome: 'timeout', durationMs: 1_000, abandoned: true },
      },
    ]);

    // `settled` waits for the handler, however long it takes.
    const pending = isPending(result!.settled);
    await clock.advance(60_000);
    expect(pending()).toBe(true);
    d.resolve();
    await settle();
    expect(pending()).toBe(false);
    // The late settle is reported once, with the total time.
    expect(runLogger.entries[1]).toMatchObject({ level: 'warn', fields: { durationMs: 61_000 } });
    expect(runLogger.entries).toHaveLength(2);
  });

  it('does not count a handler that stops when its signal aborts as abandoned', async () => {
    const run = start(
      request((ctx) => sleep(clock, 60_000, ctx.signal), { timeoutMs: 1_000 }),
    );
    await clock.advance(1_000);
    const result = run.result();
    expect(result).toMatchObject({ outcome: 'timeout', abandoned: false, finishedAt: START + 1_000 });
    expect(result?.settled).toBeInstanceOf(Promise);
    expect(metrics.count('runAbandoned', JOB)).toBe(0);
    expect(runLogger.entries.map((e) => e.message)).toEqual(['run timed out']);
  });

  it('does not hold the caller when the handler never settles', async () => {
    const run = start(request(() => new Promise(() => {}), { timeoutMs: 5_000 }));
    await clock.advance(5_000);
    expect(run.result()).toMatchObject({ outcome: 'timeout', abandoned: true, finishedAt: START + 5_000 });
    const pending = isPending(run.result()!.settled);
    await settle();
    expect(pending()).toBe(true);
  });

  it('lets the handler observe the abort through its signal listener', async () => {
    const aborts: unknown[] = [];
    const d = deferredHandler();
    start(
      request(
        (ctx) => {
          ctx.signal.addEventListener('abort', () => aborts.push(ctx.signal.reason));
          return d.handler(ctx);
        },
        { timeoutMs: 200 },
      ),
    );
    await clock.advance(199);
    expect(aborts).toEqual([]);
    await clock.advance(1);
    expect(aborts).toHaveLength(1);
    expect(aborts[0]).toBeInstanceOf(TimeoutError);
    d.resolve();
  });

  it('decides timeout even for a handler that rejects in reaction to the abort; its late rejection is handled', async () => {
    const run = start(request((ctx) => sleep(clock, 10_000, ctx.signal), { timeoutMs: 100 }));
    await clock.advance(100);
    const result = run.result();
    expect(result?.outcome).toBe('timeout');
    // The handler rejected with the TimeoutError right after the abort: settled follows at once.
    await expect(result?.settled).resolves.toBeUndefined();
    expect(clock.pendingTimers).toBe(0);
  });

  it('does not report an abandoned handler that rejects late as unhandled', async () => {
    const d = deferredHandler();
    const run = start(request(d.handler, { timeoutMs: 10 }));
    await clock.advance(10);
    expect(run.result()?.abandoned).toBe(true);
    d.reject(new Error('late failure'));
    await run.result()?.settled;
    expect(runLogger.entries.at(-1)).toMatchObject({ level: 'warn' });
    expect((runLogger.entries.at(-1)?.fields?.err as Error).message).toBe('late failure');
    // afterEach asserts nothing escaped
  });

  it('arms no timer for an infinite timeout', async () => {
    const d = deferredHandler();
    const run = start(request(d.handler, { timeoutMs: Number.POSITIVE_INFINITY }));
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(10 * 86_400_000);
    expect(run.result()).toBeUndefined();
    d.resolve();
    await settle();
    expect(run.result()?.outcome).toBe('success');
  });
});

describe('DefaultJobExecutor: external abort', () => {
  it('maps LockLostError to lock-lost, aborts the run signal with the same reason, and clears the timer', async () => {
    const external = new AbortController();
    const d = deferredHandler();
    const run = start(request(d.handler, { signal: external.signal, timeoutMs: 1_000 }));
    await clock.advance(400);
    const lost = new LockLostError('lock "x" was lost: expired');
    external.abort(lost);
    await settle();
    expect(run.result()).toMatchObject({ outcome: 'lock-lost', abandoned: true, finishedAt: START + 400 });
    expect(run.result()?.error).toBe(lost);
    expect(d.ctx()?.signal.reason).toBe(lost);
    expect(clock.pendingTimers).toBe(0);
    expect(metrics.count('runFailed', JOB)).toBe(1);
    expect(metrics.count('runTimedOut')).toBe(0);
    expect(metrics.count('runAbandoned', JOB)).toBe(1);
    expect(runLogger.entries[0]).toMatchObject({ level: 'warn', message: 'run lost its lock', fields: { outcome: 'lock-lost' } });
    d.resolve();
  });

  it('maps ShutdownError to interrupted', async () => {
    const external = new AbortController();
    const d = deferredHandler();
    const run = start(request(d.handler, { signal: external.signal }));
    const shutdown = new ShutdownError();
    external.abort(shutdown);
    await settle();
    expect(run.result()).toMatchObject({ outcome: 'interrupted', abandoned: true });
    expect(run.result()?.error).toBe(shutdown);
    expect(d.ctx()?.signal.reason).toBe(shutdown);
    d.resolve();
  });

  it('maps any other reason to failed; a non-Error reason is wrapped but passed to the handler unchanged', async () => {
    const external = new AbortController();
    const d = deferredHandler();
    const run = start(request(d.handler, { signal: external.signal }));
    external.abort('go away');
    await settle();
    expect(run.result()?.outcome).toBe('failed');
    expect(run.result()?.error).toBeInstanceOf(SchedkitError);
    expect(run.result()?.error?.cause).toBe('go away');
    expect(run.result()?.error?.message).toContain('job "acme/report" was aborted');
    expect(d.ctx()?.signal.reason).toBe('go away');
    d.resolve();

    const other = new AbortController();
    const plain = new Error('other');
    const d2 = deferredHandler();
    const run2 = start(request(d2.handler, { signal: other.signal }));
    other.abort(plain);
    await settle();
    expect(run2.result()).toMatchObject({ outcome: 'failed' });
    expect(run2.result()?.error).toBe(plain);
    d2.resolve();
  });

  it.each([
    ['LockLostError', () => new LockLostError('gone'), 'lock-lost'],
    ['ShutdownError', () => new ShutdownError(), 'interrupted'],
    ['a plain Error', () => new Error('x'), 'failed'],
  ] as const)('does not call the handler when the signal is already aborted (%s)', async (_label, reason, outcome) => {
    const external = new AbortController();
    const why = reason();
    external.abort(why);
    const handler = vi.fn();
    const result = await executor.execute(request(handler, { signal: external.signal }));
    expect(handler).not.toHaveBeenCalled();
    expect(result).toMatchObject({ outcome, abandoned: false, startedAt: START, finishedAt: START });
    expect(result.error).toBe(why);
    await expect(result.settled).resolves.toBeUndefined();
    expect(clock.pendingTimers).toBe(0);
    expect(metrics.count('runStarted', JOB)).toBe(1);
    expect(metrics.count('runFailed', JOB)).toBe(1);
    expect(metrics.count('runAbandoned')).toBe(0);
  });

  it('decides once: a timeout after an external abort changes nothing', async () => {
    const external = new AbortController();
    const d = deferredHandler();
    const run = start(request(d.handler, { signal: external.signal, timeoutMs: 100 }));
    external.abort(new ShutdownError());
    await clock.advance(1_000);
    expect(run.result()?.outcome).toBe('interrupted');
    expect(metrics.count('runFailed')).toBe(1);
    expect(metrics.count('runTimedOut')).toBe(0);
    expect(d.ctx()?.signal.reason).toBeInstanceOf(ShutdownError);
    d.resolve();
  });

  it('keeps the first cause: an abort listener that triggers another abort does not change a timeout', async () => {
    const external = new AbortController();
    const d = deferredHandler();
    const run = start(
      request(
        (ctx) => {
          ctx.signal.addEventListener('abort', () => external.abort(new ShutdownError()));
          return d.handler(ctx);
        },
        { signal: external.signal, timeoutMs: 50 },
      ),
    );
    await clock.advance(50);
    expect(run.result()?.outcome).toBe('timeout');
    expect(d.ctx()?.signal.reason).toBeInstanceOf(TimeoutError);
    expect(metrics.count('runFailed')).toBe(1);
    d.resolve();
  });

  it('handles an abort that happens synchronously inside the handler', async () => {
    const external = new AbortController();
    const result = await executor.execute(
      request(
        () => {
          external.abort(new ShutdownError());
          return 'finished anyway';
        },
        { signal: external.signal },
      ),
    );
    expect(result.outcome).toBe('interrupted');
    // The handler returned right after: settled is released with it.
    await expect(result.settled).resolves.toBeUndefined();
  });
});

describe('DefaultJobExecutor: start (an abort handle instead of a signal)', () => {
  it('aborts through the handle as through a signal: outcome, reason, listeners', async () => {
    const d = deferredHandler();
    const attempt = executor.start(request(d.handler));
    const heard: unknown[] = [];
    d.ctx()?.signal.addEventListener('abort', () => heard.push(d.ctx()?.signal.reason));
    const lost = new LockLostError('lock "x" was lost: expired');
    attempt.abort(lost);
    attempt.abort(new ShutdownError());
    const result = await attempt.result;
    expect(result).toMatchObject({ outcome: 'lock-lost', abandoned: true });
    expect(result.error).toBe(lost);
    expect(heard).toEqual([lost]);
    expect(clock.pendingTimers).toBe(0);
    d.resolve();
  });

  it('hands a handler that first reads its signal after the abort an aborted signal with the reason', async () => {
    let ctx: RunContext<unknown> | undefined;
    let release!: () => void;
    const attempt = executor.start(
      request((c) => {
        ctx = c;
        return new Promise<void>((r) => (release = r));
      }),
    );
    const shutdown = new ShutdownError();
    attempt.abort(shutdown);
    expect(ctx?.signal.aborted).toBe(true);
    expect(ctx?.signal.reason).toBe(shutdown);
    release();
    expect((await attempt.result).outcome).toBe('interrupted');
  });

  it('makes the signal of a timed-out run aborted with the TimeoutError, also when read after the timeout', async () => {
    let ctx: RunContext<unknown> | undefined;
    const attempt = executor.start(request((c) => ((ctx = c), new Promise<void>(() => undefined)), { timeoutMs: 500 }));
    await clock.advance(500);
    await settle();
    const result = await attempt.result;
    expect(result.outcome).toBe('timeout');
    expect(ctx?.signal.reason).toBe(result.error);
  });

  it('ignores an abort after the handler settled: the outcome stays, the signal never aborts', async () => {
    let ctx: RunContext<unknown> | undefined;
    const attempt = executor.start(request((c) => void (ctx = c)));
    const result = await attempt.result;
    attempt.abort(new ShutdownError());
    expect(result.outcome).toBe('success');
    expect(ctx?.signal.aborted).toBe(false);
    expect(metrics.count('runFailed')).toBe(0);
  });

  it('never starts the handler when the request signal was aborted before start', async () => {
    let called = false;
    const attempt = executor.start(request(() => void (called = true), { signal: AbortSignal.abort(new ShutdownError()) }));
    expect((await attempt.result).outcome).toBe('interrupted');
    expect(called).toBe(false);
  });
});
