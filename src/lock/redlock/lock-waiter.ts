import { BackendUnavailableError } from '../../errors/schedkit-error.js';
import { messages } from '../../errors/messages.js';
import { isConnectionError, toBackendError } from '../../redis/connection.js';
import { GrantDating, type Grant, type ReleasedGrant } from './lock-grant.js';
import type { QueueView } from './quorum-attempt.js';
import { queueJoin, queueLeave, type LockKeys } from './scripts.js';
import type { QueuedStart, WaitContext, Won } from './wait-context.js';
import { WakeableSleep } from '../wakeable-sleep.js';

/** A waiter's ticket lives this long on the queue unless renewed: a dead waiter blocks the queue at most this long. */
export const TICKET_LEASE_MS = 3_000;

/** A live waiter renews its ticket (and re-reads its place, or finds a grant whose message was lost) this often. */
const RENEW_MS = 1_000;
/** Quick retries (2, 4, 8, 16 ms) of a head whose attempt right after a wake-up failed. */
const WOKEN_RETRIES = 4;

/** A lock granted to a waiter, its value in the key until at least `validUntil` (our clock), not yet extended to the waiter's TTL. */
interface Offered {
  readonly grant: Grant;
  readonly validUntil: number;
}

/** Where a waiter granted the lock by a release stands: off the queue. */
const TAKEN_OFF: QueueView = { known: true, ahead: 0, queued: false, counter: 0 };

/**
 * One caller waiting for a held lock: first come, first served, served by
 * the release rather than by polling.
 *
 * The waiter puts a ticket on the resource's queue on the queue master and
 * sleeps.
 *  - With one master, the release grants the lock straight to the head of
 *    the queue (lua/includes/grant.lua), whichever process it lives in, and
 *    tells it (`offer`): the releasing process's own waiter by the reply,
 *    with the full TTL, and holds it at once; a waiter elsewhere by a
 *    message, with a grant that ends when its ticket's lease would, and holds
 *    the lock once it has extended the grant to its TTL (`claim`). If the
 *    message is lost, its next renewal finds the lock key holding its grant.
 *  - With several masters, the queue master's release publishes the head's
 *    ticket (`wake`), and the head tries the lock on every master, again
 *    within milliseconds if a release had not reached them all yet.
 * When the holder's TTL runs out without a release (a crashed holder), the
 * head tries the lock when a quorum of masters should be free, from the
 * PTTLs its last call saw. The ticket is renewed every second (with the
 * waiter's place re-read, which also covers a lost wake-up); a waiter that
 * died stops renewing, and its ticket is dropped once its lease runs out.
 * Giving up (waitMs, abort, close) removes the ticket and passes the turn on,
 * giving back a lock granted in the meantime.
 */
export class LockWaiter {
  /** Settles once the ticket was first put on the queue (or that failed): the next local waiter joins behind it. */
  readonly joined: Promise<void>;
  #markJoined!: () => void;
  #woken = false;
  /** Renew now: a grant or wake-up may have been missed, or a grant needs a fresher date. */
  #recheck = false;
  readonly #sleep: WakeableSleep;
  /** The queue master holding our ticket, once a reply said so: renewals go there. */
  #master: number | undefined;
  /** The master that may hold our ticket or a lock granted to it, which a waiter that gives up must tell. */
  #ticketAt: number | undefined;
  #rank = -1;
  #attemptAt = Number.POSITIVE_INFINITY;
  #renewAt = 0;
  #failures = 0;
  #wokenRetries = 0;
  readonly #dating = new GrantDating();
  /** A lock granted to us (one master) that the loop is to extend to our TTL before it is ours to use. */
  #offered: Offered | undefined;
  /** The fence of the last grant taken up (offered, claimed or held): a second word of it is ignored. */
  #taken = 0;
  /** A lock held (one master: granted and, if need be, claimed), not yet returned by the loop. */
  #granted: Won | undefined;
  /** The wait is over (run's loop returned): grants are left to the leave script from then on. */
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
    /** See `newTicket`. */
    readonly ticket: string,
    /** Where the ticket stands when an acquire's first attempt queued it already. */
    start?: QueuedStart,
  ) {
    this.joined = new Promise((resolve) => (this.#markJoined = resolve));
    this.#sleep = new WakeableSleep(ctx.clock);
    if (start !== undefined) {
      const now = ctx.clock.now();
      this.#master = this.#ticketAt = start.master;
      this.#rank = start.rank;
      this.#renewAt = now + RENEW_MS;
      this.#dating.waiting(start.sentAt, start.counter);
      if (start.rank === 0) this.#attemptAt = now + start.freeInMs;
      this.#markJoined();
    }
  }

  /** Still waiting: a release may name it as the local waiter it serves quietly. */
  get waiting(): boolean {
    return !this.#done && this.#granted === undefined && this.#offered === undefined;
  }

  /**
   * A lock granted to our ticket (one master): from the wake-up channel, or
   * from a release of this process (`told`: its send time and the expiry it
   * gave the key). A grant of the full TTL, fresh enough, is held from now
   * on; any other is claimed first (see `take`). A grant that cannot be
   * dated (see `GrantDating`) is stale and ignored.
   */
  offer(grant: Grant, told?: ReleasedGrant): void {
    if (this.#done || this.#granted !== undefined || grant.fence <= this.#taken) return;
    if (this.ctx.quorum.size !== 1) {
      // Only a lock on one master grants; take it as a wake-up.
      this.wake();
      return;
    }
    const since = this.#dating.since(grant.fence);
    if (since === undefined) return; // stale: a later reply found it gone
    // The key expires `told.ms` after the grant, or, told by a message, when
    // the ticket's lease (renewed by the call dated `since`) ends, or at the TTL.
    const ms = told?.ms ?? Math.min(this.ttlMs, TICKET_LEASE_MS);
    this.take(grant, this.ctx.quorum.validUntil(Math.max(since, told?.sentAt ?? since), ms), ms >= this.ttlMs);
  }

  /** Our ticket was published: we are at the head and the lock was just given up. */
  wake(): void {
    this.#woken = true;
    this.poke();
  }

  /** Re-check now (abort, close). */
  poke(): void {
    this.#sleep.wake();
  }

  /** Renew and re-read our place now: the wake-up channel was away, a message may be lost. */
  missedMessages(): void {
    this.#recheck = true;
    this.poke();
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
      // A grant that came in while the loop was ending (gave up, failed).
      const late = this.#granted !== won ? this.#granted?.hold : undefined;
      const unclaimed = this.#offered;
      this.#granted = this.#offered = undefined;
      if (late !== undefined) await this.ctx.releaseHold(this.resource, this.keys, late);
      if (unclaimed !== undefined) await this.ctx.releaseHold(this.resource, this.keys, this.ctx.quorum.grantedHold(this.keys, unclaimed.grant.value));
      await this.leave(won !== null);
    }
  }

  private gaveUp(): boolean {
    return this.ctx.isClosed() || this.signal?.aborted === true;
  }

  /**
   * A grant to our ticket, ours until `validUntil` (our clock). A grant of the
   * full TTL with at least half of it left is held at once. Any other is
   * claimed by the loop: extended to our TTL, the same value and fencing
   * token, so a waiter that died before its grant came holds the lock no
   * longer than its ticket's lease. A grant whose validity is already over
   * by our clock is re-read from the key first (it may still be there).
   * The grant took the ticket off the queue.
   */
  private take(grant: Grant, validUntil: number, full: boolean): void {
    const now = this.ctx.clock.now();
    this.#taken = Math.max(this.#taken, grant.fence);
    this.#master = this.#ticketAt = undefined;
    if (full && validUntil - now >= this.ttlMs / 2) {
      const hold = this.ctx.quorum.grantedHold(this.keys, grant.value);
      this.#granted = { acquired: true, hold, fencingToken: grant.fence, expiresAt: validUntil, queue: TAKEN_OFF };
    } else if (validUntil > now) {
      this.#offered = { grant, validUntil };
    } else {
      this.#recheck = true;
    }
    this.poke();
  }

  /**
   * Extends a grant to our TTL (redlock's extend: only while the key still
   * holds the grant's value, which no other grant or acquire ever sets). The
   * lease is then valid from the extension's send time. Undefined when the
   * key is no longer ours (the grant expired first) or the master did not answer.
   */
  private async claim(offered: Offered): Promise<Won | undefined> {
    const { quorum } = this.ctx;
    const hold = quorum.grantedHold(this.keys, offered.grant.value);
    const out = await quorum.extend(this.keys, hold, this.ttlMs, offered.validUntil, this.where);
    if (!out.extended) return undefined;
    return { acquired: true, hold, fencingToken: offered.grant.fence, expiresAt: out.validUntil, queue: TAKEN_OFF };
  }

  private async loop(): Promise<Won | null> {
    const { clock, quorum } = this.ctx;
    for (;;) {
      const granted = this.#granted;
      if (granted !== undefined) {
        if (!this.gaveUp() && clock.now() < granted.expiresAt) return granted;
        // Given up, or stalled past its validity before we could use it: pass it on.
        this.#granted = undefined;
        await this.ctx.releaseHold(this.resource, this.keys, granted.hold);
        if (this.gaveUp()) return null;
      }
      const offered = this.#offered;
      if (offered !== undefined && !this.gaveUp()) {
        const won = await this.claim(offered);
        if (this.#offered === offered) this.#offered = undefined;
        if (won !== undefined) this.#granted = won;
        // Not ours any more (it expired first), or no answer: the join
        // queues the ticket again, or finds the grant still there.
        else this.#recheck = true;
        continue;
      }
      if (this.gaveUp()) return null;
      if (clock.now() >= this.deadline && !this.#woken) return null;
      const master = quorum.queueMaster();
      if (this.#master === undefined || this.#master !== master || this.#recheck || clock.now() >= this.#renewAt) {
        this.#recheck = false;
        await this.join(master);
        continue;
      }
      if (this.#woken || (this.#rank === 0 && clock.now() >= this.#attemptAt)) {
        if (this.#woken) this.#wokenRetries = WOKEN_RETRIES;
        this.#woken = false;
        const won = await this.attempt(this.#master);
        if (won !== undefined) return won;
        continue;
      }
      await this.sleep(Math.min(this.deadline, this.#attemptAt, this.#renewAt) - clock.now());
    }
  }

  /** Puts the ticket on the queue (or renews it) and reads our place, or finds the lock granted to us. */
  private async join(master: number | undefined): Promise<void> {
    const { clock, quorum, bus } = this.ctx;
    if (master === undefined) {
      throw new BackendUnavailableError(messages.lockQuorumUnavailable(this.where, 0, quorum.size, quorum.quorum, 'no master is connected'));
    }
    const previous = this.#ticketAt;
    if (previous !== undefined && previous !== master) {
      // The queue master moved (the old one failed): queue up again there.
      void queueLeave(quorum.clients[previous]!, this.keys, this.ticket, this.ctx.channel, this.giveUpMode()).catch(() => undefined);
      this.#master = this.#ticketAt = undefined;
    }
    try {
      // Listening before joining, so no message for our ticket can be missed.
      await bus.listenOn(master);
      if (this.#ticketAt === undefined) await this.after;
      const sentAt = clock.now();
      this.#dating.sending(sentAt);
      this.#ticketAt = master;
      const place = await queueJoin(quorum.clients[master]!, this.keys, this.ticket, TICKET_LEASE_MS);
      const now = clock.now();
      if (place.granted) {
        // Granted already (its message lost or not here yet, or a grant to
        // re-date): the key's PTTL dates it, and the loop claims it.
        const fence = fenceOf(place.value);
        if (this.#granted === undefined && this.#offered?.grant.fence !== fence && place.pttl > 0) {
          this.take({ ticket: this.ticket, value: place.value, fence }, quorum.validUntil(sentAt, place.pttl), false);
        }
        return;
      }
      this.#dating.waiting(sentAt, place.counter);
      const pending = this.#granted?.fencingToken ?? this.#offered?.grant.fence;
      if (pending !== undefined) {
        // A grant came in while this call was out. A reply from before it
        // leaves the ticket gone (the grant took it off); one from after it
        // queued the ticket again: that grant was gone (expired) by then.
        if (place.counter < pending) return;
        this.#granted = this.#offered = undefined;
        this.#ticketAt = master;
      }
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
    const sentAt = clock.now();
    const out = await quorum.attempt(this.keys, this.ttlMs, { master, ticket: this.ticket, leaseMs: TICKET_LEASE_MS, join: false }, this.where);
    const now = clock.now();
    if (out.queue.known) this.#renewAt = now + RENEW_MS;
    if (out.acquired) {
      // With one master the grant took the ticket off the queue.
      if (quorum.size === 1) this.#master = this.#ticketAt = undefined;
      if (!out.queue.known || out.queue.ahead === 0) {
        if (!this.gaveUp()) return out;
        await this.ctx.releaseHold(this.resource, this.keys, out.hold);
        return null;
      }
      // Someone is ahead of us (our ticket had lapsed and went to the tail):
      // hand the lock back, which serves the head.
      await this.ctx.releaseHold(this.resource, this.keys, out.hold);
    }
    this.#failures++;
    if (out.queue.known) {
      if (out.queue.queued) this.#dating.waiting(sentAt, out.queue.counter);
      // Not queued: lapsed, or a grant to us took it off (then the join finds the grant).
      else this.#master = undefined;
      this.#rank = out.queue.ahead;
    }
    const retryFloor = Math.min(2 ** this.#failures, 250);
    if (this.#rank !== 0 || out.acquired) this.#attemptAt = Number.POSITIVE_INFINITY;
    // Woken by a release on several masters, which may not have reached them
    // all yet: try again soon rather than when the old holder's key would expire.
    else if (this.#wokenRetries-- > 0) this.#attemptAt = now + 2 ** (WOKEN_RETRIES - this.#wokenRetries);
    else this.#attemptAt = now + Math.max(out.freeInMs, retryFloor);
    return undefined;
  }

  private giveUpMode(): 'gave-up-serve' | 'gave-up-wake' {
    return this.ctx.quorum.size === 1 ? 'gave-up-serve' : 'gave-up-wake';
  }

  /**
   * Takes the ticket off the queue (unless it is gone already): a winner's
   * quietly (its release serves the next), a quitter's passing its turn on,
   * and giving back a lock granted to it whose message has not arrived.
   */
  private async leave(won: boolean): Promise<void> {
    const master = this.#ticketAt;
    this.#master = this.#ticketAt = undefined;
    if (master === undefined) return;
    const leaving = queueLeave(this.ctx.quorum.clients[master]!, this.keys, this.ticket, this.ctx.channel, won ? 'won' : this.giveUpMode()).catch(() => undefined);
    // A winner's removal goes out on the queue master's connection before its
    // release, so it need not be awaited; a quitter's ticket (and any grant)
    // must be gone when acquire resolves null.
    if (!won) await leaving;
  }

  /** Sleeps up to `ms`; a message, abort or close ends it early. */
  private sleep(ms: number): Promise<void> {
    return this.#sleep.sleep(ms);
  }
}

/** The fence of a granted lock value (`<ticket>#<fence>`). */
function fenceOf(value: string): number {
  return Number(value.slice(value.lastIndexOf('#') + 1));
}
