/**
 * An app for `schedkit run`: the default export is a function returning a
 * container (memory backend; one job every second that logs `tick`).
 */
import { Container } from 'inversify';
import { schedulerModule, TOKENS, type JobRegistrar } from 'schedkit';

export default function app(): Container {
  const container = new Container();
  container.load(schedulerModule({ instanceId: 'cli-run' }));
  container.bind<JobRegistrar>(TOKENS.JobRegistrar).toConstantValue({
    async register(scheduler) {
      await scheduler.register({ name: 'tick', schedule: '* * * * * *', handler: (ctx) => ctx.logger.info('tick', { slot: ctx.scheduledAt }) });
    },
  });
  return container;
}
