// schedkit without a container: every part built with `new`, like any library.
// Run: npx tsx examples/by-hand/main.ts (runs ~3 s, then stops and exits by itself).
import {
  DefaultJobExecutor,
  MemoryBackend,
  MemoryLock,
  NoopMetrics,
  Scheduler,
  SystemClock,
  createWinstonLogger,
  resolveConfig,
} from 'schedkit';

const clock = new SystemClock();
const logger = createWinstonLogger(); // readable in a terminal, JSON lines otherwise
const metrics = new NoopMetrics();

const scheduler = new Scheduler({
  config: resolveConfig({ maxConcurrent: 5 }), // validated: a bad value throws a ConfigError naming it
  backend: new MemoryBackend({ clock }),
  lock: new MemoryLock({ clock }),
  executor: new DefaultJobExecutor({ clock, logger, metrics }),
  clock,
  logger,
  metrics,
});

// A cron job with seconds: every second.
await scheduler.register({
  name: 'tick',
  schedule: '* * * * * *',
  handler: (ctx) => ctx.logger.info('tick', { slot: ctx.scheduledAt }),
});
// A trigger-only job: runs when triggered, with the trigger's params.
await scheduler.register({
  name: 'greet',
  handler: (ctx) => ctx.logger.info('hello', { params: ctx.params }),
});

await scheduler.start();
const run = await scheduler.trigger('greet', { params: { who: 'world' }, at: new Date(Date.now() + 1_000), id: 'greet-1' });
logger.info('triggered', { id: run.id, dueAt: run.dueAt, created: run.created });

await new Promise((resolve) => setTimeout(resolve, 3_000));
await scheduler.stop(); // waits for runs in flight, releases locks
await logger.flush(); // every line written before the process ends
