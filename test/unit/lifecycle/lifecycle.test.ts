import { describe, expect, it } from 'vitest';
import { sleep } from '../../../src/clock/clock.js';
import { FakeClock, settle } from '../../../src/clock/fake-clock.js';
import { messages } from '../../../src/errors/messages.js';
import { ErrorCode, LifecycleError, SchedkitError } from '../../../src/errors/schedkit-error.js';
import type { Hook } from '../../../src/lifecycle/hook.js';
import { Lifecycle, type LifecycleOptions } from '../../../src/lifecycle/lifecycle.js';
import type { Logger } from '../../../src/observability/logger.js';
import { RecordingLogger } from '../../../src/observability/recording-logger.js';

/** A lifecycle on a fake clock, and an `events` log every test hook writes to. */
function setup(options: LifecycleOptions = {}) {
  const clock = new FakeClock();
  const logger = new RecordingLogger();
  const lifecycle = new Lifecycle({ clock, logger, ...options });
  const events: string[] = [];
  const hook = (name: string, extra: Partial<Hook> = {}): Hook => ({
    name,
    onStart: () => {
      events.push(`start:${name}`);
    },
    onStop: () => {
      events.push(`stop:${name}`);
    },
    ...extra,
  });
  return { clock, logger, lifecycle, events, hook };
}

const never = (): Promise<void> => new Promise<void>(() => {});

async function failure(promise: Promise<unknown>): Promise<LifecycleError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LifecycleError);
  return error as LifecycleError;
}

describe('Lifecycle: order', () => {
  it('starts hooks in append order and stops them in reverse', async () => {
    const { lifecycle, events, hook } = setup();
    lifecycle.append(hook('a'));
    lifecycle.append(hook('b'));
    lifecycle.append(hook('c'));
    expect(lifecycle.state).toBe('stopped');
    await lifecycle.start();
    expect(lifecycle.state).toBe('started');
    await lifecycle.stop();
    expect(lifecycle.state).toBe('stopped');
    expect(events).toEqual(['start:a', 'start:b', 'start:c', 'stop:c', 'stop:b', 'stop:a']);
  });

  it('passes each hook an unaborted signal when it finishes in time, and awaits async hooks one after another', async () => {
    const { clock, lifecycle, events } = setup();
    const signals: AbortSignal[] = [];
    lifecycle.append({
      name: 'slow',
      onStart: async (signal) => {
        signals.push(signal);
        await sleep(clock, 100);
        events.push('slow done');
      },
    });
    lifecycle.append({ name: 'next', onStart: () => void events.push('next') });
    const started = lifecycle.start();
    await settle();
    expect(events).toEqual([]); // `next` waits for `slow`
    await clock.advance(100);
    await started;
    expect(events).toEqual(['slow done', 'next']);
    expect(signals[0]!.aborted).toBe(false);
  });

  it('records every hook runtime with the clock and logs each hook in order', async () => {
    const { clock, lifecycle, logger } = setup();
    lifecycle.append({ name: 'a', onStart: () => sleep(clock, 250), onStop: () => sleep(clock, 40) });
    lifecycle.append({ name: 'b', onStart: () => {}, onStop: () => sleep(clock, 5) });
    lifecycle.append({ name: 'no-callbacks' });
    const started = lifecycle.start();
    await clock.advance(250);
    await started;
    const stopped = lifecycle.stop();
    await clock.advance(45);
    await stopped;
    expect(lifecycle.hookRuntimes()).toEqual([
      { name: 'a', phase: 'start', ms: 250 },
      { name: 'b', phase: 'start', ms: 0 },
      { name: 'b', phase: 'stop', ms: 5 },
      { name: 'a', phase: 'stop', ms: 40 },
    ]);
    const hookLines = logger.entries.filter((l) => l.message.startsWith('hook '));
    expect(hookLines.map((l) => [l.level, l.message, l.fields])).toEqual([
      ['info', 'hook started', { hook: 'a', ms: 250 }],
      ['info', 'hook started', { hook: 'b', ms: 0 }],
      ['info', 'hook stopped', { hook: 'b', ms: 5 }],
      ['info', 'hook stopped', { hook: 'a', ms: 40 }],
    ]);
    expect(lifecycle.hookNames()).toEqual(['a', 'b', 'no-callbacks']);
  });

  it('can be started again after a stop, and resets the runtimes at each start', async () => {
    const { lifecycle, events, hook } = setup();
    lifecycle.append(hook('a'));
    await lifecycle.start();
    await lifecycle.stop();
    await lifecycle.start();
    expect(lifecycle.hookRuntimes().map((r) => `${r.phase}:${r.name}`)).toEqual(['start:a']);
    await lifecycle.stop();
    expect(events).toEqual(['start:a', 'stop:a', 'start:a', 'stop:a']);
  });
});

describe('Lifecycle: rollback of a failed start', () => {
  it('stops only the started hooks, in reverse, and names the failing hook', async () => {
    const { lifecycle, events, hook } = setup();
    const boom = new Error('port in use');
    lifecycle.append(hook('a'));
    lifecycle.append({ name: 'no-start', onStop: () => void events.push('stop:no-start') });
    lifecycle.append(hook('b'));
    lifecycle.append(hook('c', { onStart: () => Promise.reject(boom) }));
    lifecycle.append(hook('d'));
    const error = await failure(lifecycle.start());
    expect(error.code).toBe(ErrorCode.StartFailed);
    expect(SchedkitError.is(error, ErrorCode.StartFailed)).toBe(true);
    expect(error.message).toBe(messages.startFailed('c', 'port in use'));
    expect(error.cause).toBe(boom);
    expect(error.errors).toEqual([boom]);
    // c failed (its onStop is not called), d never started; a hook without onStart counts as started.
    expect(events).toEqual(['start:a', 'start:b', 'stop:b', 'stop:no-start', 'stop:a']);
    expect(lifecycle.state).toBe('stopped');
    // Everything was rolled back: a stop now has nothing to do.
    await lifecycle.stop();
    expect(events).toHaveLength(5);
  });

  it('fails on a synchronous throw and on a non-Error value, wrapping the latter', async () => {
    const { lifecycle } = setup();
    lifecycle.append({
      name: 'sync',
      onStart: () => {
        throw 'nope';
      },
    });
    const error = await failure(lifecycle.start());
    expect(error.cause).toBeInstanceOf(Error);
    expect((error.cause as Error).message).toBe(messages.hookThrewNonError('sync', 'start', 'nope'));
    expect((error.cause as Error).cause).toBe('nope');
    expect(error.message).toContain('"sync"');
  });

  it('keeps the start failure as cause and adds rollback failures to errors', async () => {
    const { lifecycle } = setup();
    const rollbackError = new Error('close failed');
    const startError = new Error('connect failed');
    lifecycle.append({ name: 'a', onStop: () => Promise.reject(rollbackError) });
    lifecycle.append({ name: 'b', onStart: () => Promise.reject(startError) });
    const error = await failure(lifecycle.start());
    expect(error.cause).toBe(startError);
    expect(error.errors).toEqual([startError, rollbackError]);
  });

  it('the start deadline fails the hook that hung, with E_HOOK_TIMEOUT as cause, and aborts its signal', async () => {
    const { clock, lifecycle, events, hook, logger } = setup({ startTimeoutMs: 1_000 });
    let hungSignal: AbortSignal | undefined;
    lifecycle.append(hook('a', { onStart: () => sleep(clock, 300).then(() => void events.push('start:a')) }));
    lifecycle.append({
      name: 'hung',
      onStart: (signal) => {
        hungSignal = signal;
        return never();
      },
      onStop: () => void events.push('stop:hung'),
    });
    const started = failure(lifecycle.start());
    await clock.advance(300);
    expect(hungSignal?.aborted).toBe(false);
    await clock.advance(699);
    expect(lifecycle.state).toBe('starting');
    await clock.advance(1);
    const error = await started;
    expect(error.message).toContain('"hung"');
    expect(SchedkitError.is(error.cause, ErrorCode.HookTimeout)).toBe(true);
    // The hook had what was left of the phase: 1000 - 300 ms.
    expect((error.cause as Error).message).toBe(messages.hookTimeout('hung', 'start', 700));
    expect(hungSignal?.aborted).toBe(true);
    expect(hungSignal?.reason).toBe(error.cause);
    expect(events).toEqual(['start:a', 'stop:a']);
    expect(logger.entries.some((l) => l.message === 'hook failed to start' && l.fields?.hook === 'hung')).toBe(true);
    expect(lifecycle.hookRuntimes()).toContainEqual({ name: 'hung', phase: 'start', ms: 700 });
  });

  it("a hook's own timeoutMs fails it before the phase deadline", async () => {
    const { clock, lifecycle, events, hook } = setup({ startTimeoutMs: 10_000 });
    lifecycle.append(hook('a'));
    lifecycle.append({ name: 'connect', onStart: never, timeoutMs: 50 });
    const started = failure(lifecycle.start());
    await clock.advance(50);
    const error = await started;
    expect((error.cause as Error).message).toBe(messages.hookTimeout('connect', 'start', 50));
    expect(events).toEqual(['start:a', 'stop:a']);
  });

  it('ignores an abandoned hook that settles (or rejects) after its deadline', async () => {
    const { clock, lifecycle, events, hook } = setup({ startTimeoutMs: 100 });
    let reject!: (e: Error) => void;
    lifecycle.append(hook('a'));
    lifecycle.append({ name: 'late', onStart: () => new Promise<void>((_, r) => (reject = r)) });
    const started = failure(lifecycle.start());
    await clock.advance(100);
    await started;
    reject(new Error('too late')); // must not surface as an unhandled rejection
    await settle();
    expect(lifecycle.state).toBe('stopped');
    expect(events).toEqual(['start:a', 'stop:a']);
  });
});

describe('Lifecycle: stop', () => {
  it('keeps going after errors and rejects once with every error', async () => {
    const { lifecycle, events, hook } = setup();
    const first = new Error('flush failed');
    const second = new Error('quit failed');
    lifecycle.append(hook('a'));
    lifecycle.append(hook('b', { onStop: () => Promise.reject(second) }));
    lifecycle.append(
      hook('c', {
        onStop: () => {
          throw first;
        },
      }),
    );
    lifecycle.append(hook('d'));
    await lifecycle.start();
    const error = await failure(lifecycle.stop());
    expect(error.code).toBe(ErrorCode.StopFailed);
    expect(error.errors).toHaveLength(2);
    expect(error.errors).toEqual([first, second]);
    expect(error.message).toBe(messages.stopFailed(2, '"c": flush failed; "b": quit failed'));
    expect(events.filter((e) => e.startsWith('stop:'))).toEqual(['stop:d', 'stop:a']);
    expect(lifecycle.state).toBe('stopped');
  });

  it('a stop hook that never settles times out at the stop deadline and the next hooks still stop', async () => {
    const { clock, lifecycle, events, hook } = setup({ stopTimeoutMs: 1_000 });
    let lateSignal: AbortSignal | undefined;
    lifecycle.append(hook('a'));
    lifecycle.append(
      hook('b', {
        onStop: (signal) => {
          lateSignal = signal;
          events.push('stop:b');
        },
      }),
    );
    lifecycle.append(hook('hung', { onStop: never }));
    await lifecycle.start();
    const stopped = failure(lifecycle.stop());
    await clock.advance(999);
    expect(events).not.toContain('stop:b');
    await clock.advance(1);
    const error = await stopped;
    expect(error.errors).toHaveLength(1);
    expect(SchedkitError.is(error.errors[0], ErrorCode.HookTimeout)).toBe(true);
    expect(error.errors[0]!.message).toBe(messages.hookTimeout('hung', 'stop', 1_000));
    expect(events.slice(-2)).toEqual(['stop:b', 'stop:a']);
    // b ran after the deadline: it was told so through an aborted signal.
    expect(lateSignal?.aborted).toBe(true);
    expect(lifecycle.state).toBe('stopped');
  });

  it("a stop hook's own timeoutMs abandons it and leaves the others their time", async () => {
    const { clock, lifecycle, events, hook } = setup({ stopTimeoutMs: 10_000 });
    let nextSignal: AbortSignal | undefined;
    lifecycle.append(hook('a', { onStop: (signal) => void (nextSignal = signal) }));
    lifecycle.append(hook('hung', { onStop: never, timeoutMs: 200 }));
    await lifecycle.start();
    const stopped = failure(lifecycle.stop());
    await clock.advance(200);
    const error = await stopped;
    expect(error.errors.map((e) => e.message)).toEqual([messages.hookTimeout('hung', 'stop', 200)]);
    expect(nextSignal?.aborted).toBe(false);
    expect(events).toEqual(['start:a', 'start:hung']);
  });

  it('stops only hooks whose start completed: one appended while started waits for the next start', async () => {
    const { lifecycle, events, hook, logger } = setup();
    lifecycle.append(hook('a'));
    await lifecycle.start();
    lifecycle.append(hook('late'));
    expect(logger.entries.some((l) => l.level === 'warn' && l.fields?.hook === 'late')).toBe(true);
    await lifecycle.stop();
    await lifecycle.start();
    await lifecycle.stop();
    expect(events).toEqual(['start:a', 'stop:a', 'start:a', 'start:late', 'stop:late', 'stop:a']);
  });
});

describe('Lifecycle: idempotence and state', () => {
  it('concurrent starts share the in-flight promise; hooks run once', async () => {
    const { clock, lifecycle, events, hook } = setup();
    lifecycle.append(hook('a', { onStart: () => sleep(clock, 10).then(() => void events.push('start:a')) }));
    const first = lifecycle.start();
    const second = lifecycle.start();
    expect(second).toBe(first);
    expect(lifecycle.state).toBe('starting');
    await clock.advance(10);
    await first;
    await lifecycle.start(); // already started: resolves, runs nothing
    expect(events).toEqual(['start:a']);
  });

  it('concurrent stops share the in-flight promise; stop when stopped resolves without running hooks', async () => {
    const { clock, lifecycle, events, hook } = setup();
    await lifecycle.stop(); // never started
    lifecycle.append(hook('a', { onStop: () => sleep(clock, 10).then(() => void events.push('stop:a')) }));
    await lifecycle.start();
    const first = lifecycle.stop();
    expect(lifecycle.stop()).toBe(first);
    expect(lifecycle.state).toBe('stopping');
    await clock.advance(10);
    await first;
    await lifecycle.stop();
    expect(events).toEqual(['start:a', 'stop:a']);
  });

  it('a stop during a start waits for the start, then stops', async () => {
    const { clock, lifecycle, events, hook } = setup();
    lifecycle.append(hook('a', { onStart: () => sleep(clock, 10).then(() => void events.push('start:a')) }));
    const started = lifecycle.start();
    const stopped = lifecycle.stop();
    await clock.advance(10);
    await started;
    await stopped;
    expect(events).toEqual(['start:a', 'stop:a']);
    expect(lifecycle.state).toBe('stopped');
  });

  it('rejects append while starting, from outside or from a hook', async () => {
    const { clock, lifecycle, hook } = setup();
    let fromHook: unknown;
    lifecycle.append({
      name: 'a',
      onStart: async () => {
        try {
          lifecycle.append(hook('from-hook'));
        } catch (error) {
          fromHook = error;
        }
        await sleep(clock, 10);
      },
    });
    const started = lifecycle.start();
    await settle();
    expect(() => lifecycle.append(hook('outside'))).toThrow(messages.appendWhileBusy('outside', 'starting'));
    expect(SchedkitError.is(fromHook, ErrorCode.InvalidArgument)).toBe(true);
    await clock.advance(10);
    await started;
    expect(lifecycle.hookNames()).toEqual(['a']);
  });

  it('rejects append while stopping', async () => {
    const { clock, lifecycle, hook } = setup();
    lifecycle.append(hook('a', { onStop: () => sleep(clock, 10) }));
    await lifecycle.start();
    const stopped = lifecycle.stop();
    expect(() => lifecycle.append(hook('b'))).toThrow(/while the lifecycle is stopping/);
    await clock.advance(10);
    await stopped;
  });

  it('rejects malformed hooks and bad options', () => {
    const { lifecycle } = setup();
    expect(() => lifecycle.append({ name: '' })).toThrow(messages.invalidHook('name must be a non-empty string'));
    expect(() => lifecycle.append({ name: 'x', timeoutMs: 0 })).toThrow(/timeoutMs must be a finite number/);
    expect(() => lifecycle.append({ name: 'x', onStart: 'go' as never })).toThrow(/onStart must be a function/);
    expect(() => new Lifecycle({ startTimeoutMs: -1 })).toThrow(/startTimeoutMs must be a finite number/);
    expect(lifecycle.hookNames()).toEqual([]);
  });

  it('a logger that throws does not break start or stop', async () => {
    const clock = new FakeClock();
    const throwing: Logger = {
      debug: () => {},
      info: () => {
        throw new Error('log sink gone');
      },
      warn: () => {},
      error: () => {},
      child: () => throwing,
    };
    const lifecycle = new Lifecycle({ clock, logger: throwing });
    const events: string[] = [];
    lifecycle.append({ name: 'a', onStart: () => void events.push('start'), onStop: () => void events.push('stop') });
    await lifecycle.start();
    await lifecycle.stop();
    expect(events).toEqual(['start', 'stop']);
  });
});
