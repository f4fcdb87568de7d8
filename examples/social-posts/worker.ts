/**
 * The worker process of the social-posts example, on Redis: registers the
 * publish-post jobs and publishes the posts the web process schedules.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/social-posts/worker.ts
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/social-posts/web.ts     # in another terminal
 *
 * Exits by itself (code 0) once every post of the plan but the cancelled one
 * is published exactly once and nothing is left pending. Keys live under the
 * prefix `SOCIAL_POSTS_PREFIX` (default `social-posts`): the run ids are fixed
 * (`post-a1`, ...), so a second run against the same Redis needs a fresh
 * prefix, or the triggers find the finished runs (`created: false`) and
 * nothing is published. One process with no Redis: main.ts.
 */
import { Container } from 'inversify';
import { App, redisBackendModule, schedulerModule, TOKENS } from 'schedkit';
import { PostStore } from './post-store.js';
import { awaitWorkerDone, registerPublishJobs } from './worker-role.js';

const store = new PostStore();
const container = new Container();
container.load(
  schedulerModule(),
  redisBackendModule({ url: process.env.REDIS_URL, prefix: process.env.SOCIAL_POSTS_PREFIX ?? 'social-posts' }),
);
container.bind(TOKENS.JobRegistrar).toConstantValue({ register: (scheduler) => registerPublishJobs(scheduler, store) });
const app = new App(container);
await app.start();

const ok = await awaitWorkerDone(app.scheduler, store, app.logger.child({ role: 'worker' }));
await app.stop();
process.exitCode = ok ? 0 : 1;
