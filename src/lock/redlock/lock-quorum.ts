import { Redis } from 'ioredis';
import Redlock, { ExecutionError, type Lock } from 'redlock';
import type { Clock } from '../../clock/clock.js';
import { BackendUnavailableError } from '../../errors/schedkit-error.js';
import { messages } from '../../errors/messages.js';
import { errorText, isConnectionError, type RedisClient } from '../../redis/connection.js';
import { lockAttempt, raiseFence, type AttemptReply, type LockKeys } from './scripts.js';
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

/**
 * Once a quorum has answered an attempt, how much longer to wait for the
 * queue master's view of the queue. It only serves fairness (a missing view
 * counts as an empty queue), so a paused queue master must not hold up every
 * acquire for its command timeout.
 */
const QUEUE_VIEW_GRACE_MS = 25;

/** How long a master that timed out or dropped a queue call is avoided as the queue master. */
const SUSPECT_MS = 2_000;

/**
 * A lock held on a quorum of masters. Stands for redlock's `Lock`, which
 * redlock replaces on every extension (the old object can no longer be
 * extended): the latest one is kept, out of sight so redlock's types stay
 * out of every declaration.
 */
export interface QuorumHold {
  /** The random value stored in the lock key: whoever holds this value holds the lock. */
  readonly value: string;
}

class Hold implements QuorumHold {
  readonly value: string;
  constructor(public lock: Lock) {
    this.value = lock.value;
  }
}

function lockOf(hold: QuorumHold): Hold {
  if (!(hold instanceof Hold)) throw new Error('INVARIANT: a QuorumHold that LockQuorum did not create');
  return hold;
}

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
  readonly ticket: string;
  readonly leaseMs: number;
}

/** Why a lease could not be extended. */
export type LossReason = { readonly kind: 'taken' } | { readonly kind: 'expired' } | { readonly kind: 'unreachable'; readonly why: string };

/**
 * redlock over the lock clients, plus the fencing token.
 *
 * **Fencing token.** Every master keeps one counter for the namespace
 * (`{prefix}:lock-fence`; one counter like `MemoryLock`'s, so no key is left
 * behind per resource ever locked, and none has to expire and restart at 1).
 * Each attempt sends, on every master and right behind redlock's acquire
 * script, a companion script that INCRs the counter and reads the lock key:
 * one round trip in all. The token is the max of the replies.
 *
 * Two majorities always intersect, but that alone does not make the max
 * increase: counters drift apart while masters are down (a master that missed
 * INCRs lags, one that restarted empty starts again at 0), and the next
 * holder's majority may miss the master that gave the previous max. So the
 * rule is a little stronger. Call R(A) the masters on which holder A's counter
 * was >= token(A) at a moment when A's key was there. A's lease is only handed
 * out once |R(A)| >= quorum:
 *  - a companion reply that saw A's own lock value and returned token(A)
 *    itself puts that master in R(A) (the usual case: the counters agree, so
 *    every master is in R(A) at no extra cost);
 *  - otherwise the lagging masters are raised to token(A) by fence-raise-2.lua,
 *    which checks that A's key is still there (a second round trip, only
 *    after an outage).
 * The next holder B is then counted only on companion replies that saw B's
 * own value, from at least a quorum of masters. That set meets R(A) on some
 * master m. On m, A's key disappeared before B's acquire could set B's key,
 * and B's companion ran after B's key was set, so B's INCR came after m's
 * counter reached token(A): B's reply there is > token(A), and so is
 * token(B), the max. Counters only go up; the argument fails only if a
 * majority of masters lose their data (restart without persistence), which
 * breaks Redlock's mutual exclusion as well.
 */
export class LockQuorum {
  readonly size: number;
  readonly quorum: number;
  readonly #redlock: Redlock;
  readonly #suspectUntil: number[];

  constructor(
    readonly clients: readonly RedisClient[],
    private readonly labels: readonly string[],
    private readonly clock: Clock,
    private readonly driftFactor: number,
  ) {
    this.size = clients.length;
    this.quorum = Math.floor(clients.length / 2) + 1;
    this.#suspectUntil = clients.map(() => 0);
    // retryCount 0: waiting is ours (a queue woken by the release), not
    // redlock's retry polling, which starves contenders.
    this.#redlock = new Redlock(clients, { driftFactor, retryCount: 0, retryDelay: 0, retryJitter: 0 });
    // redlock emits one 'error' per vote against (a held lock, a dead master):
    // expected noise. Its constructor installs a no-op listener; we add none.
    for (const client of clients) {
      // Scripts cached on every (re)connect, so redlock's EVALSHA does not fall
      // back to EVAL behind our companion script (which would then run first).
      if (client instanceof Redis) client.on('ready', () => this.preload(client));
    }
  }

  private preload(client: Redis): void {
    const { acquireScript, extendScript, releaseScript } = this.#redlock.scripts;
    for (const script of [acquireScript, extendScript, releaseScript]) client.script('LOAD', script.value).catch(() => undefined);
  }

  /** Redis loses precision on expiry by 1 ms, clocks drift: the lease ends a little before the key does. */
  private expiry(started: number, ttlMs: number): number {
    return started + ttlMs - (Math.round(this.driftFactor * ttlMs) + 2);
  }

  /**
   * One lock attempt: redlock's acquire and the companion script on every
   * master, in the same round trip. Resolves "not acquired" when the lock is
   * held; rejects with `BackendUnavailableError` when fewer than a quorum of
   * masters answer.
   */
  async attempt(keys: LockKeys, ttlMs: number, queue: QueueQuery | undefined, where: string): Promise<AttemptOutcome> {
    const started = this.clock.now();
    // redlock issues its EVALSHA on every client synchronously inside
    // acquire(), so each companion below goes out right behind it.
    const acquiring = this.#redlock.acquire([keys.lock], ttlMs);
    const companions = this.clients.map((client, i) => this.watch(i, settle(lockAttempt(client, keys, queue?.master === i ? queue : undefined))));
    const queueKnown = (s: Snapshot<AttemptReply>): boolean => queue === undefined || this.isSuspect(queue.master) || s[queue.master] !== undefined;

    let lock: Lock;
    try {
      lock = await acquiring;
    } catch (error) {
      if (!(error instanceof ExecutionError)) throw error;
      const snapshot = await gatherWithGrace(companions, (s) => count(s) >= this.quorum, queueKnown);
      if (count(snapshot) < this.quorum) throw this.unavailable(where, snapshot, error);
      return { acquired: false, freeInMs: this.freeIn(snapshot), queue: this.queueView(snapshot, queue) };
    }

    const mine = (reply: AttemptReply): boolean => reply.holder === lock.value;
    let snapshot = await gatherWithGrace(companions, (s) => count(s, mine) >= this.quorum, queueKnown);
    const queueView = this.queueView(snapshot, queue);
    let seen = snapshot;
    if (count(snapshot, mine) < this.quorum) {
      // On some masters the companion ran before the acquire (redlock fell
      // back to EVAL after a NOSCRIPT, e.g. after a restart): ask again, now
      // behind it. The counters go up once more; tokens only need to grow.
      snapshot = await gather(
        this.clients.map((client, i) => this.watch(i, settle(lockAttempt(client, keys, undefined)))),
        (s) => count(s, mine) >= this.quorum,
      );
      seen = [...seen, ...snapshot];
      if (count(snapshot, mine) < this.quorum) {
        await this.release(new Hold(lock));
        throw this.unavailable(where, snapshot, undefined);
      }
    }
    let token = 0;
    for (const outcome of seen) if (outcome?.ok === true) token = Math.max(token, outcome.value.fence);

    // R(A): the masters that vouch for the token (see the class comment).
    const vouching = new Set<number>();
    snapshot.forEach((outcome, i) => {
      if (outcome?.ok === true && mine(outcome.value) && outcome.value.fence === token) vouching.add(i);
    });
    const laggards = this.clients.map((_c, i) => i).filter((i) => !vouching.has(i));
    if (vouching.size < this.quorum) {
      const raised = await gather(
        laggards.map((i) => this.watch(i, settle(raiseFence(this.clients[i]!, keys, lock.value, token)))),
        (s) => vouching.size + count(s, (ok) => ok) >= this.quorum,
      );
      const confirmed = vouching.size + count(raised, (ok) => ok);
      if (confirmed < this.quorum) {
        await this.release(new Hold(lock));
        throw new BackendUnavailableError(messages.lockFenceQuorumUnavailable(where, confirmed, this.quorum));
      }
    } else {
      // Not needed for this token; brings the laggards up to date so the next
      // holder does not pay the extra round trip.
      for (const i of laggards) {
        if (this.clients[i]!.status === 'ready') raiseFence(this.clients[i]!, keys, lock.value, token).catch(() => undefined);
      }
    }

    const hold = new Hold(lock);
    const expiresAt = this.expiry(started, ttlMs);
    if (this.clock.now() >= expiresAt) {
      // The round trips took longer than the TTL: the lock is not valid.
      await this.release(hold);
      return { acquired: false, freeInMs: 0, queue: queueView };
    }
    return { acquired: true, hold, fencingToken: token, expiresAt, queue: queueView };
  }

  /** Pushes the expiry to now + `ttlMs` on a quorum; resolves with the new expiry. Rejects when it fails. */
  async extend(hold: QuorumHold, ttlMs: number): Promise<number> {
    const started = this.clock.now();
    const current = lockOf(hold);
    current.lock = await this.#redlock.extend(current.lock, ttlMs);
    return this.expiry(started, ttlMs);
  }

  /** Deletes the key wherever it still holds this value. Never rejects (an expired key is already gone). */
  async release(hold: QuorumHold): Promise<void> {
    try {
      await this.#redlock.release(lockOf(hold).lock);
    } catch {
      // Gone already (expired or taken over), or masters unreachable: the key expires by itself.
    }
  }

  /** Why an extension failed: another value in the key, no key, or too few masters answering. */
  async lossReason(keys: LockKeys, hold: QuorumHold, where: string): Promise<LossReason> {
    const snapshot = await gather(
      this.clients.map((client, i) => this.watch(i, settle(client.get(keys.lock)))),
      (s) => count(s) >= this.quorum,
    );
    if (count(snapshot) < this.quorum) return { kind: 'unreachable', why: this.unavailable(where, snapshot, undefined).message };
    if (count(snapshot, (value) => value !== null && value !== hold.value) > 0) return { kind: 'taken' };
    return { kind: 'expired' };
  }

  /**
   * The master that holds waiting queues: the first (in configured order) that
   * is connected and has not just failed a call. Every instance must list the
   * masters in the same order for their waiters to share one queue; if they
   * do not, waiters still get the lock, only not in arrival order.
   */
  queueMaster(): number | undefined {
    let fallback: number | undefined;
    for (let i = 0; i < this.size; i++) {
      if (this.clients[i]!.status !== 'ready') continue;
      if (!this.isSuspect(i)) return i;
      fallback ??= i;
    }
    return fallback;
  }

  /** Avoid this master for the queue for a while (it timed out or dropped a call). */
  markSuspect(master: number): void {
    this.#suspectUntil[master] = this.clock.now() + SUSPECT_MS;
  }

  private isSuspect(master: number): boolean {
    return this.clock.now() < (this.#suspectUntil[master] ?? 0);
  }

  /** Marks a master suspect when its call failed for a connection reason. */
  private watch<T>(master: number, call: Promise<Settled<T>>): Promise<Settled<T>> {
    return call.then((outcome) => {
      if (!outcome.ok && isConnectionError(outcome.error)) this.markSuspect(master);
      return outcome;
    });
  }

  private queueView(snapshot: Snapshot<AttemptReply>, queue: QueueQuery | undefined): QueueView {
    const reply = queue === undefined ? undefined : snapshot[queue.master];
    if (reply?.ok !== true) return { known: false, ahead: 0, queued: false };
    return { known: true, ahead: reply.value.ahead, queued: reply.value.queued };
  }

  /** When a quorum of masters should have no key, from the holder's PTTL on each. */
  private freeIn(snapshot: Snapshot<AttemptReply>): number {
    const freeAt = snapshot.map((outcome) => {
      if (outcome?.ok !== true) return Number.POSITIVE_INFINITY;
      const { holder, pttl } = outcome.value;
      if (holder === null || pttl === -2) return 0;
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
