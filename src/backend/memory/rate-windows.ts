/**
 * The rate limits of a memory backend: a sliding-window log of start times
 * per rate key (the Redis backend keeps the same log in a sorted set per key).
 * Separate because the rule is shared by slot claims and due-run claims, and
 * reads best as one small class over backend time.
 */
import type { RateLimit } from '../backend.js';

/** Start times per rate key, oldest first, pruned to the claiming job's window as they are read. */
export class RateWindows {
  private readonly starts = new Map<string, number[]>();

  /**
   * How long until `limit` has room at backend time `now`: 0 when a run may
   * start now. A start at `t` counts while `now < t + perMs`.
   */
  waitMs(limit: RateLimit, now: number): number {
    const log = this.starts.get(limit.key);
    if (log === undefined) return 0;
    const cutoff = now - limit.perMs;
    let expired = 0;
    while (expired < log.length && log[expired]! <= cutoff) expired++;
    if (expired > 0) log.splice(0, expired);
    if (log.length === 0) {
      this.starts.delete(limit.key);
      return 0;
    }
    if (log.length < limit.max) return 0;
    // Room comes back when enough of the oldest starts leave the window.
    return Math.max(1, log[log.length - limit.max]! + limit.perMs - now);
  }

  /** Records a start under `limit` at `now` (the caller checked `waitMs` first). */
  take(limit: RateLimit, now: number): void {
    const log = this.starts.get(limit.key);
    if (log === undefined) this.starts.set(limit.key, [now]);
    else log.push(now);
  }
}
