import type { Clock } from '../../clock/clock.js';
import type { RedisClient } from '../../redis/connection.js';
import { QuorumAttempt, type AttemptOutcome, type QueueQuery } from './quorum-attempt.js';
import { QuorumMasters } from './quorum-masters.js';
import { QuorumRelease, type ReleaseOutcome } from './quorum-release.js';
import { RedlockExtension, type ExtendOutcome, type QuorumHold } from './redlock-extension.js';
import type { LockKeys } from './scripts.js';

/**
 * The Redlock algorithm over the lock clients, with a fencing token and a
 * first-come-first-served waiting queue: the one object the lock, its
 * waiters and its leases call. Each operation lives in its own file:
 *  - acquire: `QuorumAttempt` (our acquire-4.lua: key, fencing token and
 *    queue place in one step);
 *  - extend: `RedlockExtension` (redlock's extend, on the redlock `Lock` each
 *    hold carries);
 *  - release: `QuorumRelease` (our release-4.lua: compare-and-delete, and
 *    with one master the lock granted to the next waiter in the same step;
 *    with several, the next waiter woken).
 */
export class LockQuorum {
  readonly clients: readonly RedisClient[];
  readonly size: number;
  readonly quorum: number;
  readonly #masters: QuorumMasters;
  readonly #attempts: QuorumAttempt;
  readonly #extension: RedlockExtension;
  readonly #releases: QuorumRelease;

  constructor(
    clients: readonly RedisClient[],
    labels: readonly string[],
    clock: Clock,
    driftFactor: number,
    /** The wake-up channel a release publishes the head's ticket on. */
    channel: string,
  ) {
    this.#masters = new QuorumMasters(clients, labels, clock, driftFactor);
    this.#extension = new RedlockExtension(this.#masters);
    this.#releases = new QuorumRelease(this.#masters, channel);
    this.#attempts = new QuorumAttempt(this.#masters, this.#extension, this.#releases);
    this.clients = clients;
    this.size = this.#masters.size;
    this.quorum = this.#masters.quorum;
  }

  /** One lock attempt on every master at once: see `QuorumAttempt.attempt`. */
  attempt(keys: LockKeys, ttlMs: number, queue: QueueQuery | undefined, where: string): Promise<AttemptOutcome> {
    return this.#attempts.attempt(keys, ttlMs, queue, where);
  }

  /** Extends a hold through redlock: see `RedlockExtension.extend`. Never rejects. */
  extend(keys: LockKeys, hold: QuorumHold, ttlMs: number, validUntil: number, where: string): Promise<ExtendOutcome> {
    return this.#extension.extend(keys, hold, ttlMs, validUntil, where);
  }

  /** Gives a hold back and serves the queue: see `QuorumRelease.release`. Never rejects. */
  release(keys: LockKeys, hold: QuorumHold, quiet: string): Promise<ReleaseOutcome> {
    return this.#releases.release(keys, hold, quiet);
  }

  /** The hold of a lock a release granted to one of our waiters (one master only). */
  grantedHold(keys: LockKeys, value: string): QuorumHold {
    return this.#extension.hold(keys, value);
  }

  /** Until when a key set with `ttlMs` after `since` (our clock) is ours: see `QuorumMasters.validUntil`. */
  validUntil(since: number, ttlMs: number): number {
    return this.#masters.validUntil(since, ttlMs);
  }

  /** The master that holds waiting queues: see `MasterHealth.queueMaster`. */
  queueMaster(): number | undefined {
    return this.#masters.queueMaster();
  }

  /** Avoid this master for the queue for a while (it timed out or dropped a call). */
  markSuspect(master: number): void {
    this.#masters.markSuspect(master);
  }
}
