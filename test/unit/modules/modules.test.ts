import { PassThrough } from 'node:stream';
import { Container, ContainerModule, inject } from 'inversify';
import { describe, expect, it, vi } from 'vitest';
import { bindDefault, bindOrRebind } from '../../../modules/binding.js';
import { Scheduled, getScheduledMethods } from '../../../modules/decorators/scheduled.js';
import { exploreScheduled, registerScheduled } from '../../../modules/explorer/scheduled-explorer.js';
import { memoryBackendModule } from '../../../modules/memory-backend.module.js';
import { schedulerModule } from '../../../modules/scheduler.module.js';
import { TOKENS } from '../../../modules/tokens.js';
import { winstonLoggerModule } from '../../../modules/winston-logger.module.js';
import type { Backend } from '../../../src/backend/backend.js';
import { MemoryBackend } from '../../../src/backend/memory/memory-backend.js';
import { SystemClock, sleep, type Clock } from '../../../src/clock/clock.js';
import { FakeClock } from '../../../src/clock/fake-clock.js';
import type { SchedulerConfig } from '../../../src/config/config.js';
import { ErrorCode, SchedkitError } from '../../../src/errors/schedkit-error.js';
import { DefaultJobExecutor } from '../../../src/executor/default-job-executor.js';
import type { JobExecutor } from '../../../src/executor/job-executor.js';
import type { RunContext } from '../../../src/job/job-definition.js';
import { Lifecycle } from '../../../src/lifecycle/lifecycle.js';
import type { DistributedLock } from '../../../src/lock/distributed-lock.js';
import { MemoryLock } from '../../../src/lock/memory-lock.js';
import { InMemoryMetrics } from '../../../src/observability/in-memory-metrics.js';
import { NoopLogger, type Logger } from '../../../src/observability/logger.js';
import { NoopMetrics, type MetricsCollector } from '../../../src/observability/metrics.js';
import { RecordingLogger } from '../../../src/observability/recording-logger.js';
import { WinstonLogger } from '../../../src/observability/winston-logger.js';
import { Scheduler } from '../../../src/scheduler/scheduler.js';

/** A stream collecting what a winston logger writes, one parsed JSON object per line. */
function jsonSink(): { stream: PassThrough; entries: () => Record<string, unknown>[] } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return {
    stream,
    entries: () =>
      text
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

function quietContainer(...modules: ContainerModule[]): Container {
  const container = new Container();
  container.load(schedulerModule(), ...modules);
  return container;
}

describe('schedulerModule', () => {
  it('binds every token that has a default, as singletons of the expected classes', () => {
    const container = new Container();
    container.load(schedulerModule({ maxConcurrent: 7, startTimeoutMs: 1234, stopTimeoutMs: 25_000 }));
    const unbound = Object.entries(TOKENS)
      .filter(([, token]) => !container.isBound(token))
      .map(([name]) => name);
    expect(unbound).toEqual(['JobRegistrar']);

    expect(container.get(TOKENS.Clock)).toBeInstanceOf(SystemClock);
    expect(container.get(TOKENS.MetricsCollector)).toBeInstanceOf(NoopMetrics);
    expect(container.get(TOKENS.Logger)).toBeInstanceOf(WinstonLogger);
    expect(container.get(TOKENS.Backend)).toBeInstanceOf(MemoryBackend);
    expect(container.get(TOKENS.DistributedLock)).toBeInstanceOf(MemoryLock);
    expect(container.get(TOKENS.JobExecutor)).toBeInstanceOf(DefaultJobExecutor);
    expect(container.get(TOKENS.Scheduler)).toBeInstanceOf(Scheduler);
    const config = container.get<SchedulerConfig>(TOKENS.SchedulerConfig);
    expect(config.maxConcurrent).toBe(7);
    expect(Object.isFrozen(config)).toBe(true);
    const lifecycle = container.get<Lifecycle>(TOKENS.Lifecycle);
    expect(lifecycle).toBeInstanceOf(Lifecycle);
    expect([lifecycle.startTimeoutMs, lifecycle.stopTimeoutMs]).toEqual([1234, 25_000]);
    for (const token of Object.values(TOKENS)) {
      if (token !== TOKENS.JobRegistrar) expect(container.get(token)).toBe(container.get(token));
    }
    expect(container.get<Scheduler>(TOKENS.Scheduler).instanceId).toBe(config.instanceId);
  });

  it('validates the config when called: a bad config throws E_CONFIG naming every bad field', () => {
    let thrown: unknown;
    try {
      schedulerModule({ maxConcurrent: 0, lockTtlMs: 1000, lockRefreshMs: 900 });
    } catch (error) {
      thrown = error;
    }
    expect(SchedkitError.is(thrown, ErrorCode.Config)).toBe(true);
    expect((thrown as Error).message).toMatch(/^schedulerModule: /);
    expect((thrown as Error).message).toContain('maxConcurrent');
    expect((thrown as Error).message).toContain('lockRefreshMs must be less than lockTtlMs / 2');
  });

  it('lets Logger, MetricsCollector and Clock be rebound after load; the defaults built from them use the replacements', async () => {
    const container = quietContainer();
    const clock = new FakeClock('2026-05-01T00:00:00Z');
    const logger = new RecordingLogger();
    const metrics = new InMemoryMetrics();
    container.rebind<Clock>(TOKENS.Clock).toConstantValue(clock);
    container.rebind<Logger>(TOKENS.Logger).toConstantValue(logger);
    container.rebind<MetricsCollector>(TOKENS.MetricsCollector).toConstantValue(metrics);

    // The executor counts into the rebound metrics.
    const executor = container.get<JobExecutor>(TOKENS.JobExecutor);
    const context: Omit<RunContext<unknown>, 'signal'> = {
      name: 'probe',
      tenantId: undefined,
      runId: 'r1',
      id: 'r1',
      scheduledAt: new Date(clock.now()),
      attempt: 1,
      params: undefined,
      fencingToken: 1,
      logger: new NoopLogger(),
    };
    const result = await executor.execute({ handler: () => {}, context, timeoutMs: 1000 });
    expect(result.outcome).toBe('success');
    expect(metrics.count('runStarted')).toBe(1);

    // The backend and the lock read the rebound clock.
    expect(await container.get<Backend>(TOKENS.Backend).time()).toBe(clock.now());
    const lease = await container.get<DistributedLock>(TOKENS.DistributedLock).acquire('r', { ttlMs: 500 });
    expect(lease?.expiresAt).toBe(clock.now() + 500);

    // The lifecycle measures with the rebound clock and logs through the rebound logger.
    const lifecycle = container.get<Lifecycle>(TOKENS.Lifecycle);
    lifecycle.append({ name: 'probe', onStart: () => sleep(clock, 100) });
    const started = lifecycle.start();
    await clock.advance(100);
    await started;
    expect(lifecycle.hookRuntimes()).toContainEqual({ name: 'probe', phase: 'start', ms: 100 });
    expect(logger.entries).toContainEqual({ level: 'info', message: 'hook started', fields: { hook: 'probe', ms: 100 } });
    await lifecycle.stop();
  });

  it('keeps an implementation bound before it instead of its default', () => {
    const mine: Clock = new FakeClock();
    const container = new Container();
    container.load(
      new ContainerModule(({ bind }) => {
        bind<Clock>(TOKENS.Clock).toConstantValue(mine);
      }),
      schedulerModule(),
    );
    expect(container.get(TOKENS.Clock)).toBe(mine);
    expect(container.getAll(TOKENS.Clock)).toHaveLength(1);
  });

  it('rebinding the Scheduler replaces it', () => {
    const container = quietContainer();
    const fake = { start: vi.fn(), stop: vi.fn(), register: vi.fn() };
    container.rebind(TOKENS.Scheduler).toConstantValue(fake as unknown as Scheduler);
    expect(container.get(TOKENS.Scheduler)).toBe(fake);
  });
});

describe('memoryBackendModule and winstonLoggerModule', () => {
  it('a double bind is ambiguous (the problem bindOrRebind avoids)', () => {
    const container = new Container();
    container.bind(TOKENS.Backend).toConstantValue({} as Backend);
    container.bind(TOKENS.Backend).toConstantValue({} as Backend);
    expect(() => container.get(TOKENS.Backend)).toThrow(/mbiguous/);
  });

  it('memoryBackendModule loaded after schedulerModule replaces the default backend and lock', () => {
    const container = quietContainer(memoryBackendModule({ historyLimit: 5 }));
    expect(container.getAll(TOKENS.Backend)).toHaveLength(1);
    expect(container.getAll(TOKENS.DistributedLock)).toHaveLength(1);
    container.rebind<Logger>(TOKENS.Logger).toConstantValue(new NoopLogger());
    expect(container.get(TOKENS.Backend)).toBeInstanceOf(MemoryBackend);
    expect(container.get(TOKENS.DistributedLock)).toBeInstanceOf(MemoryLock);
    const lifecycle = container.get<Lifecycle>(TOKENS.Lifecycle);
    expect(lifecycle.hookNames()).toEqual(['backend:memory', 'lock:memory']);
  });

  it('memoryBackendModule validates its options when called', () => {
    expect(() => memoryBackendModule({ historyLimit: 0 })).toThrow(/historyLimit must be an integer/);
  });

  it('winstonLoggerModule loaded after schedulerModule replaces the default logger, with one flush hook', async () => {
    const sink = jsonSink();
    const container = quietContainer(winstonLoggerModule({ stream: sink.stream, format: 'json', fields: { service: 'billing' } }));
    expect(container.getAll(TOKENS.Logger)).toHaveLength(1);
    const logger = container.get<WinstonLogger>(TOKENS.Logger);
    logger.info('hello', { n: 1 });
    const lifecycle = container.get<Lifecycle>(TOKENS.Lifecycle);
    expect(lifecycle.hookNames()).toEqual(['logger']);
    await lifecycle.start();
    await lifecycle.stop(); // flushes
    expect(sink.entries()[0]).toMatchObject({ level: 'info', message: 'hello', n: 1, service: 'billing' });
    // After the flush a line is written straight to the stream, at once and last.
    logger.info('after flush');
    expect(sink.entries().at(-1)).toMatchObject({ message: 'after flush', service: 'billing' });
  });

  it('winstonLoggerModule rejects a bad level when called', () => {
    expect(() => winstonLoggerModule({ level: 'loud' })).toThrow(/invalid level "loud"/);
  });

  it('bindOrRebind binds when absent and rebinds when present; bindDefault binds only when absent', () => {
    const id = Symbol('x');
    const container = new Container();
    const results: boolean[] = [];
    container.load(
      new ContainerModule((options) => {
        bindOrRebind<number>(options, id).toConstantValue(1);
        bindOrRebind<number>(options, id).toConstantValue(2);
        results.push(bindDefault<number>(options, id, (to) => to.toConstantValue(3)));
      }),
    );
    expect(container.getAll(id)).toEqual([2]);
    expect(results).toEqual([false]);
  });
});

describe('hooks appended in dependency order', () => {
  it('logger, backend, lock, executor: started in that order and stopped in reverse, as the logs show', async () => {
    const sink = jsonSink();
    const container = quietContainer(winstonLoggerModule({ stream: sink.stream, format: 'json' }));
    const clock = new FakeClock();
    container.rebind<Clock>(TOKENS.Clock).toConstantValue(clock);
    const lifecycle = container.get<Lifecycle>(TOKENS.Lifecycle);
    container.get(TOKENS.Scheduler);
    expect(lifecycle.hookNames()).toEqual(['logger', 'backend:memory', 'lock:memory', 'executor']);

    await lifecycle.start();
    await lifecycle.stop();
    expect(lifecycle.hookRuntimes().map((r) => `${r.phase} ${r.name}`)).toEqual([
      'start logger',
      'start backend:memory',
      'start lock:memory',
      'start executor',
      'stop executor',
      'stop lock:memory',
      'stop backend:memory',
      'stop logger',
    ]);
    await new Promise((resolve) => setImmediate(resolve));
    const logged = sink.entries().filter((e) => typeof e.hook === 'string').map((e) => `${String(e.message)} ${String(e.hook)}`);
    // The logger's own "hook stopped" line comes after its flush: written straight to the stream, last.
    expect(logged).toEqual([
      'hook started logger',
      'hook started backend:memory',
      'hook started lock:memory',
      'hook started executor',
      'hook stopped executor',
      'hook stopped lock:memory',
      'hook stopped backend:memory',
      'hook stopped logger',
    ]);
  });
});

describe('@Scheduled and the explorer', () => {
  class ReportJobs {
    readonly runs: string[] = [];
    constructor(@inject(TOKENS.SchedulerConfig) readonly config: SchedulerConfig) {}

    @Scheduled({ schedule: '0 * * * *', timeoutMs: 60_000 })
    hourly(ctx: RunContext): void {
      this.runs.push(`hourly:${ctx.name}`);
    }

    @Scheduled({ name: 'nightly-report', schedule: { cron: '0 3 * * *', tz: 'Europe/Berlin' }, params: { full: true } })
    async nightly(ctx: RunContext): Promise<void> {
      this.runs.push(`nightly:${String(ctx.attempt)}`);
    }

    notScheduled(): void {}
  }

  class UnboundJobs {
    @Scheduled({ schedule: { every: '5m' } })
    tick(): void {}
  }

  class BaseJobs {
    readonly runs: string[] = [];
    @Scheduled({ schedule: { every: 60_000 } })
    base(): void {
      this.runs.push('base');
    }
  }

  class DerivedJobs extends BaseJobs {
    @Scheduled({ schedule: { every: 1_000 } })
    derived(): void {
      this.runs.push('derived');
    }
  }

  it('records metadata only, with the default name <ClassName>.<methodName>', () => {
    expect(getScheduledMethods(ReportJobs)).toEqual([
      { method: 'hourly', options: { schedule: '0 * * * *', timeoutMs: 60_000, name: 'ReportJobs.hourly' } },
      {
        method: 'nightly',
        options: { name: 'nightly-report', schedule: { cron: '0 3 * * *', tz: 'Europe/Berlin' }, params: { full: true } },
      },
    ]);
    expect(getScheduledMethods(UnboundJobs).map((m) => m.options.name)).toEqual(['UnboundJobs.tick']);
    // The method itself is untouched.
    expect(new UnboundJobs().tick()).toBeUndefined();
  });

  it('refuses static methods', () => {
    expect(() => {
      class Bad {
        @Scheduled({ schedule: { every: 1000 } })
        static tick(): void {}
      }
      return Bad;
    }).toThrow(/only instance methods/);
  });

  it('finds methods only on classes bound in the container, resolved through it', () => {
    const container = quietContainer();
    container.bind(ReportJobs).toSelf().inSingletonScope();
    const found = exploreScheduled(container);
    expect(found.map((f) => f.options.name)).toEqual(['ReportJobs.hourly', 'nightly-report']);
    const instance = container.get(ReportJobs);
    expect(found.every((f) => f.instance === instance)).toBe(true);
    expect(instance.config).toBe(container.get(TOKENS.SchedulerConfig));
    expect(exploreScheduled(new Container())).toEqual([]);
  });

  it('includes methods inherited from a decorated base class', () => {
    const container = new Container();
    container.bind(DerivedJobs).toSelf();
    expect(exploreScheduled(container).map((f) => f.options.name)).toEqual(['DerivedJobs.derived', 'BaseJobs.base']);
  });

  it('registerScheduled registers each method in order, with this bound to the instance', async () => {
    const container = new Container();
    container.load(schedulerModule());
    container.bind(ReportJobs).toSelf().inSingletonScope();
    const registered: { name: string; handler: (ctx: RunContext) => unknown; schedule?: unknown }[] = [];
    const scheduler = { register: vi.fn(async (definition: (typeof registered)[number]) => void registered.push(definition)) };
    await registerScheduled(scheduler as never, exploreScheduled(container));
    expect(registered.map((d) => [d.name, d.schedule])).toEqual([
      ['ReportJobs.hourly', '0 * * * *'],
      ['nightly-report', { cron: '0 3 * * *', tz: 'Europe/Berlin' }],
    ]);
    await registered[0]!.handler({ name: 'ReportJobs.hourly' } as RunContext);
    await registered[1]!.handler({ attempt: 2 } as RunContext);
    expect(container.get(ReportJobs).runs).toEqual(['hourly:ReportJobs.hourly', 'nightly:2']);
  });
});
