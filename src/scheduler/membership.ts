/**
 * Which instances claim a slot. Every instance learns the live instances
 * from the backend (`heartbeatInstance`) and ranks them for each (job, slot)
 * by rendezvous hashing: the first claims at the slot time, the second only
 * after `takeoverDelayMs`, in case the first is dead or busy, and the others
 * not at all. Runs thus spread evenly over healthy instances, and the store
 * sees at most two claims per slot however many instances there are: adding
 * instances adds capacity, not per-run work (SPEC §16).
 *
 * The backend's claim still decides who runs a slot; ranking only decides
 * who asks. Views of the live set differ for up to one heartbeat between
 * instances (one joined, one left): then a slot may get a claim from both
 * the old and the new first, which the claim settles. A slot is left
 * unclaimed only when both of its first two instances died within the same
 * instant, before the others' next heartbeat; the slot is then lost unless
 * its job's misfire policy catches it up on a later plan, and the gap shows
 * in the job's history as a missing slot. With `takeoverDelayMs: 0` every
 * instance claims every slot at once (no ranking).
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

  /**
   * When this instance claims the slot: 0 (now: it is the slot's first, or
   * ranking is off), `takeoverDelayMs` (it is second), or null (never: two
   * others come first).
   */
  claimDelay(key: string, slot: number): number | null {
    if (this.takeoverDelayMs === 0 || this.alive.length === 0 || (this.alive.length === 1 && this.alive[0] === this.instanceId)) return 0;
    const suffix = `|${key}|${slot}`;
    const own = fnv1a(this.instanceId + suffix);
    // This instance's rank: how many live instances score above it (ties by id).
    let above = 0;
    for (const id of this.alive) {
      if (id === this.instanceId) continue;
      const score = fnv1a(id + suffix);
      if (score > own || (score === own && id < this.instanceId)) {
        if (++above === 2) return null;
      }
    }
    return above === 0 ? 0 : this.takeoverDelayMs;
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
