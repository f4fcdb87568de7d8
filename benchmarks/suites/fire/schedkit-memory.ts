/**
 * schedkit on the in-memory backend, built by hand (README "The same, by
 * hand"): MemoryBackend + MemoryLock, no-op logger and metrics, and enough
 * concurrency that no run waits for a permit.
 */
import {
  DefaultJobExecutor,
  MemoryBackend,
  MemoryLock,
  NoopLogger,
  NoopMetrics,
  Scheduler,
  SystemClock,
  resolveConfig,
} from '../../../src/index.js';
import { runContender } from './harness.js';

let scheduler: Scheduler;

await runContender({
  async prepare() {
    const clock = new SystemClock();
    const logger = new NoopLogger();
    const metrics = new NoopMetrics();
    scheduler = new Scheduler({
      config: resolveConfig({ maxConcurrent: 20_000 }),
      backend: new MemoryBackend({ clock }),
      lock: new MemoryLock({ clock }),
      executor: new DefaultJobExecutor({ clock, logger, metrics }),
      clock,
      logger,
      metrics,
    });
  },
  async addJobs(from, to, fire) {
    const registered: Array<Promise<void>> = [];
    for (let job = from; job < to; job++) {
      registered.push(scheduler.register({ name: `job-${job}`, schedule: '* * * * * *', handler: (ctx) => fire(job, ctx.scheduledAt.getTime()) }));
    }
    await Promise.all(registered);
  },
  async start() {
    await scheduler.start();
  },
  async stop() {
    await scheduler.stop();
  },
});
