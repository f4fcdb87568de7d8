import { randomUUID } from 'node:crypto';
import type { TimerHandle } from '../../clock/clock.js';
import type { LockListener } from './lock-listener.js';
import type { Attempt } from './lock-statements.js';
import type { LeaseContext, Won } from './postgres-lease.js';
import { WakeableSleep } from '../wakeable-sleep.js';

/** A waiter's ticket counts this long unless renewed: a waiter that died holds the queue up at most this long. */
export const TICKET_LEASE_MS = 3_000;
/**
 * A waiter tries again (renewing its ticket) at least this often, woken or
 * not: a lost wake-up only delays it this long.
 */
export const POLL_MS = 1_000;
/** A head that lost a race for a free lock retries after 2, 4, 8 ... ms, at most this long. */
const MAX_RETRY_MS = 250;

/** What a waiter needs from its lock. */
export interface WaitContext extends LeaseContext {
  readonly listener: LockListener;
  isClosed(): boolean;
}

/** Why an attempt did not get the lock. */
type Refusal = Extract<Attempt, { won: false }>;

/**
 * One try for the lock under a new owner value: as a newcomer (`ticket`
 * null: only when nobody waits) or as the holder of `ticket` (only when no
 * live ticket is ahead of it).
 */
export async function attemptLock(ctx: LeaseContext, resource: string, ttlMs: number, ticket: string | null): Promise<{ readonly won: true; readonly lock: Won } | Refusal> {
  const owner = randomUUID();
  const sentAt = ctx.clock.now();
  const out = await ctx.statements.attempt(resource, owner, ttlMs, ticket, TICKET_LEASE_MS, `lock "${resource}"`);
  if (!out.won) return out;
  return { won: true, lock: { owner, fencingToken: out.fencingToken, expiresAt: out.expiresAt, validUntil: sentAt + ttlMs } };
}

/**
 * One caller waiting for a held lock, first come, first served.
 *
 * The first local waiter on a resource first tries as a newcomer (one round
 * trip when the lock is free). Otherwise the waiter puts a ticket on the
 * resource's queue (`lock_waiters`), after the previous local waiter put
 * its own, so waiters of one process queue in call order, and tries the lock
 * as a ticket holder: the database grants it only when no live ticket is
 * ahead. Then it sleeps until the first of:
 *  - a wake-up: the release (or a waiter giving up at the head of the queue)
 *    sent `NOTIFY`, and the listener woke the first local waiter;
 *  - the holder's expiry by the database's clock, when it is at the head
 *    (a holder that died wakes nobody);
 *  - the poll period (`POLL_MS`), which also renews its ticket;
 *  - its deadline, abort or the lock's `close()`.
 * Giving up takes the ticket off the queue, waking the next waiter if the
 * lock is free.
 */
export class LockWaiter {
  /** Settles once the ticket was first queued, or the wait ended: the next local waiter queues after it. */
  readonly joined: Promise<void>;
  #markJoined!: () => void;
  #ticket: string | null = null;
  readonly #sleep: WakeableSleep;
  #retries = 0;

  constructor(
    private readonly ctx: WaitContext,
    private readonly resource: string,
    private readonly ttlMs: number,
    private readonly deadline: number,
    private readonly signal: AbortSignal | undefined,
    /** The previous local waiter on this resource has queued (undefined: there is none). */
    private readonly after: Promise<void> | undefined,
  ) {
    this.joined = new Promise((resolve) => (this.#markJoined = resolve));
    this.#sleep = new WakeableSleep(ctx.clock);
  }

  /** Try now: a wake-up for the resource, an abort, or close. */
  wake(): void {
    this.#sleep.wake();
  }

  /** The lock, or null when the wait ended without it. Rejects when PostgreSQL cannot be reached. */
  async run(): Promise<Won | null> {
    const onAbort = (): void => this.wake();
    this.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.loop();
    } finally {
      this.#markJoined();
      this.signal?.removeEventListener('abort', onAbort);
      const ticket = this.#ticket;
      this.#ticket = null;
      // Gone from the queue before acquire resolves null.
      if (ticket !== null) await this.ctx.statements.leave(this.resource, ticket, this.where).catch(() => undefined);
    }
  }

  private get where(): string {
    return `lock "${this.resource}"`;
  }

  private gaveUp(): boolean {
    return this.ctx.isClosed() || this.signal?.aborted === true;
  }

  private async loop(): Promise<Won | null> {
    const { clock, statements, listener } = this.ctx;
    let newcomer = this.after === undefined;
    await this.after;
    for (;;) {
      if (this.gaveUp()) return null;
      if (!newcomer && this.#ticket === null) {
        await this.listening();
        this.#ticket = await statements.join(this.resource, TICKET_LEASE_MS, this.where);
        this.#markJoined();
      }
      const out = await attemptLock(this.ctx, this.resource, this.ttlMs, this.#ticket);
      if (out.won) {
        // The attempt took our ticket off the queue.
        this.#ticket = null;
        if (!this.gaveUp()) return out.lock;
        await statements.release(this.resource, out.lock.owner, this.where).catch(() => undefined);
        return null;
      }
      if (newcomer) {
        newcomer = false;
        continue;
      }
      const now = clock.now();
      if (now >= this.deadline) return null;
      if (!out.queued) {
        // Our ticket lapsed (this process stalled past its lease): queue again, at the tail.
        this.#ticket = null;
        continue;
      }
      // Reopens a lost listener; a no-op while listening.
      void listener.listen().catch(() => undefined);
      await this.#sleep.sleep(Math.min(this.nextTryInMs(out), this.deadline - now));
    }
  }

  /**
   * Listening before queueing, so no wake-up for the ticket is missed. Not
   * waited for past a poll period or the deadline (a pool without a free
   * connection): the poll stands in for it meanwhile.
   */
  private async listening(): Promise<void> {
    const { clock, listener } = this.ctx;
    let timer: TimerHandle | undefined;
    await Promise.race([
      listener.listen().catch(() => undefined),
      new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, Math.min(POLL_MS, Math.max(0, this.deadline - clock.now()))))),
    ]);
    if (timer !== undefined) clock.clearTimeout(timer);
  }

  /** Until the poll; at the head, until the holder's expiry, or soon when a free lock went to a faster caller. */
  private nextTryInMs(refusal: Refusal): number {
    if (refusal.ahead > 0) return POLL_MS;
    if (refusal.heldMs > 0) {
      this.#retries = 0;
      return Math.min(POLL_MS, Math.ceil(refusal.heldMs) + 1);
    }
    this.#retries++;
    return Math.min(2 ** this.#retries, MAX_RETRY_MS);
  }
}
