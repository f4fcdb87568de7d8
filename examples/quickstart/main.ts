// schedkit in 30 seconds: npx tsx examples/quickstart/main.ts, Ctrl-C to stop.
import { setTimeout as sleep } from 'node:timers/promises';
import { Container } from 'inversify';
import { App, schedulerModule, TOKENS } from 'schedkit';

const container = new Container();
container.load(schedulerModule({ maxConcurrent: 20 })); // in-memory backend, winston logger

container.bind(TOKENS.JobRegistrar).toConstantValue({
  async register(scheduler) {
    await scheduler.register({
      name: 'cleanup',
      schedule: '*/2 * * * * *', // cron with seconds: every 2 s
      handler: (ctx) => ctx.logger.info('cleaning up', { slot: ctx.scheduledAt }),
    });
    await scheduler.register({
      name: 'sync-prices',
      schedule: { every: '3s' }, // interval, aligned across instances
      timeoutMs: 10_000, // then ctx.signal aborts
      retry: { maxRetries: 3, strategy: 'exponential', initialDelayMs: 1_000 },
      handler: async (ctx) => {
        await sleep(200, undefined, { signal: ctx.signal }); // your I/O here, given ctx.signal
        ctx.logger.info('prices synced', { slot: ctx.scheduledAt });
      },
    });
  },
});

await new App(container).run(); // start; wait for Ctrl-C or SIGTERM; stop gracefully; exit 0
