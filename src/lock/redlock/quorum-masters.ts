import type { Clock } from '../../clock/clock.js';
import { BackendUnavailableError } from '../../errors/schedkit-error.js';
import { messages } from '../../errors/messages.js';
import { errorText, type RedisClient } from '../../redis/connection.js';
import { MasterHealth } from './master-health.js';
import { count, gather, type Settled, type Snapshot } from './settle.js';

/**
 * Once a quorum has answered a call, how much longer to wait for the queue
 * master's reply. It only serves fairness (a missing reply counts as an empty
 * queue), so a paused queue master must not hold up every acquire or release
 * for its command timeout.
 */
const QUEUE_VIEW_GRACE_MS = 25;

/**
 * The masters one lock runs on, and what every quorum operation on them
 * shares: how many make a quorum, how long a grant is valid, which master is
 * fit to hold the waiting queues, and the error that says which masters did
 * not answer.
 */
export class QuorumMasters {
  readonly size: number;
  readonly quorum: number;
  readonly #health: MasterHealth;

  constructor(
    readonly clients: readonly RedisClient[],
    private readonly labels: readonly string[],
    readonly clock: Clock,
    /** Share of the TTL allowed for clock drift between masters; redlock is given the same. */
    readonly driftFactor: number,
  ) {
    this.size = clients.length;
    this.quorum = Math.floor(clients.length / 2) + 1;
    this.#health = new MasterHealth(clients, clock);
  }

  /**
   * Until when, by our clock, a grant made by calls sent at `started` is
   * valid: Redis loses 1 ms of precision on expiry and clocks drift, so the
   * lease ends a little before the key does (redlock's formula).
   */
  validUntil(started: number, ttlMs: number): number {
    return started + ttlMs - (Math.round(this.driftFactor * ttlMs) + 2);
  }

  /** The master that holds waiting queues: see `MasterHealth.queueMaster`. */
  queueMaster(): number | undefined {
    return this.#health.queueMaster();
  }

  /** Avoid this master for the queue for a while (it timed out or dropped a call). */
  markSuspect(master: number): void {
    this.#health.markSuspect(master);
  }

  isSuspect(master: number): boolean {
    return this.#health.isSuspect(master);
  }

  /** Marks the master suspect when its call fails for a connection reason. */
  watch<T>(master: number, call: Promise<Settled<T>>): Promise<Settled<T>> {
    return this.#health.watch(master, call);
  }

  /** `gather` until `enough`, then up to QUEUE_VIEW_GRACE_MS more for `wanted` (the queue master's reply). */
  async gatherWithQueueView<T>(
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

  /** `E_BACKEND_UNAVAILABLE`, naming each master that failed or did not answer. */
  unavailable(where: string, snapshot: Snapshot<unknown>, cause: unknown): BackendUnavailableError {
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
