// The jobs of the main example: a JobRegistrar (the init hook) and a class
// with a @Scheduled method. Both get the container's Logger by injection.
import { setTimeout as sleep } from 'node:timers/promises';
import { inject } from 'inversify';
import { Scheduled, TOKENS, type JobRegistrar, type Logger, type RunContext, type Scheduler } from 'schedkit';

/** Registers the demo's jobs before the scheduler starts (multi-bound `TOKENS.JobRegistrar`). */
export class DemoJobs implements JobRegistrar {
  constructor(@inject(TOKENS.Logger) private readonly logger: Logger) {}

  async register(scheduler: Scheduler): Promise<void> {
    // Cron with a seconds field: every even second. Paused from ~4 s to ~7 s by the Demo.
    await scheduler.register({
      name: 'heartbeat',
      schedule: '*/2 * * * * *',
      handler: (ctx) => ctx.logger.info('cron run', { slot: ctx.scheduledAt }),
    });

    // Trigger-only job (no schedule): one-off runs with their own params.
    await scheduler.register({
      name: 'send-email',
      handler: (ctx) => ctx.logger.info('one-off run: email sent', { params: ctx.params }),
    });

    // Fails on attempts 1 and 2, succeeds on 3; retried after a fixed 500 ms.
    await scheduler.register({
      name: 'flaky-import',
      retry: { maxRetries: 3, strategy: 'fixed', initialDelayMs: 500, jitter: 'none' },
      handler: (ctx) => {
        if (ctx.attempt < 3) throw new Error(`upstream busy (attempt ${ctx.attempt})`);
        ctx.logger.info('import succeeded', { params: ctx.params });
      },
    });

    // Takes 2 s but may only take 300 ms: the signal aborts with a TimeoutError (E_TIMEOUT).
    await scheduler.register({
      name: 'slow-report',
      timeoutMs: 300,
      retry: false,
      handler: async (ctx) => {
        ctx.logger.info('building report (needs 2 s, timeout 300 ms)');
        try {
          await sleep(2_000, undefined, { signal: ctx.signal }); // stops as soon as the signal aborts
        } catch (error) {
          ctx.logger.info('report stopped: its signal aborted', { reason: (ctx.signal.reason as Error).message });
          throw error;
        }
      },
    });
    this.logger.info('demo jobs registered', { jobs: ['heartbeat', 'send-email', 'flaky-import', 'slow-report'] });
  }
}

/** A provider discovered by the App: its @Scheduled methods become jobs. */
export class InventoryJobs {
  private runs = 0;

  constructor(@inject(TOKENS.Logger) private readonly logger: Logger) {}

  // An interval job, slots aligned to the epoch: every 3 s on every instance.
  @Scheduled({ name: 'inventory-sync', schedule: { every: '3s' }, params: { warehouse: 'berlin' } })
  async sync(ctx: RunContext): Promise<void> {
    this.runs++;
    this.logger.info('interval run', { job: ctx.name, slot: ctx.scheduledAt, params: ctx.params, runs: this.runs });
  }
}
