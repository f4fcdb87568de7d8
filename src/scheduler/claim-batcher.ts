import type { Backend, SlotClaim, SlotClaimResult } from '../backend/backend.js';

/** Claims per backend call, so one call never grows without bound (each is one Lua script on Redis). */
export const MAX_CLAIMS_PER_CALL = 500;

interface Waiting {
  readonly claim: SlotClaim;
  readonly resolve: (result: SlotClaimResult) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Gathers the slot claims made in one turn of the event loop and sends them
 * to the backend together (`claimSlots`): when a thousand jobs share a
 * second, their claims cost one round trip instead of a thousand. Each
 * caller still gets its own result (or the call's error).
 */
export class ClaimBatcher {
  private waiting: Waiting[] = [];

  constructor(private readonly backend: Backend) {}

  claim(claim: SlotClaim): Promise<SlotClaimResult> {
    return new Promise((resolve, reject) => {
      // Flushed after the microtasks already queued: the other runs of the
      // same wake reach this point in those, and join the batch.
      if (this.waiting.length === 0) queueMicrotask(() => this.flush());
      this.waiting.push({ claim, resolve, reject });
    });
  }

  private flush(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (let from = 0; from < waiting.length; from += MAX_CLAIMS_PER_CALL) {
      const batch = waiting.slice(from, from + MAX_CLAIMS_PER_CALL);
      this.backend.claimSlots(batch.map((w) => w.claim)).then(
        (results) => {
          if (results.length !== batch.length) {
            const error = new Error(`backend answered ${results.length} results for ${batch.length} slot claims`);
            batch.forEach((w) => w.reject(error));
            return;
          }
          batch.forEach((w, i) => w.resolve(results[i]!));
        },
        (error: unknown) => batch.forEach((w) => w.reject(error)),
      );
    }
  }
}
