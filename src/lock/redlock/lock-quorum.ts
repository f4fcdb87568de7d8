import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import Redlock, { Lock } from 'redlock';
import type { Clock } from '../../clock/clock.js';
import { BackendUnavailableError } from '../../errors/schedkit-error.js';
import { messages } from '../../errors/messages.js';
import { errorText, isConnectionError, type RedisClient } from '../../redis/connection.js';
import { lockAcquire, lockRelease, queueWake, raiseFence, type AttemptReply, type LockKeys, type ReleaseReply } from './scripts.js';
import { MasterHealth } from './master-health.js';
import { count, gather, settle, type Settled, type Snapshot } from './settle.js';

/** `gather` until `enough`, then up to QUEUE_VIEW_GRACE_MS more for `wanted`. */
async function gatherWithGrace<T>(
  calls: ReadonlyArray<Promise<Settled<T>>>,
  enough: (s: Snapshot<T>) => boolean,
  wanted: (s: Snapshot<T>) => boolean,
): Promise<Snapshot<T>> {
  const first = await gather(calls, enough);
  if (wanted(first) || first.every((outcome) => outcome !== undefined)) return first;
  let timer: NodeJS.Timeout | undefined;
  const late = await Promise.race([
    gather(calls, (s) => enough(s) && wanted(s)),
    new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), QUEUE_VIEW_GRACE_MS))),
  ]);
  clearTimeout(timer);
  return late ?? first;
}

/** Masters that answered without granting, or failed. */
function refusals(snapshot: Snapshot<AttemptReply>): number {
  let n = 0;
  for (const outcome of snapshot) if (outcome !== undefined && (!outcome.ok || !outcome.value.granted)) n++;
  return n;
}

/**
 * Once a quorum has answered an attempt, how much longer to wait for the
 * queue master's view of the queue. It only serves fairness (a missing view
 * counts as an empty queue), so a paused queue master must not hold up every
 * acquire for its command timeout.
 */
const QUEUE_VIEW_GRACE_MS = 25;

/**
 * A lock held on a quorum of masters: the random value stored in its key.
 * Opaque outside this file, so nobody builds one that LockQuorum did not grant.
 */
export interface QuorumHold {
  /** Whoever holds this value in the key holds the lock. */
  readonly value: string;
}

class Hold implements QuorumHold {
  constructor(readonly value: string) {}
}

function holdOf(hold: QuorumHold): Hold {
  if (!(hold instanceof Hold)) throw new Error('INVARIANT: a QuorumHold that LockQuorum did not create');
  return hold;
}

/** Lock values: random, never reused (122 random bits, from Node's batched entropy: cheaper than a randomBytes call each). */
function newValue(): string {
  return randomUUID();
}

const NO_QUEUE_VIEW: QueueView = { known: false, ahead: 0, queued: false };

/** Where the caller stands in the waiting queue, as the queue master saw it during an attempt. */
export interface QueueView {
  /** False when the queue master did not answer (or was not asked): treat the queue as empty. */
  readonly known: boolean;
  /** Tickets ahead of the caller. */
  readonly ahead: number;
  /** The caller's ticket is on the queue. */
  readonly queued: boolean;
}

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

/** Why a lease could not be extended. */
export type LossReason = { readonly kind: 'taken' } | { readonly kind: 'expired' } | { readonly kind: 'unreachable'; readonly why: string };

/**
 * The Redlock algorithm over the lock clients, plus the fencing token.
 *
 * **Acquire and release** are one script call per master each
 * (acquire-4.lua, release-4.lua), sent to every master at once: the key, the
 * fencing counter and the waiting queue change in the same atomic step, so an
 * uncontended acquire + release costs two round trips and nothing more. The
 * rest is Redlock as redlock implements it: held when a majority granted,
 * valid until `start + ttl - drift` measured from before the calls went out,
 * given back everywhere when no majority granted. **Extensions** go through
 * redlock's own extend.
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
export class LockQuorum {
  readonly size: number;
  readonly quorum: number;
  readonly #redlock: Redlock;
  readonly #health: MasterHealth;

  constructor(
    readonly clients: readonly RedisClient[],
    private readonly labels: readonly string[],
    private readonly clock: Clock,
    private readonly driftFactor: number,
    /** The wake-up channel a release publishes the head's ticket on. */
    private readonly channel: string,
  ) {
    this.size = clients.length;
    this.quorum = Math.floor(clients.length / 2) + 1;
    this.#health = new MasterHealth(clients, clock);
    this.#redlock = new Redlock(clients, { driftFactor, retryCount: 0, retryDelay: 0, retryJitter: 0 });
    // redlock emits one 'error' per vote against (a dead master): expected
    // noise. Its constructor installs a no-op listener; we add none.
    for (const client of clients) {
      // Cached on every (re)connect, so an extension does not pay for redlock's NOSCRIPT fallback.
      if (client instanceof Redis) client.on('ready', () => void client.script('LOAD', this.#redlock.scripts.extendScript.value).catch(() => undefined));
    }
  }

  /** Redis loses precision on expiry by 1 ms, clocks drift: the lease ends a little before the key does. */
  private expiry(started: number, ttlMs: number): number {
    return started + ttlMs - (Math.round(this.driftFactor * ttlMs) + 2);
  }

  /**
   * One lock attempt: acquire-4.lua on every master at once. Resolves "not
   * acquired" when the lock is held (or waiters are ahead of the caller on the
   * queue master); rejects with `BackendUnavailableError` when fewer than a
   * quorum of masters answer.
   */
  async attempt(keys: LockKeys, ttlMs: number, queue: QueueQuery | undefined, where: string): Promise<AttemptOutcome> {
    if (this.size === 1) return this.attemptAlone(keys, ttlMs, queue, where);
    const started = this.clock.now();
    const value = newValue();
    // With one master its grant is the lock: the ticket can leave the queue in
    // the same step. With several, only once a quorum is known to agree.
    const leaveOnGrant = this.size === 1;
    const calls = this.clients.map((client, i) =>
      this.#health.watch(
        i,
        settle(
          lockAcquire(client, keys, value, ttlMs, queue?.master === i ? { ticket: queue.ticket, leaseMs: queue.leaseMs, join: queue.join, leaveOnGrant } : undefined),
        ),
      ),
    );
    const granted = (reply: AttemptReply): boolean => reply.granted;
    const queueKnown = (s: Snapshot<AttemptReply>): boolean => queue === undefined || this.#health.isSuspect(queue.master) || s[queue.master] !== undefined;
    const decided = (s: Snapshot<AttemptReply>): boolean => count(s, granted) >= this.quorum || refusals(s) > this.size - this.quorum;

    let snapshot = await gatherWithGrace(calls, decided, queueKnown);
    if (count(snapshot, granted) < this.quorum) {
      // Held, or too few answers so far: "held" needs a quorum of answers.
      if (count(snapshot) < this.quorum) snapshot = await gather(calls, (s) => count(s) >= this.quorum);
      const partial = snapshot.some((outcome) => outcome === undefined || !outcome.ok || outcome.value.granted);
      if (partial) await this.releaseValue(keys, value);
      if (count(snapshot) < this.quorum) throw this.unavailable(where, snapshot, undefined);
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
    if (vouching.size < this.size) {
      const laggards = this.clients.map((_c, i) => i).filter((i) => !vouching.has(i));
      if (vouching.size < this.quorum) {
        const raised = await gather(
          laggards.map((i) => this.#health.watch(i, settle(raiseFence(this.clients[i]!, keys, value, token)))),
          (s) => vouching.size + count(s, (ok) => ok) >= this.quorum,
        );
        const confirmed = vouching.size + count(raised, (ok) => ok);
        if (confirmed < this.quorum) {
          await this.releaseValue(keys, value);
          throw new BackendUnavailableError(messages.lockFenceQuorumUnavailable(where, confirmed, this.quorum));
        }
      } else {
        // Not needed for this token; brings the laggards up to date so the next
        // holder does not pay the extra round trip.
        for (const i of laggards) {
          if (this.clients[i]!.status === 'ready') raiseFence(this.clients[i]!, keys, value, token).catch(() => undefined);
        }
      }
    }

    const hold = new Hold(value);
    const expiresAt = this.expiry(started, ttlMs);
    if (this.clock.now() >= expiresAt) {
      // The round trips took longer than the TTL: the lock is not valid.
      await this.releaseValue(keys, value);
      return { acquired: false, freeInMs: 0, queue: queueView };
    }
    return { acquired: true, hold, fencingToken: token, expiresAt, queue: queueView };
  }

  /** `attempt` with one master: its answer is the outcome (and the uncontended path stays lean). */
  private async attemptAlone(keys: LockKeys, ttlMs: number, queue: QueueQuery | undefined, where: string): Promise<AttemptOutcome> {
    const started = this.clock.now();
    const value = newValue();
    let reply: AttemptReply;
    try {
      reply = await lockAcquire(
        this.clients[0]!,
        keys,
        value,
        ttlMs,
        queue === undefined ? undefined : { ticket: queue.ticket, leaseMs: queue.leaseMs, join: queue.join, leaveOnGrant: true },
      );
    } catch (error) {
      if (isConnectionError(error)) this.markSuspect(0);
      // A call that timed out here may still run (a slow or frozen master)
      // and take the lock with a value nobody holds, until its TTL: give it
      // back, as `attempt` does with several masters. Sent behind the acquire
      // on the same connection, so it runs after it; never rejects.
      void this.releaseValue(keys, value);
      throw this.unavailable(where, [{ ok: false, error }], error);
    }
    const queueView: QueueView = queue === undefined ? NO_QUEUE_VIEW : { known: true, ahead: reply.ahead, queued: reply.queued };
    if (!reply.granted) return { acquired: false, freeInMs: this.freeIn([{ ok: true, value: reply }]), queue: queueView };
    const expiresAt = this.expiry(started, ttlMs);
    if (this.clock.now() >= expiresAt) {
      await this.releaseValue(keys, value);
      return { acquired: false, freeInMs: 0, queue: queueView };
    }
    return { acquired: true, hold: new Hold(value), fencingToken: reply.fence, expiresAt, queue: queueView };
  }

  /** Pushes the expiry to now + `ttlMs` on a quorum; resolves with the new expiry. Rejects when it fails. */
  async extend(keys: LockKeys, hold: QuorumHold, ttlMs: number): Promise<number> {
    const started = this.clock.now();
    // Whether the lease is still valid is the lease's call, by the lock's
    // clock: redlock's own check (by Date.now) is kept out of the way.
    await this.#redlock.extend(new Lock(this.#redlock, [keys.lock], holdOf(hold).value, [], Number.MAX_SAFE_INTEGER), ttlMs);
    return this.expiry(started, ttlMs);
  }

  /**
   * Deletes the key wherever it still holds this value, and serves the
   * waiting queue: with one master in the same step (handing the lock over to
   * `handOver` when its ticket is at the head, else waking the head); with
   * several, the head is woken once a quorum has released, so that it finds
   * the lock free on a majority. Never rejects (an expired key is already
   * gone; unreachable masters let it expire).
   */
  async release(keys: LockKeys, hold: QuorumHold, handOver: HandOver | undefined): Promise<ReleaseOutcome> {
    const { value } = holdOf(hold);
    const master = this.queueMaster();
    if (this.size === 1) {
      if (master === undefined) return NOT_HANDED_OVER;
      const started = this.clock.now();
      const next = handOver === undefined ? undefined : { ticket: handOver.ticket, value: newValue(), ttlMs: handOver.ttlMs };
      let reply: ReleaseReply;
      try {
        reply = await lockRelease(this.clients[0]!, keys, value, this.channel, { kind: 'serve', handOver: next });
      } catch (error) {
        if (isConnectionError(error)) this.markSuspect(0);
        return NOT_HANDED_OVER;
      }
      if (reply.next !== 'handed-over' || next === undefined) return NOT_HANDED_OVER;
      // The new key was set after `started`: its validity counts from there.
      return { handedOver: true, hold: new Hold(next.value), fencingToken: reply.fence, expiresAt: this.expiry(started, next.ttlMs) };
    }
    const calls = this.clients.map((client, i) =>
      this.#health.watch(i, settle(lockRelease(client, keys, value, this.channel, { kind: i === master ? 'report' : 'plain' }))),
    );
    await gatherWithGrace(
      calls,
      (s) => count(s) >= this.quorum,
      (s) => master === undefined || s[master] !== undefined,
    );
    if (master !== undefined) {
      void calls[master]!.then((outcome) => {
        if (outcome.ok && outcome.value.next === 'waiting') queueWake(this.clients[master]!, keys, this.channel).catch(() => undefined);
      });
    }
    return NOT_HANDED_OVER;
  }

  /** Deletes our key wherever it is (an attempt without a quorum, or one too slow to count). */
  private async releaseValue(keys: LockKeys, value: string): Promise<void> {
    // Alone, the master also wakes the head: nobody else will.
    const mode = this.size === 1 ? ({ kind: 'serve', handOver: undefined } as const) : ({ kind: 'plain' } as const);
    await Promise.all(this.clients.map((client) => lockRelease(client, keys, value, this.channel, mode).catch(() => undefined)));
  }

  /** Why an extension failed: another value in the key, no key, or too few masters answering. */
  async lossReason(keys: LockKeys, hold: QuorumHold, where: string): Promise<LossReason> {
    const snapshot = await gather(
      this.clients.map((client, i) => this.#health.watch(i, settle(client.get(keys.lock)))),
      (s) => count(s) >= this.quorum,
    );
    if (count(snapshot) < this.quorum) return { kind: 'unreachable', why: this.unavailable(where, snapshot, undefined).message };
    if (count(snapshot, (value) => value !== null && value !== hold.value) > 0) return { kind: 'taken' };
    return { kind: 'expired' };
  }

  /** The master that holds waiting queues: see `MasterHealth.queueMaster`. */
  queueMaster(): number | undefined {
    return this.#health.queueMaster();
  }

  /** Avoid this master for the queue for a while (it timed out or dropped a call). */
  markSuspect(master: number): void {
    this.#health.markSuspect(master);
  }

  private queueView(snapshot: Snapshot<AttemptReply>, queue: QueueQuery | undefined): QueueView {
    const reply = queue === undefined ? undefined : snapshot[queue.master];
    if (reply?.ok !== true) return NO_QUEUE_VIEW;
    return { known: true, ahead: reply.value.ahead, queued: reply.value.queued };
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
    return freeAt[this.quorum - 1] ?? Number.POSITIVE_INFINITY;
  }

  private unavailable(where: string, snapshot: Snapshot<unknown>, cause: unknown): BackendUnavailableError {
    const reasons = new Set<string>();
    let firstError: unknown;
    snapshot.forEach((outcome, i) => {
      if (outcome === undefined) reasons.add(`${this.labels[i]}: no reply`);
      else if (!outcome.ok) {
        firstError ??= outcome.error;
        reasons.add(`${this.labels[i]}: ${errorText(outcome.error)}`);
      }
    });
    const message = messages.lockQuorumUnavailable(where, count(snapshot), this.size, this.quorum, [...reasons].join('; '));
    return new BackendUnavailableError(message, firstError ?? cause);
  }
}
