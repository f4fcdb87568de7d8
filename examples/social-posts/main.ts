/**
 * Social posts, scheduled by a web process and published by workers, in one
 * process with zero infrastructure.
 *
 * Run: `npx tsx examples/social-posts/main.ts` (exits by itself: code 0 when
 * every post was published exactly once, the cancelled one never and the
 * moved one at its new time; 1 otherwise).
 *
 * Two roles share one store:
 * - the web role (web-role.ts) has only a `SchedulerClient`: it schedules six
 *   posts (`trigger` with `at`, `id`, `params`), lists them (`listRuns`),
 *   moves one (`reschedule`) and cancels one (`cancel`). It has no handler and
 *   runs nothing.
 * - the worker role (worker-role.ts) registers `publish-post:x` and
 *   `publish-post:mastodon` for tenants acme and globex, with the platform's
 *   rate limit (`platform:x`: 2 per second, for both tenants) and the
 *   tenant's lock group (`posts:acme`: one publish at a time per tenant), and
 *   publishes them.
 *
 * Here both roles run in this one process on one in-memory backend: the
 * client (`schedulerClientModule()`) shares the scheduler's `MemoryBackend`,
 * which is what two processes cannot share. To run them as two processes,
 * give them a Redis: worker.ts and web.ts, the same roles with
 * `redisBackendModule`.
 */
import { Container } from 'inversify';
import { App, schedulerClientModule, schedulerModule, TOKENS } from 'schedkit';
import { PostStore } from './post-store.js';
import { runWeb } from './web-role.js';
import { awaitWorkerDone, registerPublishJobs } from './worker-role.js';

const store = new PostStore();
const container = new Container();
container.load(schedulerModule(), schedulerClientModule()); // one in-memory backend: the scheduler's and the client's
container.bind(TOKENS.JobRegistrar).toConstantValue({ register: (scheduler) => registerPublishJobs(scheduler, store) });
const app = new App(container);
await app.start();

const client = container.get(TOKENS.SchedulerClient);
const [workerOk, webOk] = await Promise.all([
  awaitWorkerDone(app.scheduler, store, app.logger.child({ role: 'worker' })),
  runWeb(client, app.logger.child({ role: 'web' })).catch((error: unknown) => {
    app.logger.error('web role failed', { err: error });
    return false;
  }),
]);

await app.stop(); // scheduler stops, then the backend; the logger is flushed last
process.exitCode = workerOk && webOk ? 0 : 1;
