/**
 * Tells an outage from a death, for the reaper (the rule is documented on
 * `Backend.heartbeatInstance`): instances heartbeat every couple of seconds,
 * so a silence longer than half a lease means nobody could reach the store,
 * not that one instance died. Leases that ran out in such a silence get one
 * more lease from the first heartbeat after it.
 *
 * The memory backend keeps these three numbers here; the Redis backend keeps
 * the same three in the `{p}:heard` hash (heartbeat-instance.lua,
 * reap-stalled.lua) and must follow the same rule.
 */
export class OutageGrace {
  /** Backend time of the last instance heartbeat; null before the first. */
  private heardAt: number | null = null;
  /** The `ttlMs` that heartbeat announced. */
  private ttlMs = 0;
  /** No reaping before this (backend time). */
  private reapAfter = Number.NEGATIVE_INFINITY;

  /** An instance said it is alive for `ttlMs` more, at backend time `now`. */
  heard(now: number, ttlMs: number): void {
    if (this.heardAt !== null && now - this.heardAt > ttlMs / 2) this.reapAfter = now + ttlMs;
    this.heardAt = now;
    this.ttlMs = ttlMs;
  }

  /** Whether expired leases may be reaped at backend time `now`. */
  mayReap(now: number): boolean {
    if (this.heardAt === null) return true;
    return now - this.heardAt <= this.ttlMs / 2 && now >= this.reapAfter;
  }
}
