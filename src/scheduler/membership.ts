/**
 * Which instance claims a slot first. Every instance learns the live
 * instances from the backend (`heartbeatInstance`) and ranks them for each
 * (job, slot) by rendezvous hashing: the top one claims at the slot time, the
 * others only after `takeoverDelayMs`, in case it is dead or busy. Runs thus
 * spread evenly over healthy instances instead of always going to the one
 * whose timer fires first, and losing claims mostly find the slot already
 * taken. Correctness never depends on this: the backend's claim decides.
 */
export class Membership {
  private alive: readonly string[] = [];

  constructor(
    private readonly instanceId: string,
    private readonly takeoverDelayMs: number,
  ) {}

  /** The live instances, as the backend last reported them. */
  get instances(): readonly string[] {
    return this.alive;
  }

  update(alive: readonly string[]): void {
    this.alive = alive;
  }

  /** 0 when this instance should claim the slot now; otherwise the delay before it tries. */
  claimDelay(key: string, slot: number): number {
    if (this.alive.length <= 1 || this.takeoverDelayMs === 0) return 0;
    const suffix = `|${key}|${slot}`;
    let best = -1;
    let bestId = '';
    for (const id of this.alive) {
      const score = fnv1a(id + suffix);
      if (score > best || (score === best && id < bestId)) {
        best = score;
        bestId = id;
      }
    }
    return bestId === this.instanceId ? 0 : this.takeoverDelayMs;
  }
}

/** FNV-1a, 32 bits: fast, and spreads similar strings well enough for ranking. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
