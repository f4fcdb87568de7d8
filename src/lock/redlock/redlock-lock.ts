import { randomUUID } from 'node:crypto';
import { BackendUnavailableError, ErrorCode, SchedkitError } from '../../errors/schedkit-error.js';
import { messages } from '../../errors/messages.js';
import { closeClient, connectClient, createClient, errorText, type RedisClient } from '../../redis/connection.js';
import type { AcquireOptions, DistributedLock, LockLease, UsingOptions } from '../distributed-lock.js';
import { LockQuorum } from './lock-quorum.js';
import { instanceChannel, newTicket, parseGrant, type Grant, type ReleasedGrant } from './lock-grant.js';
import type { QuorumHold } from './redlock-extension.js';
import { LockWaiter, TICKET_LEASE_MS } from './lock-waiter.js';
import type { QueuedStart, WaitContext, Won } from './wait-context.js';
import { assertAcquire } from '../lock-input.js';
import {
  describeConnection,
  resolveRedlockOptions,
  withLockDefaults,
  type RedlockLockOptions,
  type ResolvedRedlockOptions,
} from './options.js';
import { RedlockLease } from './redlock-lease.js';
import { defineLockScripts, LockKeyCache, queueLeave, wakeChannel, type LockKeys } from './scripts.js';
import { count, gather, settle } from './settle.js';
import { WakeBus } from './wake-bus.js';
import { usingLock } from '../using-lock.js';

export type { RedlockLockOptions } from './options.js';

/** How long `connect()` waits for each master. */
const CONNECT_TIMEOUT_MS = 10_000;
/** Once a quorum is connected, how long `connect()` still gives the other masters. */
const CONNECT_GRACE_MS = 200;
/** How long `close()` lets waiters take their tickets off the queue. */
const CLOSE_WAITERS_MS = 2_000;

/** A message for a ticket whose waiter does not exist yet: none (false), a wake-up (true), or a grant. */
type Early = boolean | { readonly grant: Grant; readonly told: ReleasedGrant | undefined };

interface Connected {
  readonly quorum: LockQuorum;
  readonly bus: WakeBus;
  /** What leases and waiters use, made once. */
  readonly context: WaitContext;
}

/**
 * A `DistributedLock` on redlock: one Redis, or a quorum of N independent
 * masters (a lock is held when a majority agree). Usable on its own and by the
 * scheduler for every run.
 *
 * - **Acquire** is one round trip to every master in parallel: one script
 *   that takes the key, the fencing token and, for a caller that will wait,
 *   its place in the queue, all in one step. A held lock answers null; fewer
 *   than a quorum of reachable masters rejects with `BackendUnavailableError`
 *   (`E_BACKEND_UNAVAILABLE`), fast: lock clients have no offline queue and a
 *   500 ms command timeout.
 * - **Fencing tokens** strictly increase per resource across every
 *   acquisition, cluster-wide, even while a minority of masters is down
 *   (see `LockQuorum`).
 * - **Waiting** (`waitMs`) is first come, first served: a queue of tickets
 *   on the queue master. With one master, the release grants the lock
 *   straight to the waiter at the head of the queue: a waiter of the same
 *   process learns so from the reply (one round trip from holder to holder);
 *   one in another process is told over pub/sub (one subscriber connection
 *   per lock), and the grant lasts only until its ticket's lease would end
 *   (a few seconds), which the live waiter extends to its TTL (one more round
 *   trip), so a waiter that died is never left holding the lock for its TTL.
 *   With several masters, the release wakes the head over pub/sub and the
 *   head takes the lock with its own attempt. A holder whose TTL runs out
 *   wakes nobody: the head tries when it expires.
 * - **Release** is one round trip; **extend** goes through redlock. A failed
 *   extension rejects with `LockLostError` (`E_LOCK_LOST`) saying why:
 *   expired, taken over or unreachable. redlock's own `using()` is not used:
 *   `using` here refreshes with schedkit's `LeaseKeeper`.
 *
 * @example
 * const lock = new RedlockLock({ masters: [{ url: 'redis://a:6379' }, { url: 'redis://b:6379' }, { url: 'redis://c:6379' }] });
 * await lock.connect();
 * const lease = await lock.acquire('report:daily', { ttlMs: 30_000, waitMs: 5_000 });
 * if (lease) try { await work(lease.fencingToken); } finally { await lease.release(); }
 * await lock.close();
 */
export class RedlockLock implements DistributedLock {
  readonly #options: ResolvedRedlockOptions;
  readonly #channel: string;
  readonly #keys: LockKeyCache;
  /** Names this instance in its tickets, so messages for them reach this process only. */
  readonly #instance = randomUUID();
  #tickets = 0;
  #connected: Connected | undefined;
  #connecting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #closed = false;
  /** Local waiters by ticket (wake-ups are dispatched by ticket). */
  readonly #waiters = new Map<string, LockWaiter>();
  /** Local waiters per resource, oldest first: a release names the first still waiting, told by its reply instead of a message. */
  readonly #queued = new Map<string, Set<LockWaiter>>();
  /**
   * Tickets queued by an acquire's first attempt whose waiter does not exist
   * yet, and what came in for them meanwhile.
   */
  readonly #early = new Map<string, Early>();
  readonly #runs = new Set<Promise<unknown>>();
  /** Local waiters per resource: a newcomer does not jump ahead of them. */
  readonly #waiting = new Map<string, number>();
  /** The last local waiter's first join per resource: local waiters join in call order. */
  readonly #lastJoin = new Map<string, Promise<void>>();

  constructor(options: RedlockLockOptions) {
    this.#options = resolveRedlockOptions(options);
    this.#channel = wakeChannel(this.#options.prefix);
    this.#keys = new LockKeyCache(this.#options.prefix);
  }

  /**
   * Opens one fail-fast client per master and resolves once a quorum is
   * ready. A master that is down does not stop it: its client keeps
   * reconnecting in the background. Rejects with `E_BACKEND_UNAVAILABLE`
   * when fewer than a quorum can be reached. Idempotent.
   */
  connect(): Promise<void> {
    if (this.#closed) return Promise.reject(new SchedkitError(ErrorCode.NotStarted, messages.lockClosed('RedlockLock.connect')));
    this.#connecting ??= this.open().catch((error: unknown) => {
      this.#connecting = undefined;
      throw error;
    });
    return this.#connecting;
  }

  /** Gives up waits in progress, then closes every connection. Idempotent; never rejects. */
  close(): Promise<void> {
    this.#closing ??= this.shutdown();
    return this.#closing;
  }

  async acquire(resource: string, options: AcquireOptions): Promise<LockLease | null> {
    assertAcquire(resource, options);
    const { quorum, bus } = this.live('RedlockLock.acquire');
    const { ttlMs, signal } = options;
    const waitMs = options.waitMs ?? 0;
    const deadline = this.#options.clock.now() + waitMs;
    const keys = this.#keys.get(resource);
    const where = `lock "${resource}"`;
    const willWait = waitMs > 0 && signal?.aborted !== true;

    // Someone here already waits for it: the lock is not free for a newcomer.
    if ((this.#waiting.get(resource) ?? 0) === 0) {
      const master = quorum.queueMaster();
      // A caller that will wait is queued by this very attempt if it does not
      // get the lock, once wake-ups for its ticket cannot be missed.
      const ticket = willWait && master !== undefined && bus.isListeningOn(master) ? this.newTicket(ttlMs) : '';
      if (ticket !== '') this.#early.set(ticket, false);
      let out;
      // Dates a grant made to the ticket this attempt queues (see GrantDating).
      const sentAt = this.#options.clock.now();
      try {
        out = await quorum.attempt(keys, ttlMs, master === undefined ? undefined : { master, ticket, leaseMs: TICKET_LEASE_MS, join: ticket !== '' }, where);
      } catch (error) {
        if (ticket !== '' && master !== undefined) {
          this.#early.delete(ticket);
          // The queue master may have queued it before the quorum failed.
          void queueLeave(quorum.clients[master]!, keys, ticket, this.#channel, quorum.size === 1 ? 'gave-up-serve' : 'gave-up-wake').catch(() => undefined);
        }
        throw error;
      }
      const queued = out.queue.queued && master !== undefined ? master : undefined;
      if (out.acquired) {
        if (!out.queue.known || out.queue.ahead === 0) {
          this.#early.delete(ticket);
          if (queued !== undefined) void queueLeave(quorum.clients[queued]!, keys, ticket, this.#channel, 'won').catch(() => undefined);
          return this.lease(resource, keys, ttlMs, out);
        }
        // Waiters were queued first (the release woke one that has not got
        // here yet): first come, first served, so give it back.
        await this.releaseHold(resource, keys, out.hold);
      }
      if (willWait && queued !== undefined) {
        const start: QueuedStart = {
          master: queued,
          rank: out.queue.ahead,
          freeInMs: out.acquired ? 0 : out.freeInMs,
          sentAt,
          counter: out.queue.counter,
        };
        return this.wait(resource, keys, ttlMs, deadline, signal, where, ticket, start);
      }
      this.#early.delete(ticket);
    }
    if (!willWait) return null;
    return this.wait(resource, keys, ttlMs, deadline, signal, where, this.newTicket(ttlMs), undefined);
  }

  /** See `newTicket`. */
  private newTicket(ttlMs: number): string {
    return newTicket(this.#instance, ++this.#tickets, ttlMs);
  }

  using<T>(resource: string, options: UsingOptions, fn: (signal: AbortSignal, fencingToken: number) => Promise<T> | T): Promise<T> {
    return usingLock(this, this.#options.clock, resource, options, fn);
  }

  private async wait(
    resource: string,
    keys: LockKeys,
    ttlMs: number,
    deadline: number,
    signal: AbortSignal | undefined,
    where: string,
    ticket: string,
    start: QueuedStart | undefined,
  ): Promise<LockLease | null> {
    const waiter = new LockWaiter(this.context(), resource, keys, ttlMs, deadline, signal, where, this.#lastJoin.get(resource), ticket, start);
    this.#waiters.set(ticket, waiter);
    if (start !== undefined) {
      const early = this.#early.get(ticket);
      if (early === true) waiter.wake();
      else if (early !== undefined && early !== false) waiter.offer(early.grant, early.told);
      this.#early.delete(ticket);
    }
    let queued = this.#queued.get(resource);
    if (queued === undefined) this.#queued.set(resource, (queued = new Set()));
    queued.add(waiter);
    this.#waiting.set(resource, (this.#waiting.get(resource) ?? 0) + 1);
    this.#lastJoin.set(resource, waiter.joined);
    const run = waiter.run();
    this.#runs.add(run);
    try {
      const won = await run;
      return won === null ? null : this.lease(resource, keys, ttlMs, won);
    } finally {
      this.#runs.delete(run);
      this.#waiters.delete(waiter.ticket);
      queued.delete(waiter);
      if (queued.size === 0 && this.#queued.get(resource) === queued) this.#queued.delete(resource);
      const left = (this.#waiting.get(resource) ?? 1) - 1;
      if (left === 0) this.#waiting.delete(resource);
      else this.#waiting.set(resource, left);
      if (this.#lastJoin.get(resource) === waiter.joined) this.#lastJoin.delete(resource);
    }
  }

  private lease(resource: string, keys: LockKeys, ttlMs: number, won: Won): LockLease {
    return new RedlockLease(this.context(), resource, keys, ttlMs, won.fencingToken, won.hold, won.expiresAt);
  }

  /**
   * Releases a hold and serves the resource's queue: with one master the
   * release grants the lock to the head of the queue, with several it wakes
   * the head. When the head is a waiter of this process it learns so from
   * the reply (the oldest local waiter is named, so no message is published
   * for it). Never rejects.
   */
  private async releaseHold(resource: string, keys: LockKeys, hold: QuorumHold): Promise<void> {
    const connected = this.#connected;
    if (connected === undefined) return;
    let quiet = '';
    for (const waiter of this.#queued.get(resource) ?? []) {
      if (waiter.waiting) {
        quiet = waiter.ticket;
        break;
      }
    }
    const out = await connected.quorum.release(keys, hold, quiet);
    if (out.granted) this.deliver(out.grant, out.told);
    else void out.wokeQuiet?.then((woke) => woke && this.wakeLocal(quiet));
  }

  /** A wake-up for one of our tickets (from a release's reply or the wake-up channel). */
  private wakeLocal(ticket: string): void {
    const waiter = this.#waiters.get(ticket);
    if (waiter !== undefined) waiter.wake();
    else if (this.#early.get(ticket) === false) this.#early.set(ticket, true);
  }

  /** A grant for one of our tickets (from a release's reply or the wake-up channel). */
  private deliver(grant: Grant, told: ReleasedGrant | undefined): void {
    const waiter = this.#waiters.get(grant.ticket);
    if (waiter !== undefined) waiter.offer(grant, told);
    else if (this.#early.has(grant.ticket)) this.#early.set(grant.ticket, { grant, told });
    // Else its wait is over: its leave gives the lock back.
  }

  /** Leases and waiters keep working with it after close() (their calls then fail or end quietly). */
  private context(): WaitContext {
    const connected = this.#connected;
    if (connected === undefined) throw new SchedkitError(ErrorCode.NotStarted, messages.lockNotConnected('RedlockLock', this.#options.connectedBy));
    return connected.context;
  }

  private live(call: string): Connected {
    if (this.#closed) throw new SchedkitError(ErrorCode.NotStarted, messages.lockClosed(call));
    if (this.#connected === undefined) throw new SchedkitError(ErrorCode.NotStarted, messages.lockNotConnected(call, this.#options.connectedBy));
    return this.#connected;
  }

  private async open(): Promise<void> {
    const { masters, clock, driftFactor } = this.#options;
    const labels = masters.map(describeConnection);
    const clients: RedisClient[] = masters.map((master) => {
      const client = createClient(withLockDefaults(master), 'lock');
      // Failures surface through calls (and count as votes against).
      client.on('error', () => undefined);
      defineLockScripts(client);
      return client;
    });
    const quorum = new LockQuorum(clients, labels, clock, driftFactor, this.#channel);
    const connecting = clients.map((client) => settle(connectClient(client, 'RedlockLock', CONNECT_TIMEOUT_MS)));
    let snapshot = await gather(connecting, (s) => count(s) >= quorum.quorum);
    if (count(snapshot) >= quorum.quorum && count(snapshot) < clients.length) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), CONNECT_GRACE_MS)));
      snapshot = (await Promise.race([gather(connecting, (s) => count(s) === clients.length), grace])) ?? snapshot;
      clearTimeout(timer);
    }
    const ready = clients.filter((client) => client.status === 'ready').length;
    if (ready < quorum.quorum || this.#closed) {
      await Promise.all(clients.map((client) => closeClient(client)));
      if (this.#closed) throw new SchedkitError(ErrorCode.NotStarted, messages.lockClosed('RedlockLock.connect'));
      const reasons = snapshot.flatMap((outcome, i) => (outcome?.ok === false ? [`${labels[i]}: ${errorText(outcome.error)}`] : []));
      const firstError = snapshot.find((outcome) => outcome?.ok === false);
      throw new BackendUnavailableError(
        messages.lockQuorumUnavailable('RedlockLock.connect', ready, clients.length, quorum.quorum, reasons.join('; ')),
        firstError?.ok === false ? firstError.error : undefined,
      );
    }
    const bus = new WakeBus(
      masters,
      [this.#channel, instanceChannel(this.#channel, this.#instance)],
      (message) => {
        const grant = parseGrant(message);
        if (grant !== undefined) this.deliver(grant, undefined);
        else this.wakeLocal(message);
      },
      () => {
        for (const waiter of this.#waiters.values()) waiter.missedMessages();
      },
    );
    const context: WaitContext = {
      clock,
      quorum,
      bus,
      channel: this.#channel,
      isClosed: () => this.#closed,
      releaseHold: (resource, keys, hold) => this.releaseHold(resource, keys, hold),
    };
    this.#connected = { quorum, bus, context };
    // The subscriber is opened now, so the first wait does not pay for it.
    const master = quorum.queueMaster();
    if (master !== undefined) await bus.listenOn(master).catch(() => undefined);
  }

  private async shutdown(): Promise<void> {
    this.#closed = true;
    await this.#connecting?.catch(() => undefined);
    for (const waiter of this.#waiters.values()) waiter.poke();
    if (this.#runs.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.#runs]),
        new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_WAITERS_MS))),
      ]);
      clearTimeout(timer);
    }
    const connected = this.#connected;
    if (connected === undefined) return;
    await connected.bus.close();
    await Promise.all(connected.quorum.clients.map((client) => closeClient(client)));
  }
}
