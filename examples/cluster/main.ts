/**
 * One instance of a service on Redis. Run as many as you like against the
 * same Redis: every slot runs once, somewhere in the fleet.
 *
 *   SCHEDKIT_REDIS_URL=redis://127.0.0.1:6379 SCHEDKIT_INSTANCE_ID=a npx tsx examples/cluster/main.ts
 *   SCHEDKIT_REDIS_URL=redis://127.0.0.1:6379 SCHEDKIT_INSTANCE_ID=b npx tsx examples/cluster/main.ts
 *
 * (`npx tsx examples/cluster/demo.ts` starts a private Redis and three of
 * these for you.) Ctrl-C stops an instance gracefully; the others take over
 * its share of the slots.
 */
import { Container } from 'inversify';
import { App, configFromEnv, redisBackendModule, schedulerModule, TOKENS } from 'schedkit';

const container = new Container();
container.load(
  schedulerModule(configFromEnv(process.env)), // SCHEDKIT_INSTANCE_ID, SCHEDKIT_REDIS_URL, ...
  redisBackendModule({ prefix: 'cluster-example' }), // url from SCHEDKIT_REDIS_URL
);

container.bind(TOKENS.JobRegistrar).toConstantValue({
  async register(scheduler) {
    await scheduler.register({
      name: 'send-digest',
      schedule: '*/2 * * * * *', // every 2 s: once per slot across all instances
      handler: (ctx) => ctx.logger.info('digest sent', { slot: ctx.scheduledAt, by: scheduler.instanceId, fencingToken: ctx.fencingToken }),
    });
    await scheduler.register({
      name: 'rebuild-index',
      schedule: { every: '3s' },
      overlap: 'skip', // never two copies at once, cluster-wide
      handler: async (ctx) => {
        ctx.logger.info('index rebuilt', { slot: ctx.scheduledAt, by: scheduler.instanceId });
      },
    });
  },
});

await new App(container).run();
