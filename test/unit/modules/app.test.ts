import { EventEmitter } from 'node:events';
import { Container } from 'inversify';
import { describe, expect, it, vi } from 'vitest';
import { App } from '../../../modules/app.js';
import { Scheduled } from '../../../modules/decorators/scheduled.js';
import { schedulerModule } from '../../../modules/scheduler.module.js';
import { TOKENS, type JobRegistrar } from '../../../modules/tokens.js';
import type { Clock } from '../../../src/clock/clock.js';
import { FakeClock, settle } from '../../../src/clock/fake-clock.js';
import { ErrorCode, SchedkitError } from '../../../src/errors/schedkit-error.js';
import type { HookRegistry } from '../../../src/lifecycle/hook.js';
import type { LogFields, Logger } from '../../../src/observability/logger.js';
import type { Scheduler } from '../../../src/scheduler/scheduler.js';

// The App is tested against a scheduler double (rebound below), so these tests
// do not load the real scheduler module, which has its own tests.
vi.mock('../../../src/scheduler/scheduler.js', () => ({
  Scheduler: class {
    constructor() {
      throw new Error('the real Scheduler is not used by these tests');
    }
  },
}));

interface Line {
  level: string;
  message: string;
  fields?: LogFields;
}

/** A deferred promise, to hold a fake scheduler's start or stop open. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** A scheduler test double that records what the App asks of it. */
function fakeScheduler(events: string[]) {
  const started = deferred();
  return {
    started: started.promise,
    startResult: undefined as Promise<void> | undefined,
    stopResult: undefined as Promise<void> | undefined,
    register: vi.fn(async (definition: { name: string }) => void events.push(`register:${definition.name}`)),
    start: vi.fn(function (this: { startResult?: Promise<void> }) {
      events.push('scheduler.start');
      started.resolve();
      return this.startResult ?? Promise.resolve();
    }),
    stop: vi.fn(function (this: { stopResult?: Promise<void> }) {
      events.push('scheduler.stop');
      return this.stopResult ?? Promise.resolve();
    }),
  };
}

/**
 * A container as an app has it, with a fake clock, a recording logger whose
 * factory appends a `logger` hook (like the winston default), a fake
 * scheduler, and fake signals and exit.
 */
function setup(config: Parameters<typeof schedulerModule>[0] = {}) {
  const events: string[] = [];
  const lines: Line[] = [];
  const clock = new FakeClock();
  const container = new Container();
  container.load(schedulerModule(config));
  container.rebind<Clock>(TOKENS.Clock).toConstantValue(clock);
  const at =
    (level: string) =>
    (message: string, fields?: LogFields): void =>
      void lines.push({ level, message, fields });
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  container.rebind<Logger>(TOKENS.Logger).toResolvedValue(
    (lifecycle: HookRegistry) => {
      lifecycle.append({ name: 'logger', onStop: () => void events.push('logger.flush') });
      return logger;
    },
    [TOKENS.Lifecycle],
  ).inSingletonScope();
  const scheduler = fakeScheduler(events);
  // Built from the same dependencies as the real one, so their factories append their hooks.
  container
    .rebind(TOKENS.Scheduler)
    .toResolvedValue((_logger: unknown, _backend: unknown, _lock: unknown, _executor: unknown) => scheduler as unknown as Scheduler, [TOKENS.Logger, TOKENS.Backend, TOKENS.DistributedLock, TOKENS.JobExecutor])
    .inSingletonScope();
  const signals = new EventEmitter();
  const exit = vi.fn<(code: number) => void>();
  const app = (): App => new App(container, { signals, exit });
  return { events, lines, clock, container, scheduler, signals, exit, app };
}

function listenerCount(signals: EventEmitter): number {
  return signals.listenerCount('SIGINT') + signals.listenerCount('SIGTERM');
}

describe('App', () => {
  it('appends hooks in dependency order: logger, backend, lock, executor, registrars, scheduler', () => {
    const { app } = setup();
    expect(app().lifecycle.hookNames()).toEqual(['logger', 'backend:memory', 'lock:memory', 'executor', 'registrars', 'scheduler']);
  });

  it('run(): starts, waits for SIGTERM, stops in reverse, exits 0 and removes its listeners', async () => {
    const { app: makeApp, scheduler, signals, exit, events, lines } = setup();
    const app = makeApp();
    const run = app.run();
    expect(app.run()).toBe(run);
    await scheduler.started;
    await settle();
    expect(app.lifecycle.state).toBe('started');
    expect(exit).not.toHaveBeenCalled();
    expect(listenerCount(signals)).toBe(2);

    signals.emit('SIGTERM');
    expect(await run).toBe(0);
    expect(exit).toHaveBeenCalledTimes(1);
    expect(exit).toHaveBeenCalledWith(0);
    expect(events).toEqual(['scheduler.start', 'scheduler.stop', 'logger.flush']);
    expect(app.lifecycle.hookRuntimes().map((r) => `${r.phase} ${r.name}`)).toEqual([
      'start backend:memory',
      'start lock:memory',
      'start executor',
      'start registrars',
      'start scheduler',
      'stop scheduler',
      'stop executor',
      'stop lock:memory',
      'stop backend:memory',
      'stop logger',
    ]);
    expect(lines).toContainEqual({ level: 'info', message: 'received SIGTERM, stopping', fields: { signal: 'SIGTERM' } });
    expect(listenerCount(signals)).toBe(0);
  });

  it('a second signal during a slow stop exits 1 at once', async () => {
    const { app: makeApp, scheduler, signals, exit, lines } = setup();
    const app = makeApp();
    const hanging = deferred();
    scheduler.stopResult = hanging.promise;
    const run = app.run();
    await scheduler.started;
    await settle();

    signals.emit('SIGINT');
    await settle();
    expect(app.lifecycle.state).toBe('stopping');
    expect(exit).not.toHaveBeenCalled();

    signals.emit('SIGTERM');
    expect(exit).toHaveBeenCalledWith(1);
    expect(await run).toBe(1);
    expect(app.lifecycle.state).toBe('stopping'); // abandoned, not awaited
    expect(lines.some((l) => l.level === 'warn' && l.message === 'received SIGTERM during stop, exiting now')).toBe(true);
    expect(listenerCount(signals)).toBe(0);
    hanging.resolve();
    await settle();
    expect(exit).toHaveBeenCalledTimes(1);
  });

  it('a failed start exits 1 after rolling back the started hooks', async () => {
    const { app: makeApp, container, signals, exit, events, lines } = setup();
    const boom = new Error('registrar exploded');
    container.bind<JobRegistrar>(TOKENS.JobRegistrar).toConstantValue({
      register: () => {
        throw boom;
      },
    });
    const app = makeApp();
    expect(await app.run()).toBe(1);
    expect(exit).toHaveBeenCalledTimes(1);
    expect(exit).toHaveBeenCalledWith(1);
    // The scheduler never started; what had started was stopped in reverse.
    expect(events).toEqual(['logger.flush']);
    expect(app.lifecycle.hookRuntimes().map((r) => `${r.phase} ${r.name}`)).toEqual([
      'start backend:memory',
      'start lock:memory',
      'start executor',
      'start registrars',
      'stop executor',
      'stop lock:memory',
      'stop backend:memory',
      'stop logger',
    ]);
    const failure = lines.find((l) => l.message === 'start failed, exiting');
    expect(SchedkitError.is(failure?.fields?.error, ErrorCode.StartFailed)).toBe(true);
    expect((failure?.fields?.error as Error).cause).toBe(boom);
    expect(listenerCount(signals)).toBe(0);
  });

  it('a stop that fails exits 1', async () => {
    const { app: makeApp, scheduler, signals, exit, events } = setup();
    scheduler.stopResult = Promise.reject(new Error('drain failed'));
    scheduler.stopResult.catch(() => {});
    const run = makeApp().run();
    await scheduler.started;
    await settle();
    signals.emit('SIGINT');
    expect(await run).toBe(1);
    expect(exit).toHaveBeenCalledWith(1);
    expect(events).toContain('logger.flush'); // the other hooks still stopped
  });

  it('a stop that times out exits 1 (fake clock)', async () => {
    const { app: makeApp, scheduler, signals, exit, clock, lines } = setup({ shutdownTimeoutMs: 1_000, stopTimeoutMs: 2_000 });
    scheduler.stopResult = new Promise<void>(() => {});
    const run = makeApp().run();
    await scheduler.started;
    await settle();
    signals.emit('SIGTERM');
    await clock.advance(1_999);
    expect(exit).not.toHaveBeenCalled();
    await clock.advance(1);
    expect(await run).toBe(1);
    expect(exit).toHaveBeenCalledWith(1);
    const failure = lines.find((l) => l.message === 'stop failed, exiting');
    expect((failure?.fields?.error as Error).message).toContain('"scheduler"');
  });

  it('a signal during the start stops once the start has finished', async () => {
    const { app: makeApp, scheduler, signals, exit, events } = setup();
    const starting = deferred();
    scheduler.startResult = starting.promise;
    const app = makeApp();
    const run = app.run();
    await scheduler.started;
    signals.emit('SIGTERM');
    await settle();
    expect(events).toEqual(['scheduler.start']);
    starting.resolve();
    expect(await run).toBe(0);
    expect(exit).toHaveBeenCalledWith(0);
    expect(events).toEqual(['scheduler.start', 'scheduler.stop', 'logger.flush']);
  });

  it('runs every registrar in binding order, then the @Scheduled methods, before the scheduler starts', async () => {
    const { app: makeApp, container, scheduler, signals, events } = setup();
    class Jobs {
      @Scheduled({ schedule: { every: 60_000 } })
      tick(): void {}
    }
    container.bind(Jobs).toSelf().inSingletonScope();
    for (const name of ['first', 'second']) {
      container.bind<JobRegistrar>(TOKENS.JobRegistrar).toConstantValue({
        register: async (s) => {
          events.push(`registrar:${name}`);
          await s.register({ name, handler: () => {} });
        },
      });
    }
    const run = makeApp().run();
    await scheduler.started;
    expect(events).toEqual([
      'registrar:first',
      'register:first',
      'registrar:second',
      'register:second',
      'register:Jobs.tick',
      'scheduler.start',
    ]);
    signals.emit('SIGINT');
    expect(await run).toBe(0);
  });

  it('start() and stop() delegate to the lifecycle; registrars run once per App', async () => {
    const { app: makeApp, container, events } = setup();
    container.bind<JobRegistrar>(TOKENS.JobRegistrar).toConstantValue({ register: () => void events.push('registrar') });
    const app = makeApp();
    await app.start();
    expect(app.lifecycle.state).toBe('started');
    await app.stop();
    await app.start();
    await app.stop();
    expect(events).toEqual([
      'registrar',
      'scheduler.start',
      'scheduler.stop',
      'logger.flush',
      'scheduler.start',
      'scheduler.stop',
      'logger.flush',
    ]);
  });
});
