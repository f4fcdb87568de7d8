import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import Redlock, { Lock, type Settings } from 'redlock';
import type { QuorumMasters } from './quorum-masters.js';
import type { LockKeys } from './scripts.js';
import { count, gather, settle } from './settle.js';

/**
 * The part of the lock that goes through redlock: a hold granted by our
 * acquire script (or by a release, to a waiter) carries a redlock `Lock` from
 * its first extension, and a lease is extended with `redlock.extend` on that
 * `Lock`. Only redlock's public API is used: its default export, its exported
 * `Lock` class (whose constructor its typings declare public), `Lock`'s
 * public `value` and `expiration` fields, `extend`, `scripts` and `Settings`.
 *
 * **Whose clock decides.** redlock refuses to extend a `Lock` whose
 * `expiration` is before `Date.now()`; schedkit measures lease validity with
 * the injected clock. Before each extension the `Lock`'s `expiration` is set
 * to the lease's validity by our clock, carried over to `Date.now()`'s
 * timeline (now + what our clock says is left). The lease has already
 * refused to extend past its validity by our clock, so redlock's check then
 * asks the same question and gets the same answer: it never decides for us,
 * whatever the injected clock's offset or rate.
 */

/** A lock held on a quorum of masters. Opaque outside this file: only `RedlockExtension.hold` makes one. */
export interface QuorumHold {
  /** Whoever holds this value in the key holds the lock. */
  readonly value: string;
}

class Hold implements QuorumHold {
  /**
   * redlock's view of the hold, made on the first extension (most holds are
   * released without one); each extension returns a new one.
   */
  lock: Lock | undefined;

  constructor(
    readonly key: string,
    readonly value: string,
  ) {}
}

function holdOf(hold: QuorumHold): Hold {
  if (!(hold instanceof Hold)) throw new Error('INVARIANT: a QuorumHold that RedlockExtension did not create');
  return hold;
}

/** Lock values: random, never reused (122 random bits, from Node's batched entropy: cheaper than a randomBytes call each). */
export function newLockValue(): string {
  return randomUUID();
}

/** Why a lease could not be extended. */
export type LossReason = { readonly kind: 'taken' } | { readonly kind: 'expired' } | { readonly kind: 'unreachable'; readonly why: string };

export type ExtendOutcome =
  | { readonly extended: true; /** By our clock. */ readonly validUntil: number }
  | { readonly extended: false; readonly reason: LossReason; /** redlock's error. */ readonly cause: unknown };

/** Every setting given, so none comes from redlock's defaults. */
function redlockSettings(driftFactor: number): Settings {
  return {
    // The same drift as our own validity, so redlock's `expiration` and ours agree.
    driftFactor,
    // One round per extension: redlock's retries would wait on its own timers,
    // outside the injected clock, and hold back the LockLostError that stops
    // the run; the refresh loop extends long before the lease runs out.
    retryCount: 0,
    retryDelay: 0,
    retryJitter: 0,
    // Read only by `using()`, which schedkit does not use: it hot-loops on a
    // lost lock and masks the routine's result (NOTES-deps 2.4).
    automaticExtensionThreshold: 500,
  };
}

export class RedlockExtension {
  readonly #redlock: Redlock;

  constructor(private readonly masters: QuorumMasters) {
    this.#redlock = new Redlock(masters.clients, redlockSettings(masters.driftFactor));
    // redlock emits one 'error' per vote against (a dead master): expected
    // noise. Its constructor installs a no-op listener; we add none.
    for (const client of masters.clients) {
      // Cached on every (re)connect, so an extension does not pay for redlock's NOSCRIPT fallback.
      if (client instanceof Redis) client.on('ready', () => void client.script('LOAD', this.#redlock.scripts.extendScript.value).catch(() => undefined));
    }
  }

  /** The hold for `value`, granted in the key `keys.lock` (its validity is the lease's, passed to each `extend`). */
  hold(keys: LockKeys, value: string): QuorumHold {
    return new Hold(keys.lock, value);
  }

  /**
   * Pushes the key's expiry to now + `ttlMs` on a quorum, through redlock's
   * extend. `validUntil` is the lease's validity by our clock (see the file
   * comment). Never rejects: a refusal says why the lease is lost.
   */
  async extend(keys: LockKeys, hold: QuorumHold, ttlMs: number, validUntil: number, where: string): Promise<ExtendOutcome> {
    const held = holdOf(hold);
    const started = this.masters.clock.now();
    // `attempts` is empty: the grant came from our scripts, not from a redlock vote.
    const lock = (held.lock ??= new Lock(this.#redlock, [held.key], held.value, [], 0));
    lock.expiration = this.onDateNowTimeline(validUntil);
    try {
      held.lock = await this.#redlock.extend(lock, ttlMs);
    } catch (error) {
      // redlock rejects with ExecutionError: no quorum voted for the
      // extension. Each vote against is a ResourceLockedError (the key holds
      // another value or none) or the master's own error, but the votes
      // settle only once every master has answered (a paused one: after its
      // command timeout), so the reason is read from a quorum instead.
      return { extended: false, reason: await this.lossReason(keys, hold, where), cause: error };
    }
    return { extended: true, validUntil: this.masters.validUntil(started, ttlMs) };
  }

  /** `validUntil` by our clock, as the `Date.now()` instant that leaves the same time. */
  private onDateNowTimeline(validUntil: number): number {
    return Date.now() + (validUntil - this.masters.clock.now());
  }

  /** Why an extension failed: another value in the key, no key, or too few masters answering. */
  private async lossReason(keys: LockKeys, hold: QuorumHold, where: string): Promise<LossReason> {
    const { clients, quorum } = this.masters;
    const snapshot = await gather(
      clients.map((client, i) => this.masters.watch(i, settle(client.get(keys.lock)))),
      (s) => count(s) >= quorum,
    );
    if (count(snapshot) < quorum) return { kind: 'unreachable', why: this.masters.unavailable(where, snapshot, undefined).message };
    if (count(snapshot, (value) => value !== null && value !== hold.value) > 0) return { kind: 'taken' };
    return { kind: 'expired' };
  }
}
