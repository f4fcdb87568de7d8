/**
 * The web process of the social-posts example, on Redis: schedules, lists,
 * moves and cancels posts with a `SchedulerClient`. It registers no job and
 * runs nothing (`schedulerModule({ client: true })` binds the client and no
 * scheduler); a worker process (worker.ts) publishes the posts.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/social-posts/worker.ts
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/social-posts/web.ts     # in another terminal
 *
 * It may start first: it waits (up to 30 s) until a worker has stored the
 * jobs, since a client never creates one. Exits by itself (code 0) once every
 * post's run has finished as planned. Same prefix as the worker:
 * `SOCIAL_POSTS_PREFIX` (default `social-posts`).
 */
import { Container } from 'inversify';
import { App, redisBackendModule, schedulerModule, TOKENS } from 'schedkit';
import { runWeb } from './web-role.js';

const container = new Container();
container.load(
  schedulerModule({ client: true }),
  redisBackendModule({ url: process.env.REDIS_URL, prefix: process.env.SOCIAL_POSTS_PREFIX ?? 'social-posts' }),
);
const app = new App(container);
await app.start();

const logger = app.logger.child({ role: 'web' });
const ok = await runWeb(container.get(TOKENS.SchedulerClient), logger).catch((error: unknown) => {
  logger.error('web role failed', { err: error });
  return false;
});
await app.stop();
process.exitCode = ok ? 0 : 1;
