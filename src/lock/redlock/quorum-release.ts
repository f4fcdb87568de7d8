import { isConnectionError } from '../../redis/connection.js';
import type { QuorumMasters } from './quorum-masters.js';
import { newLockValue, type QuorumHold, type RedlockExtension } from './redlock-extension.js';
import { lockRelease, queueWake, type LockKeys, type ReleaseReply } from './scripts.js';
import { count, settle } from './settle.js';

/**
 * Giving a lock back: release-4.lua on every master at once, which deletes
 * the key where it still holds our value and serves the waiting queue in the
 * same step. Not redlock's release: that one only deletes the key, so waking
 * (or handing the lock over to) the next waiter would cost a second round
 * trip, and it rejects when a quorum does not answer, where an unreleased
 * key is simply left to expire.
 */

/** A local waiter the release may hand the lock straight over to (one master only, see release-4.lua). */
export interface HandOver {
  readonly ticket: string;
  readonly ttlMs: number;
}

/** What a release did: with one master, it may have handed the lock over. */
export type ReleaseOutcome =
  | { readonly handedOver: false }
  | { readonly handedOver: true; readonly hold: QuorumHold; readonly fencingToken: number; readonly expiresAt: number };

const NOT_HANDED_OVER: ReleaseOutcome = { handedOver: false };

export class QuorumRelease {
  constructor(
    private readonly masters: QuorumMasters,
    private readonly holds: RedlockExtension,
    /** The wake-up channel a release publishes the head's ticket on. */
    private readonly channel: string,
  ) {}

  /**
   * Deletes the key wherever it still holds this value, and serves the
   * waiting queue: with one master in the same step (handing the lock over to
   * `handOver` when its ticket is at the head, else waking the head); with
   * several, the head is woken once a quorum has released, so that it finds
   * the lock free on a majority. Never rejects (an expired key is already
   * gone; unreachable masters let it expire).
   */
  async release(keys: LockKeys, hold: QuorumHold, handOver: HandOver | undefined): Promise<ReleaseOutcome> {
    const { value } = hold;
    const { clients, clock } = this.masters;
    const master = this.masters.queueMaster();
    if (this.masters.size === 1) {
      if (master === undefined) return NOT_HANDED_OVER;
      const started = clock.now();
      const next = handOver === undefined ? undefined : { ticket: handOver.ticket, value: newLockValue(), ttlMs: handOver.ttlMs };
      let reply: ReleaseReply;
      try {
        reply = await lockRelease(clients[0]!, keys, value, this.channel, { kind: 'serve', handOver: next });
      } catch (error) {
        if (isConnectionError(error)) this.masters.markSuspect(0);
        return NOT_HANDED_OVER;
      }
      if (reply.next !== 'handed-over' || next === undefined) return NOT_HANDED_OVER;
      // The new key was set after `started`: its validity counts from there.
      const expiresAt = this.masters.validUntil(started, next.ttlMs);
      return { handedOver: true, hold: this.holds.hold(keys, next.value, expiresAt), fencingToken: reply.fence, expiresAt };
    }
    const calls = clients.map((client, i) =>
      this.masters.watch(i, settle(lockRelease(client, keys, value, this.channel, { kind: i === master ? 'report' : 'plain' }))),
    );
    await this.masters.gatherWithQueueView(
      calls,
      (s) => count(s) >= this.masters.quorum,
      (s) => master === undefined || s[master] !== undefined,
    );
    if (master !== undefined) {
      void calls[master]!.then((outcome) => {
        if (outcome.ok && outcome.value.next === 'waiting') queueWake(clients[master]!, keys, this.channel).catch(() => undefined);
      });
    }
    return NOT_HANDED_OVER;
  }

  /** Deletes an attempt's value wherever it is (an attempt without a quorum, or one too slow to count). Never rejects. */
  async releaseValue(keys: LockKeys, value: string): Promise<void> {
    // Alone, the master also wakes the head: nobody else will.
    const mode = this.masters.size === 1 ? ({ kind: 'serve', handOver: undefined } as const) : ({ kind: 'plain' } as const);
    await Promise.all(this.masters.clients.map((client) => lockRelease(client, keys, value, this.channel, mode).catch(() => undefined)));
  }
}
