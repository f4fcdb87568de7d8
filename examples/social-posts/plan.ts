// What the web role schedules and the worker role expects: shared by both processes.

export const TENANTS = ['acme', 'globex'] as const;
export const PLATFORMS = ['x', 'mastodon'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** One `publish-post:<platform>` job per tenant and platform; runs of one tenant never overlap (`lockKey`). */
export const jobName = (platform: Platform): string => `publish-post:${platform}`;
export const lockKey = (tenantId: string): string => `posts:${tenantId}`;

/** Each platform's API limit, shared by every tenant's job that posts there. */
export const RATE_LIMITS: Record<Platform, { max: number; perMs: number }> = {
  x: { max: 2, perMs: 1_000 },
  mastodon: { max: 5, perMs: 1_000 },
};

/** How long one publish call to a platform takes (simulated). */
export const PUBLISH_MS = 200;

export interface PlannedPost {
  tenantId: (typeof TENANTS)[number];
  postId: string;
  platform: Platform;
  text: string;
  /** Publish time, in ms after the web role starts scheduling. */
  inMs: number;
}

/**
 * Four posts due at the same moment: three on x (over x's limit of 2 per
 * second, so one waits) and two of acme's (one lock group, so they take
 * turns). a3 is moved later; g3 is cancelled.
 */
export const PLAN: readonly PlannedPost[] = [
  { tenantId: 'acme', postId: 'a1', platform: 'x', text: 'Spring sale starts now', inMs: 1_500 },
  { tenantId: 'acme', postId: 'a2', platform: 'mastodon', text: 'Spring sale starts now', inMs: 1_500 },
  { tenantId: 'globex', postId: 'g1', platform: 'x', text: 'We are hiring', inMs: 1_500 },
  { tenantId: 'globex', postId: 'g2', platform: 'x', text: 'New office in Lyon', inMs: 1_500 },
  { tenantId: 'acme', postId: 'a3', platform: 'x', text: 'Last day of the sale', inMs: 2_500 },
  { tenantId: 'globex', postId: 'g3', platform: 'mastodon', text: 'Typo in the last post, ignore it', inMs: 3_500 },
];

/** a3 moves from 2.5 s to 4 s. */
export const MOVED = { postId: 'a3', toInMs: 4_000 } as const;
/** g3 never publishes. */
export const CANCELLED = { postId: 'g3' } as const;

/** The run id of a post: a second trigger with it is a no-op, and `getRun`, `cancel` and `reschedule` find the run by it. */
export const runId = (postId: string): string => `post-${postId}`;

export const planned = (postId: string): PlannedPost => {
  const post = PLAN.find((p) => p.postId === postId);
  if (post === undefined) throw new Error(`no post ${postId} in the plan`);
  return post;
};

/** Every process gives up after this long and exits 1. */
export const DEADLINE_MS = 30_000;
