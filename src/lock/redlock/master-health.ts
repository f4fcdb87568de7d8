import type { Clock } from '../../clock/clock.js';
import { isConnectionError, type RedisClient } from '../../redis/connection.js';
import type { Settled } from './settle.js';

/**
 * Which lock masters are fit to hold the waiting queues: connected and not
 * just failed a call. Kept apart from `LockQuorum` because it is state about
 * the masters (a per-master "suspect until" time), not about any one lock,
 * and the quorum algorithm only asks it two questions.
 */

/** How long a master that timed out or dropped a queue call is avoided as the queue master. */
const SUSPECT_MS = 2_000;

export class MasterHealth {
  readonly #suspectUntil: number[];

  constructor(
    private readonly clients: readonly RedisClient[],
    private readonly clock: Clock,
  ) {
    this.#suspectUntil = clients.map(() => 0);
  }

  /**
   * The master that holds waiting queues: the first (in configured order) that
   * is connected and has not just failed a call. Every instance must list the
   * masters in the same order for their waiters to share one queue; if they
   * do not, waiters still get the lock, only not in arrival order.
   */
  queueMaster(): number | undefined {
    let fallback: number | undefined;
    for (let i = 0; i < this.clients.length; i++) {
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

  isSuspect(master: number): boolean {
    return this.clock.now() < (this.#suspectUntil[master] ?? 0);
  }

  /** Marks a master suspect when its call failed for a connection reason. */
  watch<T>(master: number, call: Promise<Settled<T>>): Promise<Settled<T>> {
    return call.then((outcome) => {
      if (!outcome.ok && isConnectionError(outcome.error)) this.markSuspect(master);
      return outcome;
    });
  }
}
