import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../../clock/clock.js';
import { BackendUnavailableError } from '../../errors/schedkit-error.js';
import { messages } from '../../errors/messages.js';
import { isConnectionError, toBackendError } from '../../redis/connection.js';
import type { LockQuorum } from './lock-quorum.js';
import type { AttemptOutcome } from './quorum-attempt.js';
import type { QuorumHold } from './redlock-extension.js';
import { queueJoin, queueLeave, type LockKeys } from './scripts.js';
import type { WakeBus } from './wake-bus.js';

/** A waiter's ticket lives this long on the queue unless renewed: a dead waiter blocks the queue at most this long. */
export const TICKET_LEASE_MS = 3_000;
/** A waiter's ticket: random, unique per wait. */
export function newTicket(): string {
  return randomUUID();
}

/** A live waiter renews its ticket (and re-reads its place) this often. */
const RENEW_MS = 1_000;
/** No timer is armed longer than this (suspended machines drift). */
const MAX_ARM_MS = 30_000;

/** What a waiter needs from its lock. */
export interface WaitContext {
  readonly clock: Clock;
  readonly quorum: LockQuorum;
  readonly bus: WakeBus;
  readonly channel: string;
  isClosed(): boolean;
  /** Releases a hold and serves the resource's queue. Never rejects. */
  releaseHold(resource: string, keys: LockKeys, hold: QuorumHold): Promise<void>;
}

/** Where a waiter whose first attempt already queued its ticket stands (acquire-4.lua joins as it refuses). */
export interface QueuedStart {
  readonly ticket: string;
  readonly master: number;
  readonly rank: number;
  /** When a quorum should be free, from that attempt. */
  readonly freeInMs: number;
}

export type Won = Extract<AttemptOutcome, { acquired: true }>;

/**
 * One caller waiting for a held lock: first come, first served, woken by the
 * release rather than by polling.
 *
 * The waiter puts a ticket on the resource's queue on the queue master and
 * sleeps. Only the head of the queue tries the lock, when
 *  - the release (or a head that gave up) publishes its ticket on the
 *    wake-up channel, or
 *  - the holder's TTL runs out without a release (a crashed holder): the
 *    head sleeps until a quorum of masters should be free, from the PTTLs
 *    its last attempt saw.
 * With one master, a release in this process may also hand the lock straight
 * over to the waiter at the head (`grant`): then no attempt is needed at all.
 * The ticket is renewed every second (with the waiter's place re-read, which
 * also covers a lost wake-up); a waiter that died stops renewing, and its
 * ticket is dropped once its lease runs out. Giving up (waitMs, abort, close)
 * removes the ticket and, from the head, wakes the next waiter.
 */
export class LockWaiter {
  readonly ticket: string;
  /** Settles once the ticket was first put on the queue (or that failed): the next local waiter joins behind it. */
  readonly joined: Promise<void>;
  #markJoined!: () => void;
  #woken = false;
  #poked = false;
  #interruptSleep: (() => void) | undefined;
  /** The queue master holding our ticket, once joined. */
  #master: number | undefined;
  #rank = -1;
  #attemptAt = Number.POSITIVE_INFINITY;
  #renewAt = 0;
  #failures = 0;
  /** Joins sent so far: a join sent after a hand-over was decided may have queued the ticket again. */
  #joinsSent = 0;
  /** A lock handed over by a release, and whether that took the ticket off the queue for good. */
  #granted: { readonly won: Won; readonly ticketGone: boolean } | undefined;
  /** The wait is over (run's loop returned): grants are refused from then on. */
  #done = false;

  constructor(
    private readonly ctx: WaitContext,
    private readonly resource: string,
    private readonly keys: LockKeys,
    readonly ttlMs: number,
    private readonly deadline: number,
    private readonly signal: AbortSignal | undefined,
    private readonly where: string,
    /** The previous local waiter on this resource has joined. */
    private readonly after: Promise<void> | undefined,
    start?: QueuedStart,
  ) {
    this.joined = new Promise((resolve) => (this.#markJoined = resolve));
    this.ticket = start?.ticket ?? newTicket();
    if (start !== undefined) {
      const now = ctx.clock.now();
      this.#master = start.master;
      this.#rank = start.rank;
      this.#renewAt = now + RENEW_MS;
      if (start.rank === 0) this.#attemptAt = now + start.freeInMs;
      this.#markJoined();
    }
  }

  /** Joins sent so far; a release that hands the lock over passes the count it saw to `grant`. */
  get joinsSent(): number {
    return this.#joinsSent;
  }

  /** Whether a release may hand the lock over to this waiter: it waits, and its ticket is on `master`'s queue. */
  canTakeOver(master: number): boolean {
    return !this.#done && this.#granted === undefined && this.#master === master && !this.gaveUp();
  }

  /**
   * A release handed the lock over to us (our ticket was the head; the
   * release took it off the queue). False when the wait is already over: the
   * caller then gives the lock back. `joinsSeen` is `joinsSent` when the
   * release was sent: a join sent since may have queued the ticket again.
   */
  grant(won: Won, joinsSeen: number): boolean {
    if (this.#done || this.#granted !== undefined) return false;
    this.#granted = { won, ticketGone: joinsSeen === this.#joinsSent };
    this.poke();
    return true;
  }

  /** Our ticket was published: we are at the head and the lock was just given up. */
  wake(): void {
    this.#woken = true;
    this.poke();
  }

  /** Re-check now (abort, close, a resubscription). */
  poke(): void {
    this.#poked = true;
    this.#interruptSleep?.();
  }

  /** The lock (acquired), or null when the wait ended without it. Rejects when a quorum of masters is unreachable. */
  async run(): Promise<Won | null> {
    const onAbort = (): void => this.poke();
    this.signal?.addEventListener('abort', onAbort, { once: true });
    let won: Won | null = null;
    try {
      won = await this.loop();
      return won;
    } finally {
      this.#done = true;
      this.#markJoined();
      this.signal?.removeEventListener('abort', onAbort);
      // A hand-over that came in while the loop was ending (gave up, failed).
      const late = this.#granted;
      if (late !== undefined && late.won !== won) {
        if (late.ticketGone) this.#master = undefined;
        await this.ctx.releaseHold(this.resource, this.keys, late.won.hold);
      }
      await this.leave(won !== null);
    }
  }

  private gaveUp(): boolean {
    return this.ctx.isClosed() || this.signal?.aborted === true;
  }

  private async loop(): Promise<Won | null> {
    const { clock, quorum } = this.ctx;
    for (;;) {
      const granted = this.#granted;
      if (granted !== undefined) {
        if (granted.ticketGone) this.#master = undefined;
        if (!this.gaveUp()) return granted.won;
        await this.ctx.releaseHold(this.resource, this.keys, granted.won.hold);
        return null;
      }
      if (this.gaveUp()) return null;
      if (clock.now() >= this.deadline && !this.#woken) return null;
      const master = quorum.queueMaster();
      if (this.#master === undefined || this.#master !== master || clock.now() >= this.#renewAt) {
        await this.join(master);
        continue;
      }
      if (this.#woken || (this.#rank === 0 && clock.now() >= this.#attemptAt)) {
        this.#woken = false;
        const won = await this.attempt(this.#master);
        if (won !== undefined) return won;
        continue;
      }
      await this.sleep(Math.min(this.deadline, this.#attemptAt, this.#renewAt) - clock.now());
    }
  }

  /** Puts the ticket on the queue (or renews it) and reads our place. */
  private async join(master: number | undefined): Promise<void> {
    const { clock, quorum, bus } = this.ctx;
    if (master === undefined) {
      throw new BackendUnavailableError(messages.lockQuorumUnavailable(this.where, 0, quorum.size, quorum.quorum, 'no master is connected'));
    }
    if (this.#master !== undefined && this.#master !== master) {
      // The queue master moved (the old one failed): queue up again there.
      void queueLeave(quorum.clients[this.#master]!, this.keys, this.ticket, this.ctx.channel, true).catch(() => undefined);
      this.#master = undefined;
    }
    try {
      // Listening before joining, so no wake-up for our ticket can be missed.
      await bus.listenOn(master);
      if (this.#master === undefined) await this.after;
      this.#joinsSent++;
      const place = await queueJoin(quorum.clients[master]!, this.keys, this.ticket, TICKET_LEASE_MS);
      const now = clock.now();
      this.#master = master;
      this.#rank = place.rank;
      this.#renewAt = now + RENEW_MS;
      if (place.rank === 0) {
        // At the head: try now if the key is gone here, else when it expires.
        if (place.pttl === -2) this.#attemptAt = now;
        else if (place.pttl >= 0) this.#attemptAt = Math.min(this.#attemptAt, now + place.pttl + 1);
      } else {
        this.#attemptAt = Number.POSITIVE_INFINITY;
      }
    } catch (error) {
      // Refusals (NOPERM, a wrong reply) are reported; a master (or its
      // subscriber connection) that cannot be reached is avoided: the next
      // round picks another queue master.
      if (!isConnectionError(error)) throw toBackendError(error, this.where);
      quorum.markSuspect(master);
      this.#master = undefined;
      await this.sleep(20);
    } finally {
      this.#markJoined();
    }
  }

  /** Tries the lock as the head. Resolves the win, or undefined to keep waiting. */
  private async attempt(master: number): Promise<Won | null | undefined> {
    const { clock, quorum } = this.ctx;
    const out = await quorum.attempt(this.keys, this.ttlMs, { master, ticket: this.ticket, leaseMs: TICKET_LEASE_MS, join: false }, this.where);
    const now = clock.now();
    if (out.queue.known) this.#renewAt = now + RENEW_MS;
    if (out.acquired) {
      // With one master the grant took the ticket off the queue.
      if (quorum.size === 1) this.#master = undefined;
      if (!out.queue.known || out.queue.ahead === 0) {
        if (!this.gaveUp()) return out;
        await this.ctx.releaseHold(this.resource, this.keys, out.hold);
        return null;
      }
      // Someone is ahead of us (our ticket had lapsed and went to the tail):
      // hand the lock back and wake the head.
      await this.ctx.releaseHold(this.resource, this.keys, out.hold);
    }
    this.#failures++;
    if (out.queue.known) {
      if (!out.queue.queued) this.#master = undefined; // lapsed: join again
      this.#rank = out.queue.ahead;
    }
    const retryFloor = Math.min(2 ** this.#failures, 250);
    this.#attemptAt = this.#rank === 0 && !out.acquired ? now + Math.max(out.freeInMs, retryFloor) : Number.POSITIVE_INFINITY;
    return undefined;
  }

  /** Takes the ticket off the queue (unless it is gone already): a winner's quietly (its release serves the next), a quitter's waking the next head. */
  private async leave(won: boolean): Promise<void> {
    const master = this.#master;
    this.#master = undefined;
    if (master === undefined) return;
    const leaving = queueLeave(this.ctx.quorum.clients[master]!, this.keys, this.ticket, this.ctx.channel, !won).catch(() => undefined);
    // A winner's removal goes out on the queue master's connection before its
    // release's wake-up, so it need not be awaited; a quitter's ticket must be
    // gone when acquire resolves null.
    if (!won) await leaving;
  }

  /** Sleeps up to `ms`; a wake-up, abort or close ends it early. */
  private sleep(ms: number): Promise<void> {
    if (this.#poked) {
      this.#poked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let timer: TimerHandle | undefined;
      const done = (): void => {
        this.#interruptSleep = undefined;
        this.#poked = false;
        if (timer !== undefined) this.ctx.clock.clearTimeout(timer);
        resolve();
      };
      this.#interruptSleep = done;
      timer = this.ctx.clock.setTimeout(done, Math.min(Math.max(0, ms), MAX_ARM_MS));
    });
  }
}
