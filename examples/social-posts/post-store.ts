// The worker's stand-in for the platforms: an in-memory post store that fences its writers.

export interface Post {
  readonly tenantId: string;
  readonly id: string;
  readonly platform: string;
  /** The time the run that published it was for (`ctx.scheduledAt`: a moved post's new time). */
  scheduledAt: Date | null;
  /** When the publish call that published it started. */
  startedAt: Date | null;
  publishedAt: Date | null;
  /** The fencing token of the run that published it. */
  publishedWith: number | null;
  /** How many times it was published: must end at exactly 1. */
  publishCount: number;
}

export type PublishResult = 'published' | 'already-published' | 'stale-token' | 'unknown-post';

export class PostStore {
  private readonly posts = new Map<string, Post>();
  /** The highest fencing token seen per post. */
  private readonly highestToken = new Map<string, number>();

  add(tenantId: string, id: string, platform: string): Post {
    const post: Post = { tenantId, id, platform, scheduledAt: null, startedAt: null, publishedAt: null, publishedWith: null, publishCount: 0 };
    this.posts.set(`${tenantId}/${id}`, post);
    return post;
  }

  get(tenantId: string, id: string): Post | undefined {
    return this.posts.get(`${tenantId}/${id}`);
  }

  all(): Post[] {
    return [...this.posts.values()];
  }

  /**
   * Publishes a post for a run that holds `fencingToken` (`ctx.fencingToken`),
   * is for `scheduledAt` and whose publish call started at `startedAt`.
   *
   * Why the token: a run's lock has a TTL. A run that stalls (a long GC
   * pause, a frozen VM, a network partition) can lose its lock while another
   * instance takes the run over with a higher token; when the stale run wakes
   * up it does not know, and would write after the newer one. The lock cannot
   * stop that write, the store can: it keeps the highest token it has seen for
   * each post and refuses any write carrying a lower one.
   */
  publish(tenantId: string, id: string, fencingToken: number, scheduledAt: Date, startedAt: Date): PublishResult {
    const key = `${tenantId}/${id}`;
    const post = this.posts.get(key);
    if (post === undefined) return 'unknown-post';
    if (fencingToken < (this.highestToken.get(key) ?? 0)) return 'stale-token';
    this.highestToken.set(key, fencingToken);
    // A retry of a run whose write succeeded but whose outcome was lost: publish once.
    if (post.publishedAt !== null) return 'already-published';
    post.scheduledAt = scheduledAt;
    post.startedAt = startedAt;
    post.publishedAt = new Date();
    post.publishedWith = fencingToken;
    post.publishCount++;
    return 'published';
  }
}
