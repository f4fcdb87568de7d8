// An in-memory post store that fences its writers.

export interface Post {
  readonly tenantId: string;
  readonly id: string;
  readonly text: string;
  readonly publishAt: Date;
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

  add(tenantId: string, id: string, text: string, publishAt: Date): Post {
    const post: Post = { tenantId, id, text, publishAt, publishedAt: null, publishedWith: null, publishCount: 0 };
    this.posts.set(`${tenantId}/${id}`, post);
    return post;
  }

  all(): Post[] {
    return [...this.posts.values()];
  }

  unpublished(): number {
    return this.all().filter((post) => post.publishedAt === null).length;
  }

  /**
   * Publishes a post for a run that holds `fencingToken` (`ctx.fencingToken`).
   *
   * Why the token: a run's lock has a TTL. A run that stalls (a long GC
   * pause, a frozen VM, a network partition) can lose its lock while another
   * instance takes the run over with a higher token; when the stale run wakes
   * up it does not know, and would write after the newer one. The lock cannot
   * stop that write, the store can: it keeps the highest token it has seen for
   * each post and refuses any write carrying a lower one.
   */
  publish(tenantId: string, id: string, fencingToken: number): PublishResult {
    const key = `${tenantId}/${id}`;
    const post = this.posts.get(key);
    if (post === undefined) return 'unknown-post';
    if (fencingToken < (this.highestToken.get(key) ?? 0)) return 'stale-token';
    this.highestToken.set(key, fencingToken);
    // A retry of a run whose write succeeded but whose outcome was lost: publish once.
    if (post.publishedAt !== null) return 'already-published';
    post.publishedAt = new Date();
    post.publishedWith = fencingToken;
    post.publishCount++;
    return 'published';
  }
}
