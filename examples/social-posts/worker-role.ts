// The worker role: registers the publish-post jobs, runs them, and checks what it published.
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobDefinition, Logger, Scheduler } from 'schedkit';
import { CANCELLED, DEADLINE_MS, PLAN, PLATFORMS, PUBLISH_MS, RATE_LIMITS, TENANTS, jobName, lockKey, runId, type Platform } from './plan.js';
import { PostStore } from './post-store.js';

/** The rate limit counts claims; a handler starts a few ms after its claim, so starts are checked with this slack. */
const START_SLACK_MS = 50;

/**
 * One job per tenant and platform. `rateLimit` is keyed by platform, so
 * acme's and globex's x jobs share x's limit; `lockKey` is keyed by tenant,
 * so acme's x and mastodon jobs never publish at the same time.
 */
export function publishPostJob(store: PostStore, tenantId: string, platform: Platform): JobDefinition<{ postId: string }> {
  return {
    name: jobName(platform),
    tenantId,
    rateLimit: { key: `platform:${platform}`, ...RATE_LIMITS[platform] },
    lockKey: lockKey(tenantId),
    retry: { maxRetries: 3, strategy: 'exponential', initialDelayMs: 200 },
    handler: async (ctx) => {
      const startedAt = new Date();
      await sleep(PUBLISH_MS, undefined, { signal: ctx.signal }); // the platform's API call
      const result = store.publish(tenantId, ctx.params.postId, ctx.fencingToken, ctx.scheduledAt, startedAt);
      if (result === 'unknown-post') throw new Error(`no post ${ctx.params.postId}`);
      if (result === 'stale-token') {
        // A newer run already wrote this post; this one must not (and must not retry).
        ctx.logger.warn('stale writer refused', { postId: ctx.params.postId, fencingToken: ctx.fencingToken });
        return;
      }
      ctx.logger.info(result === 'published' ? 'post published' : 'post was already published', {
        postId: ctx.params.postId,
        platform,
        scheduledAt: ctx.scheduledAt,
        startedAt,
        lateMs: startedAt.getTime() - ctx.scheduledAt.getTime(),
        fencingToken: ctx.fencingToken,
      });
    },
  };
}

/** Registers every tenant's publish-post jobs on `scheduler`, publishing into `store`. */
export async function registerPublishJobs(scheduler: Scheduler, store: PostStore): Promise<void> {
  for (const post of PLAN) store.add(post.tenantId, post.postId, post.platform);
  for (const tenantId of TENANTS) {
    for (const platform of PLATFORMS) await scheduler.register(publishPostJob(store, tenantId, platform));
  }
}

/**
 * Resolves once every post of the plan but the cancelled one is published
 * and no run is pending or running any more; then checks and logs what
 * happened. True when every check held.
 */
export async function awaitWorkerDone(scheduler: Scheduler, store: PostStore, logger: Logger): Promise<boolean> {
  const deadline = Date.now() + DEADLINE_MS;
  const expected = PLAN.filter((post) => post.postId !== CANCELLED.postId);
  const cancelled = PLAN.find((post) => post.postId === CANCELLED.postId)!;
  for (;;) {
    const published = expected.every((post) => store.get(post.tenantId, post.postId)?.publishedAt != null);
    if (published && (await nothingLeft(scheduler))) {
      const run = await scheduler.getRun(runId(cancelled.postId), { tenantId: cancelled.tenantId });
      if (run?.outcome === 'cancelled') break;
    }
    if (Date.now() > deadline) {
      logger.error('timed out waiting for the posts', { published: store.all().filter((p) => p.publishedAt !== null).map((p) => p.id) });
      return false;
    }
    await sleep(100);
  }
  return check(store, logger);
}

/** No run of any tenant is pending, retrying or running. */
async function nothingLeft(scheduler: Scheduler): Promise<boolean> {
  for (const tenantId of TENANTS) {
    const { runs } = await scheduler.listRuns({ tenantId });
    if (runs.length > 0) return false;
  }
  return true;
}

function check(store: PostStore, logger: Logger): boolean {
  const posts = store.all();
  for (const post of posts) {
    logger.info('summary', {
      tenantId: post.tenantId,
      postId: post.id,
      platform: post.platform,
      scheduledAt: post.scheduledAt,
      startedAt: post.startedAt,
      publishedAt: post.publishedAt,
      publishCount: post.publishCount,
      fencingToken: post.publishedWith,
    });
  }
  const publishedOnce = posts.every((post) => post.publishCount === (post.id === CANCELLED.postId ? 0 : 1));
  // None published before the time its run was for (a moved post's new time).
  const notEarly = posts.every((post) => post.startedAt === null || post.startedAt >= post.scheduledAt!);
  // Publish calls of one tenant never overlap: its jobs share a lock group.
  const tenantsTookTurns = TENANTS.every((tenantId) => {
    const spans = published(posts.filter((p) => p.tenantId === tenantId)).sort((a, b) => a.start - b.start);
    return spans.every((span, i) => i === 0 || span.start >= spans[i - 1]!.end);
  });
  // At most `max` publish calls start on a platform in any `perMs` window.
  const platformsWithinLimit = PLATFORMS.every((platform) => {
    const { max, perMs } = RATE_LIMITS[platform];
    const starts = published(posts.filter((p) => p.platform === platform))
      .map((span) => span.start)
      .sort((a, b) => a - b);
    return starts.every((start, i) => i < max || start - starts[i - max]! >= perMs - START_SLACK_MS);
  });
  const ok = publishedOnce && notEarly && tenantsTookTurns && platformsWithinLimit;
  logger[ok ? 'info' : 'error'](ok ? 'worker: every post published once, the cancelled one never' : 'worker: a check failed', {
    publishedOnce,
    notEarly,
    tenantsTookTurns,
    platformsWithinLimit,
    published: posts.filter((p) => p.publishedAt !== null).length,
  });
  return ok;
}

function published(posts: readonly { startedAt: Date | null; publishedAt: Date | null }[]): { start: number; end: number }[] {
  return posts.flatMap((p) => (p.startedAt === null || p.publishedAt === null ? [] : [{ start: p.startedAt.getTime(), end: p.publishedAt.getTime() }]));
}
