import { EventEmitter } from 'node:events';
import { Container, inject } from 'inversify';
import { describe, expect, it, vi } from 'vitest';
import { App } from '../../modules/app.js';
import { Scheduled } from '../../modules/decorators/scheduled.js';
import { schedulerModule } from '../../modules/scheduler.module.js';
import { TOKENS, type JobRegistrar } from '../../modules/tokens.js';
import type { Clock } from '../../src/clock/clock.js';
import { FakeClock } from '../../src/clock/fake-clock.js';
import type { RunContext } from '../../src/job/job-definition.js';
import { InMemoryMetrics } from '../../src/observability/in-memory-metrics.js';
import { RecordingLogger } from '../../src/observability/recording-logger.js';
import type { Logger } from '../../src/observability/logger.js';
import type { MetricsCollector } from '../../src/observability/metrics.js';
import type { Scheduler } from '../../src/scheduler/scheduler.js';

/** A provider with a `@Scheduled` method and an injected dependency. */
class ReportJobs {
  readonly slots: string[] = [];
  constructor(@inject(TOKENS.Logger) private readonly logger: Logger) {}

  @Scheduled({ name: 'reports.every-2m', schedule: { every: 120_000 }, params: { kind: 'summary' } })
  async summary(ctx: RunContext): Promise<void> {
    this.logger.info('summary', { params: ctx.params });
    this.slots.push(ctx.scheduledAt.toISOString());
  }
}

describe('App end to end (real scheduler, memory backend, fake clock)', () => {
  it('registers jobs from a registrar and @Scheduled, runs them on time, and stops in reverse on SIGTERM', async () => {
    const clock = new FakeClock('2026-01-01T00:00:00.000Z');
    const metrics = new InMemoryMetrics();
    const logger = new RecordingLogger();
    const lines = logger.entries;
    const container = new Container();
    container.load(schedulerModule({ instanceId: 'e2e-1', pollIntervalMs: 1_000 }));
    container.rebind<Clock>(TOKENS.Clock).toConstantValue(clock);
    container.rebind<MetricsCollector>(TOKENS.MetricsCollector).toConstantValue(metrics);
    container.rebind<Logger>(TOKENS.Logger).toConstantValue(logger);

    const minuteSlots: string[] = [];
    container.bind<JobRegistrar>(TOKENS.JobRegistrar).toConstantValue({
      register: (scheduler) =>
        scheduler.register({
          name: 'every-minute',
          schedule: { every: 60_000 },
          handler: (ctx) => void minuteSlots.push(ctx.scheduledAt.toISOString()),
        }),
    });
    container.bind(ReportJobs).toSelf().inSingletonScope();

    const signals = new EventEmitter();
    const exit = vi.fn<(code: number) => void>();
    const app = new App(container, { signals, exit });
    expect(app.lifecycle.hookNames()).toEqual(['backend:memory', 'lock:memory', 'executor', 'registrars', 'scheduler']);

    await app.start();
    const run = app.run();
    await clock.advance(180_000);

    // Interval slots are aligned to the epoch: each minute once, none at the start instant.
    expect(minuteSlots).toEqual(['2026-01-01T00:01:00.000Z', '2026-01-01T00:02:00.000Z', '2026-01-01T00:03:00.000Z']);
    const reports = container.get(ReportJobs);
    expect(reports.slots).toEqual(['2026-01-01T00:02:00.000Z']);
    expect(lines.some((l) => l.message === 'summary' && (l.fields.params as { kind?: string })?.kind === 'summary')).toBe(true);
    expect(metrics.count('runCompleted', 'every-minute')).toBe(3);
    expect(metrics.count('runCompleted', 'reports.every-2m')).toBe(1);

    const scheduler = container.get<Scheduler>(TOKENS.Scheduler);
    const job = await scheduler.getJob('every-minute');
    expect(job?.runCount).toBe(3);
    expect((await scheduler.history('every-minute', { limit: 10 })).every((h) => h.outcome === 'success')).toBe(true);

    signals.emit('SIGTERM');
    await clock.advance(1_000); // lets a stop that waits on the clock finish
    expect(await run).toBe(0);
    expect(exit).toHaveBeenCalledWith(0);
    expect(scheduler.state).toBe('stopped');
    expect(signals.listenerCount('SIGTERM')).toBe(0);

    const order = lines.filter((l) => l.message === 'hook started' || l.message === 'hook stopped').map((l) => `${l.message} ${String(l.fields.hook)}`);
    expect(order).toEqual([
      'hook started backend:memory',
      'hook started lock:memory',
      'hook started executor',
      'hook started registrars',
      'hook started scheduler',
      'hook stopped scheduler',
      'hook stopped executor',
      'hook stopped lock:memory',
      'hook stopped backend:memory',
    ]);
  });
});
