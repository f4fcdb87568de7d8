// The scripted part of the main example: one-off triggers, pause/resume, and
// logging of the scheduler's failure events.
import { inject } from 'inversify';
import { TOKENS, type Logger, type Scheduler } from 'schedkit';

export class Demo {
  private readonly logger: Logger;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(@inject(TOKENS.Scheduler) private readonly scheduler: Scheduler, @inject(TOKENS.Logger) logger: Logger) {
    this.logger = logger.child({ component: 'demo' });
    // Subscribed at construction, before anything runs.
    scheduler.on('run:retry', (e) =>
      this.logger.warn('event run:retry', { job: e.name, attempt: e.attempt, nextAttempt: e.nextAttempt, retryAt: e.retryAt, error: e.error.message }),
    );
    scheduler.on('run:timeout', (e) =>
      this.logger.warn('event run:timeout', { job: e.name, attempt: e.attempt, durationMs: e.durationMs, code: (e.error as { code?: string }).code }),
    );
    scheduler.on('run:failure', (e) => {
      if (!e.willRetry) this.logger.error('event run:failure: giving up', { job: e.name, attempt: e.attempt, outcome: e.outcome, error: e.error.message });
    });
  }

  /** Hook `demo`, appended after `scheduler`: the story starts once the jobs are running. */
  async start(): Promise<void> {
    const email = await this.scheduler.trigger('send-email', {
      params: { to: 'ada@example.com', template: 'welcome' },
      at: new Date(Date.now() + 1_000),
      id: 'welcome-ada',
    });
    this.logger.info('triggered one-off run', { job: email.name, id: email.id, dueAt: email.dueAt, created: email.created });
    await this.scheduler.trigger('flaky-import', { params: { file: 'prices.csv' }, id: 'import-prices' });
    await this.scheduler.trigger('slow-report', { at: new Date(Date.now() + 2_000), id: 'report-q3' });

    this.after(4_000, 'paused job: its slots pass without running', () => this.scheduler.pause('heartbeat'));
    this.after(7_000, 'resumed job: it runs again from its next slot', () => this.scheduler.resume('heartbeat'));
  }

  /** Clears the pending timers, so nothing fires during or after the stop. */
  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private after(ms: number, done: string, action: () => Promise<void>): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      action().then(
        () => this.logger.info(done, { job: 'heartbeat' }),
        (error: unknown) => this.logger.error('pause/resume failed', { job: 'heartbeat', err: error }),
      );
    }, ms);
    timer.unref(); // never keeps the process alive on its own
    this.timers.add(timer);
  }
}
