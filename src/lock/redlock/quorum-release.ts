import { isConnectionError } from '../../redis/connection.js';
import type { QuorumMasters } from './quorum-masters.js';
import type { QuorumHold } from './redlock-extension.js';
import { grantOf, type Grant, type ReleasedGrant } from './lock-grant.js';
import { lockRelease, type LockKeys, type ReleaseReply } from './scripts.js';
import { count, gather, settle } from './settle.js';

/**
 * Giving a lock back: release-4.lua on every master at once, which deletes
 * the key where it still holds our value and serves the waiting queue in the
 * same step. Not redlock's release: that one only deletes the key, so
 * granting the lock to (or waking) the next waiter would cost a second round
 * trip, and it rejects when a quorum does not answer, where an unreleased
 * key is simply left to expire.
 */

/**
 * What a release did: with one master, it may have granted the lock to the
 * waiter at the head of the queue (in this process or another).
 */
export type ReleaseOutcome =
  | {
      readonly granted: false;
      /** With several masters: resolves true when the queue master woke the `quiet` waiter (told by its reply, not by a message). */
      readonly wokeQuiet?: Promise<boolean>;
    }
  | {
      readonly granted: true;
      /** The waiter's ticket and the value the lock key now holds (`<ticket>#<fence>`). */
      readonly grant: Grant;
      /** When the grant was made (after our release was sent), and the expiry it gave the key. */
      readonly told: ReleasedGrant;
    };

const NOT_GRANTED: ReleaseOutcome = { granted: false };

export class QuorumRelease {
  constructor(
    private readonly masters: QuorumMasters,
    /** The wake-up channel (see `channelOf` in lua/includes/queue.lua). */
    private readonly channel: string,
  ) {}

  /**
   * Deletes the key wherever it still holds this value, and serves the
   * waiting queue in the same step: with one master the lock is granted to
   * the live head of the queue; with several, the queue master wakes the head
   * (which then takes the lock with its own attempt). `quiet` names a waiter
   * of this process, which the reply tells instead of a message. Never rejects (an expired key is already gone; unreachable
   * masters let it expire).
   */
  async release(keys: LockKeys, hold: QuorumHold, quiet: string): Promise<ReleaseOutcome> {
    const { value } = hold;
    const { clients, clock } = this.masters;
    const master = this.masters.queueMaster();
    if (this.masters.size === 1) {
      if (master === undefined) return NOT_GRANTED;
      const sentAt = clock.now();
      let reply: ReleaseReply;
      try {
        reply = await lockRelease(clients[0]!, keys, value, this.channel, { kind: 'serve', quiet });
      } catch (error) {
        if (isConnectionError(error)) this.masters.markSuspect(0);
        return NOT_GRANTED;
      }
      if (reply.next !== 'granted') return NOT_GRANTED;
      return { granted: true, grant: grantOf(reply.head, reply.fence), told: { sentAt, ms: reply.grantMs } };
    }
    // Several masters: no grant in the release, the queue master wakes the
    // head instead. Granting in one hop is not safe here. A grant on one
    // master is a vote, not a lock: the head would hold the lock only once a
    // quorum had set its value, yet only the queue master knows who the head
    // is, so the other masters could only be told after a round trip to it
    // (the hop saved). And the holder would have to be told its fencing
    // token, which is the max of a quorum's counters (see QuorumAttempt) that
    // no single master's script can know, and date its validity from a
    // moment before every one of those masters set its key, by its own
    // clock. The head's own attempt gives it all three.
    const calls = clients.map((client, i) =>
      this.masters.watch(i, settle(lockRelease(client, keys, value, this.channel, i === master ? { kind: 'report', quiet } : { kind: 'plain' }))),
    );
    const wokeQuiet =
      master === undefined || quiet === '' ? undefined : calls[master]!.then((o) => o.ok && o.value.next === 'waiting' && o.value.head === quiet);
    await gather(calls, (s) => count(s) >= this.masters.quorum);
    return wokeQuiet === undefined ? NOT_GRANTED : { granted: false, wokeQuiet };
  }

  /** Deletes an attempt's value wherever it is (an attempt without a quorum, or one too slow to count). Never rejects. */
  async releaseValue(keys: LockKeys, value: string): Promise<void> {
    // Alone, the master also wakes the head: nobody else will.
    const mode = this.masters.size === 1 ? ({ kind: 'serve', quiet: '' } as const) : ({ kind: 'plain' } as const);
    await Promise.all(this.masters.clients.map((client) => lockRelease(client, keys, value, this.channel, mode).catch(() => undefined)));
  }
}
