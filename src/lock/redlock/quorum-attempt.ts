import { BackendUnavailableError } from '../../errors/schedkit-error.js';
import { messages } from '../../errors/messages.js';
import { isConnectionError } from '../../redis/connection.js';
import type { QuorumMasters } from './quorum-masters.js';
import type { QuorumRelease } from './quorum-release.js';
import { newLockValue, type QuorumHold, type RedlockExtension } from './redlock-extension.js';
import { lockAcquire, raiseFence, type AttemptReply, type LockKeys } from './scripts.js';
import { count, gather, settle, type Snapshot } from './settle.js';

/** Where the caller stands in the waiting queue, as the queue master saw it during an attempt. */
export interface QueueView {
  /** False when the queue master did not answer (or was not asked): treat the queue as empty. */
  readonly known: boolean;
  /** Tickets ahead of the caller. */
  readonly ahead: number;
  /** The caller's ticket is on the queue. */
  readonly queued: boolean;
  /** The queue master's fencing counter as this call saw it (when not granted there; see `GrantDating`). */
  readonly counter: number;
}

const NO_QUEUE_VIEW: QueueView = { known: false, ahead: 0, queued: false, counter: 0 };

export type AttemptOutcome =
  | { readonly acquired: true; readonly hold: QuorumHold; readonly fencingToken: number; readonly expiresAt: number; readonly queue: QueueView }
  | { readonly acquired: false; /** When a quorum of masters should be free (holder TTLs), in ms. */ readonly freeInMs: number; readonly queue: QueueView };

/** Asks the queue master about the caller's place while attempting. */
export interface QueueQuery {
  readonly master: number;
  /** '' for a caller without a ticket. */
  readonly ticket: string;
  readonly leaseMs: number;
  /** Queue the ticket when the lock is not granted (the caller is going to wait). */
  readonly join: boolean;
}

/** Masters that answered without granting, or failed. */
function refusals(snapshot: Snapshot<AttemptReply>): number {
  let n = 0;
  for (const outcome of snapshot) if (outcome !== undefined && (!outcome.ok || !outcome.value.granted)) n++;
  return n;
}

/**
 * One lock attempt on a quorum, with its fencing token: acquire-4.lua on
 * every master at once. The key, the fencing counter and the waiting queue
 * change in the same atomic step, so an uncontended acquire costs one round
 * trip. Around it, Redlock as redlock implements it: held when a majority
 * granted, valid until `start + ttl - drift` measured from before the calls
 * went out, released everywhere when no majority granted. Not redlock's
 * acquire: that one only sets the key, so the queue and the token would each
 * cost another round trip, and its waiting is a retry loop (unfair, and
 * split votes with several masters).
 *
 * **Fencing token.** Every master keeps one counter for the namespace
 * (`{prefix}:lock-fence`; one counter like `MemoryLock`'s, so no key is left
 * behind per resource ever locked, and none has to expire and restart at 1).
 * A master INCRs it in the step that grants the key and returns the value;
 * the token is the max of the grants' values.
 *
 * Two majorities always intersect, but that alone does not make the max
 * increase: counters drift apart while masters are down (a master that missed
 * INCRs lags, one that restarted empty starts again at 0), and the next
 * holder's majority may miss the master that gave the previous max. So the
 * rule is a little stronger. Call R(A) the masters on which holder A's counter
 * was >= token(A) at a moment when A's key was there. A's lease is only handed
 * out once |R(A)| >= quorum:
 *  - a master whose grant returned token(A) itself is in R(A) (the usual
 *    case: the counters agree, so every master is in R(A) at no extra cost);
 *  - otherwise the lagging masters are raised to token(A) by fence-raise-2.lua,
 *    which checks that A's key is still there (a second round trip, only
 *    after an outage).
 * The next holder B is counted only on grants, from at least a quorum of
 * masters. That set meets R(A) on some master m. On m, A's key disappeared
 * before B's grant could set B's key, and B's INCR ran in that grant, so it
 * came after m's counter reached token(A): B's value there is > token(A), and
 * so is token(B), the max. A lock handed over by a release (one master) is a
 * grant like any other: the INCR runs in the step that sets the new key.
 * Counters only go up; the argument fails only if a majority of masters lose
 * their data (restart without persistence), which breaks Redlock's mutual
 * exclusion as well.
 */
export class QuorumAttempt {
  constructor(
    private readonly masters: QuorumMasters,
    private readonly holds: RedlockExtension,
    private readonly releases: QuorumRelease,
  ) {}

  /**
   * Resolves "not acquired" when the lock is held (or waiters are ahead of
   * the caller on the queue master); rejects with `BackendUnavailableError`
   * when fewer than a quorum of masters answer.
   */
  async attempt(keys: LockKeys, ttlMs: number, queue: QueueQuery | undefined, where: string): Promise<AttemptOutcome> {
    const { masters } = this;
    if (masters.size === 1) return this.attemptAlone(keys, ttlMs, queue, where);
    const { clients, quorum, size } = masters;
    const started = masters.clock.now();
    const value = newLockValue();
    // The ticket leaves the queue only once a quorum is known to agree (with
    // one master its grant is the lock: see attemptAlone).
    const calls = clients.map((client, i) =>
      masters.watch(
        i,
        settle(
          lockAcquire(
            client,
            keys,
            value,
            ttlMs,
            queue?.master === i ? { ticket: queue.ticket, leaseMs: queue.leaseMs, join: queue.join, leaveOnGrant: false } : undefined,
          ),
        ),
      ),
    );
    const granted = (reply: AttemptReply): boolean => reply.granted;
    const queueKnown = (s: Snapshot<AttemptReply>): boolean => queue === undefined || masters.isSuspect(queue.master) || s[queue.master] !== undefined;
    const decided = (s: Snapshot<AttemptReply>): boolean => count(s, granted) >= quorum || refusals(s) > size - quorum;

    let snapshot = await masters.gatherWithQueueView(calls, decided, queueKnown);
    if (count(snapshot, granted) < quorum) {
      // Held, or too few answers so far: "held" needs a quorum of answers.
      if (count(snapshot) < quorum) snapshot = await gather(calls, (s) => count(s) >= quorum);
      const partial = snapshot.some((outcome) => outcome === undefined || !outcome.ok || outcome.value.granted);
      if (partial) await this.releases.releaseValue(keys, value);
      if (count(snapshot) < quorum) throw masters.unavailable(where, snapshot, undefined);
      return { acquired: false, freeInMs: this.freeIn(snapshot), queue: this.queueView(snapshot, queue) };
    }
    const queueView = this.queueView(snapshot, queue);
    let token = 0;
    for (const outcome of snapshot) if (outcome?.ok === true && outcome.value.granted) token = Math.max(token, outcome.value.fence);

    // R(A): the masters that vouch for the token (see the class comment).
    const vouching = new Set<number>();
    snapshot.forEach((outcome, i) => {
      if (outcome?.ok === true && outcome.value.granted && outcome.value.fence === token) vouching.add(i);
    });
    if (vouching.size < size) {
      const laggards = clients.map((_c, i) => i).filter((i) => !vouching.has(i));
      if (vouching.size < quorum) {
        const raised = await gather(
          laggards.map((i) => masters.watch(i, settle(raiseFence(clients[i]!, keys, value, token)))),
          (s) => vouching.size + count(s, (ok) => ok) >= quorum,
        );
        const confirmed = vouching.size + count(raised, (ok) => ok);
        if (confirmed < quorum) {
          await this.releases.releaseValue(keys, value);
          throw new BackendUnavailableError(messages.lockFenceQuorumUnavailable(where, confirmed, quorum));
        }
      } else {
        // Not needed for this token; brings the laggards up to date so the next
        // holder does not pay the extra round trip. A master whose reply is
        // still on its way is raised only if it granted below the token (it
        // almost always granted the same): a raise where the key is not ours
        // would do nothing anyway.
        for (const i of laggards) {
          void calls[i]!.then((outcome) => {
            const behind = outcome.ok && outcome.value.granted && outcome.value.fence < token;
            if (behind && clients[i]!.status === 'ready') raiseFence(clients[i]!, keys, value, token).catch(() => undefined);
          });
        }
      }
    }

    const expiresAt = masters.validUntil(started, ttlMs);
    if (masters.clock.now() >= expiresAt) {
      // The round trips took longer than the TTL: the lock is not valid.
      await this.releases.releaseValue(keys, value);
      return { acquired: false, freeInMs: 0, queue: queueView };
    }
    return { acquired: true, hold: this.holds.hold(keys, value), fencingToken: token, expiresAt, queue: queueView };
  }

  /** `attempt` with one master: its answer is the outcome (and the uncontended path stays lean). */
  private async attemptAlone(keys: LockKeys, ttlMs: number, queue: QueueQuery | undefined, where: string): Promise<AttemptOutcome> {
    const { masters } = this;
    const started = masters.clock.now();
    const value = newLockValue();
    let reply: AttemptReply;
    try {
      reply = await lockAcquire(
        masters.clients[0]!,
        keys,
        value,
        ttlMs,
        // The master's grant is the lock: the ticket leaves the queue in the same step.
        queue === undefined ? undefined : { ticket: queue.ticket, leaseMs: queue.leaseMs, join: queue.join, leaveOnGrant: true },
      );
    } catch (error) {
      if (isConnectionError(error)) masters.markSuspect(0);
      // A call that timed out here may still run (a slow or frozen master)
      // and take the lock with a value nobody holds, until its TTL: give it
      // back, as `attempt` does with several masters. Sent behind the acquire
      // on the same connection, so it runs after it; never rejects.
      void this.releases.releaseValue(keys, value);
      throw masters.unavailable(where, [{ ok: false, error }], error);
    }
    const queueView: QueueView = queue === undefined ? NO_QUEUE_VIEW : { known: true, ahead: reply.ahead, queued: reply.queued, counter: reply.counter };
    if (!reply.granted) return { acquired: false, freeInMs: this.freeIn([{ ok: true, value: reply }]), queue: queueView };
    const expiresAt = masters.validUntil(started, ttlMs);
    if (masters.clock.now() >= expiresAt) {
      await this.releases.releaseValue(keys, value);
      return { acquired: false, freeInMs: 0, queue: queueView };
    }
    return { acquired: true, hold: this.holds.hold(keys, value), fencingToken: reply.fence, expiresAt, queue: queueView };
  }

  private queueView(snapshot: Snapshot<AttemptReply>, queue: QueueQuery | undefined): QueueView {
    const reply = queue === undefined ? undefined : snapshot[queue.master];
    if (reply?.ok !== true) return NO_QUEUE_VIEW;
    return { known: true, ahead: reply.value.ahead, queued: reply.value.queued, counter: reply.value.counter };
  }

  /** When a quorum of masters should have no key, from the holder's PTTL on each. */
  private freeIn(snapshot: Snapshot<AttemptReply>): number {
    const freeAt = snapshot.map((outcome) => {
      if (outcome?.ok !== true) return Number.POSITIVE_INFINITY;
      const { granted, holder, pttl } = outcome.value;
      // Our own partial grant is deleted before anyone acts on this.
      if (granted || holder === null || pttl === -2) return 0;
      return pttl < 0 ? Number.POSITIVE_INFINITY : pttl + 1;
    });
    freeAt.sort((a, b) => a - b);
    return freeAt[this.masters.quorum - 1] ?? Number.POSITIVE_INFINITY;
  }
}
