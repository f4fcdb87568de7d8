/**
 * Per-tenant one-off runs: "publish this post at 15:00 for tenant acme".
 *
 * Run: `npx tsx examples/social-posts/main.ts` (exits by itself, code 0 when
 * every post was published, 1 otherwise).
 *
 * Wired with the container (`schedulerModule` + `App`, in-memory backend);
 * the app is started and stopped by hand (`app.start()` / `app.stop()`)
 * instead of `app.run()`, since it ends by itself rather than on Ctrl-C.
 *
 * - `publish-post` is registered once per tenant (`acme`, `globex`): same
 *   name, different identity. It has no schedule: it only runs when triggered.
 * - Each post is a `trigger` with `params: { postId }`, `at` its publish time
 *   and `id: post-<postId>`, so triggering the same post twice is a no-op
 *   (`created: false`) — shown below.
 * - The handler hands `ctx.fencingToken` to the store, which refuses stale
 *   writers (see post-store.ts).
 */
import { Container } from 'inversify';
import { App, schedulerModule, TOKENS, type JobDefinition, type Logger, type Scheduler } from 'schedkit';
import { PostStore } from './post-store.js';

const TENANTS = ['acme', 'globex'] as const;
const store = new PostStore();

function publishPostJob(tenantId: string): JobDefinition<{ postId: string }> {
  return {
    name: 'publish-post',
    tenantId,
    retry: { maxRetries: 3, strategy: 'exponential', initialDelayMs: 200 },
    handler: (ctx) => {
      const result = store.publish(tenantId, ctx.params.postId, ctx.fencingToken);
      if (result === 'unknown-post') throw new Error(`no post ${ctx.params.postId}`);
      if (result === 'stale-token') {
        // A newer run of this job already wrote this post; this one must not (and must not retry).
        ctx.logger.warn('stale writer refused', { postId: ctx.params.postId, fencingToken: ctx.fencingToken });
        return;
      }
      ctx.logger.info(result === 'published' ? 'post published' : 'post was already published', {
        postId: ctx.params.postId,
        fencingToken: ctx.fencingToken,
        lateMs: Date.now() - ctx.scheduledAt.getTime(),
      });
    },
  };
}

const container = new Container();
container.load(schedulerModule());
container.bind(TOKENS.JobRegistrar).toConstantValue({
  register: async (scheduler) => {
    for (const tenantId of TENANTS) await scheduler.register(publishPostJob(tenantId));
  },
});
const app = new App(container);
const { scheduler, logger } = app;
await app.start();

// Subscribed before anything is triggered, so no success is missed. The
// deadline timer is the one thing keeping the process alive meanwhile.
const allPublished = new Promise<boolean>((resolve) => {
  const done = (ok: boolean): void => {
    off();
    clearTimeout(deadline);
    resolve(ok);
  };
  const off = scheduler.on('run:success', () => store.unpublished() === 0 && done(true));
  const deadline = setTimeout(() => done(false), 15_000);
});

const now = Date.now();
const plan = [
  { tenantId: 'acme', postId: 'a1', text: 'Spring sale starts now', inMs: 1_000 },
  { tenantId: 'globex', postId: 'g1', text: 'We are hiring', inMs: 1_200 },
  { tenantId: 'acme', postId: 'a2', text: 'Free shipping today', inMs: 1_500 },
  { tenantId: 'acme', postId: 'a3', text: 'Last day of the sale', inMs: 2_500 },
  { tenantId: 'globex', postId: 'g2', text: 'New office in Lyon', inMs: 3_000 },
];
for (const { tenantId, postId, text, inMs } of plan) {
  const at = new Date(now + inMs);
  store.add(tenantId, postId, text, at);
  await schedulePost(scheduler, logger, tenantId, postId, at);
}
// The same post again, with the same id: nothing is enqueued (created: false).
await schedulePost(scheduler, logger, 'acme', 'a1', new Date(now + 1_000));

const ok = await allPublished;
for (const post of store.all()) {
  logger.info('summary', {
    tenantId: post.tenantId,
    postId: post.id,
    publishAt: post.publishAt,
    publishedAt: post.publishedAt,
    fencingToken: post.publishedWith,
    publishCount: post.publishCount,
  });
}
// A stale writer: a run of acme's job holding an older token than the one that published a3.
const a3 = store.all().find((post) => post.id === 'a3');
if (a3?.publishedWith != null) {
  const result = store.publish('acme', 'a3', a3.publishedWith - 1);
  logger.info('stale writer tried to publish a3 again', { fencingToken: a3.publishedWith - 1, result });
}
logger[ok ? 'info' : 'error'](ok ? 'all posts published' : 'timed out waiting for posts', {
  posts: store.all().length,
  published: store.all().filter((post) => post.publishedAt !== null).length,
});

await app.stop(); // scheduler stops, then the backend; the logger is flushed last
process.exitCode = ok ? 0 : 1;

async function schedulePost(scheduler: Scheduler, logger: Logger, tenantId: string, postId: string, at: Date): Promise<void> {
  const run = await scheduler.trigger('publish-post', { tenantId, params: { postId }, at, id: `post-${postId}` });
  logger.info('post scheduled', { tenantId, postId, id: run.id, dueAt: run.dueAt, created: run.created });
}
