import type { Clock } from '../../clock/clock.js';
import { LockLostError, SchedkitError } from '../../errors/schedkit-error.js';
import { messages } from '../../errors/messages.js';
import type { LockLease } from '../distributed-lock.js';
import { assertExtendTtl } from '../lock-input.js';
import type { Extension, LockStatements } from './lock-statements.js';

/** What a lease needs from its lock. */
export interface LeaseContext {
  readonly clock: Clock;
  readonly statements: LockStatements;
}

/** A lock won: its fencing token, its expiry (database clock) and how long this process counts on it (own clock). */
export interface Won {
  readonly owner: string;
  readonly fencingToken: number;
  readonly expiresAt: number;
  /** The attempt's send time plus the TTL: the lease started no earlier than that call was sent. */
  readonly validUntil: number;
}

/**
 * A grant of a `PostgresLock`: the row `(resource, owner)` in `lock_leases`.
 * Extending and releasing act only while the row still names this owner, so
 * a lease that expired and was taken over can neither extend nor free its
 * successor's lock.
 *
 * `expiresAt` is the database's expiry. `isReleased` also turns true when
 * this process's own count runs out (the TTL from the send time of the call
 * that set the expiry): past that, the lock may be someone else's.
 */
export class PostgresLease implements LockLease {
  #released = false;
  #lostWhy: string | undefined;
  #expiresAt: number;
  #validUntil: number;

  constructor(
    private readonly ctx: LeaseContext,
    readonly resource: string,
    private readonly ttlMs: number,
    private readonly won: Won,
  ) {
    this.#expiresAt = won.expiresAt;
    this.#validUntil = won.validUntil;
  }

  get fencingToken(): number {
    return this.won.fencingToken;
  }

  get expiresAt(): number {
    return this.#expiresAt;
  }

  get isReleased(): boolean {
    return this.#released || this.#lostWhy !== undefined || this.ctx.clock.now() >= this.#validUntil;
  }

  async extend(ttlMs: number = this.ttlMs): Promise<void> {
    assertExtendTtl(ttlMs);
    if (this.#released) this.lose(messages.lockReleased());
    if (this.#lostWhy !== undefined) this.lose(this.#lostWhy);
    const sentAt = this.ctx.clock.now();
    let out: Extension;
    try {
      out = await this.ctx.statements.extend(this.resource, this.won.owner, ttlMs, this.where);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      this.lose(SchedkitError.is(error, 'E_BACKEND_UNAVAILABLE') ? messages.postgresLockUnreachable(why) : messages.postgresLockRefused(why), error);
    }
    if (!out.extended) {
      // The fence only grows: a larger one is a later holder's.
      if (out.fence !== undefined && out.fence > this.won.fencingToken) this.lose(messages.lockTakenOver(out.fence));
      this.lose(messages.lockExpired(out.expiresAt ?? this.#expiresAt));
    }
    if (this.#released) return;
    this.#expiresAt = out.expiresAt;
    this.#validUntil = sentAt + ttlMs;
  }

  /** Ends the lease in the database (waking the next waiter). Never rejects: a lease that cannot be reached expires. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.ctx.statements.release(this.resource, this.won.owner, this.where).catch(() => undefined);
  }

  private get where(): string {
    return `lock "${this.resource}"`;
  }

  /** From now on the lease is known lost. */
  private lose(why: string, cause?: unknown): never {
    this.#lostWhy ??= why;
    throw new LockLostError(messages.lockLost(this.resource, why), {
      cause,
      details: { resource: this.resource, fencingToken: this.won.fencingToken },
    });
  }
}
