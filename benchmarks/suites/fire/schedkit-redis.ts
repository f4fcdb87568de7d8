/**
 * schedkit on Redis, one instance, built by hand: RedisBackend + RedlockLock
 * on the suite's redis-server (one master), no-op logger and metrics, and
 * enough concurrency that no run waits for a permit.
 */
import {
  DefaultJobExecutor,
  NoopLogger,
  NoopMetrics,
  RedisBackend,
  RedlockLock,
  Scheduler,
  SystemClock,
  resolveConfig,
} from '../../../src/index.js';
import { runContender } from './harness.js';

let scheduler: Scheduler;
let backend: RedisBackend;
let lock: RedlockLock;

await runContender({
  async prepare(config) {
    const url = config.redisUrl!;
    const prefix = config.prefix!;
    const clock = new SystemClock();
    const logger = new NoopLogger();
    const metrics = new NoopMetrics();
    backend = new RedisBackend({ connection: { url }, prefix });
    lock = new RedlockLock({ masters: [{ url }], prefix, clock });
    await backend.connect();
    await lock.connect();
    scheduler = new Scheduler({
      config: resolveConfig({ maxConcurrent: 20_000, instanceId: `fire-${process.pid}` }),
      backend,
      lock,
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
    await lock.close();
    await backend.close();
  },
});
