// Run as a child process by stop-keeps-process-alive.test.ts: a started
// scheduler with nothing else alive must not hold the process open; only a
// stop in progress does.
import { DefaultJobExecutor, MemoryBackend, MemoryLock, NoopLogger, NoopMetrics, Scheduler, SystemClock, resolveConfig } from 'schedkit';

const clock = new SystemClock();
const logger = new NoopLogger();
const metrics = new NoopMetrics();
const scheduler = new Scheduler({
  config: resolveConfig({}),
  backend: new MemoryBackend({ clock }),
  lock: new MemoryLock({ clock }),
  executor: new DefaultJobExecutor({ clock, logger, metrics }),
  clock,
  logger,
  metrics,
});
await scheduler.register({ name: 'hourly', schedule: '0 * * * *', handler: () => undefined });
await scheduler.start();
console.log(JSON.stringify({ message: 'started' }));
