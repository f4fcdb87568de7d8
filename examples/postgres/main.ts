/**
 * One instance of a service on PostgreSQL. Run as many as you like against
 * the same database: every slot runs once, somewhere in the fleet.
 *
 *   SCHEDKIT_POSTGRES_URL=postgresql://app@127.0.0.1:5432/app SCHEDKIT_INSTANCE_ID=a npx tsx examples/postgres/main.ts
 *   SCHEDKIT_POSTGRES_URL=postgresql://app@127.0.0.1:5432/app SCHEDKIT_INSTANCE_ID=b npx tsx examples/postgres/main.ts
 *
 * The first instance to start creates the schema `jobs_example` and its
 * tables (the migrations run under an advisory lock, so instances starting
 * together apply them once). `npx tsx examples/postgres/demo.ts` starts a
 * private PostgreSQL and three of these for you. Ctrl-C stops an instance
 * gracefully; the others take over its share of the slots.
 */
import { Container } from 'inversify';
import { App, configFromEnv, schedulerModule, TOKENS } from 'schedkit';
import { postgresBackendModule } from 'schedkit/postgres';

const container = new Container();
container.load(
  schedulerModule(configFromEnv(process.env)), // SCHEDKIT_INSTANCE_ID, SCHEDKIT_POSTGRES_URL, ...
  postgresBackendModule({ schema: 'jobs_example' }), // connection string from SCHEDKIT_POSTGRES_URL
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
