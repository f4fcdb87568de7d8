import type { Clock } from '../../clock/clock.js';
import { LockLostError } from '../../errors/schedkit-error.js';
import { messages } from '../../errors/messages.js';
import type { LockLease } from '../distributed-lock.js';
import type { LockQuorum } from './lock-quorum.js';
import type { LossReason, QuorumHold } from './redlock-extension.js';
import { assertExtendTtl } from '../lock-input.js';
import type { LockKeys } from './scripts.js';

/** What a lease needs from its lock. */
export interface LeaseContext {
  readonly clock: Clock;
  readonly quorum: LockQuorum;
  /** Releases a hold and serves the resource's queue. Never rejects. */
  releaseHold(resource: string, keys: LockKeys, hold: QuorumHold): Promise<void>;
}

function lossText(reason: LossReason): string {
  if (reason.kind === 'taken') return messages.lockTakenOverByOther();
  if (reason.kind === 'expired') return messages.lockExpiredOnServers();
  return messages.lockUnreachable(reason.why);
}

/** A grant of a `RedlockLock`. */
export class RedlockLease implements LockLease {
  #released = false;
  #lostWhy: string | undefined;
  #expiresAt: number;

  constructor(
    private readonly ctx: LeaseContext,
    readonly resource: string,
    private readonly keys: LockKeys,
    private readonly ttlMs: number,
    readonly fencingToken: number,
    private readonly hold: QuorumHold,
    expiresAt: number,
  ) {
    this.#expiresAt = expiresAt;
  }

  get expiresAt(): number {
    return this.#expiresAt;
  }

  get isReleased(): boolean {
    return this.#released || this.#lostWhy !== undefined || this.ctx.clock.now() >= this.#expiresAt;
  }

  async extend(ttlMs: number = this.ttlMs): Promise<void> {
    assertExtendTtl(ttlMs);
    if (this.#released) this.lose(messages.lockReleased());
    if (this.#lostWhy !== undefined) this.lose(this.#lostWhy);
    // Past the validity time the key may be gone or someone else's: never
    // extend on hope.
    if (this.ctx.clock.now() >= this.#expiresAt) this.lose(messages.lockExpired(this.#expiresAt));
    const outcome = await this.ctx.quorum.extend(this.keys, this.hold, ttlMs, this.#expiresAt, `lock "${this.resource}"`);
    if (!outcome.extended) this.lose(lossText(outcome.reason), outcome.cause);
    if (!this.#released) this.#expiresAt = outcome.validUntil;
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    // Also after a loss: the key may still be ours on masters that were out
    // of reach; release-4.lua deletes it only where it still holds our value.
    await this.ctx.releaseHold(this.resource, this.keys, this.hold);
  }

  /** From now on the lease is known lost. */
  private lose(why: string, cause?: unknown): never {
    this.#lostWhy ??= why;
    throw new LockLostError(messages.lockLost(this.resource, why), {
      cause,
      details: { resource: this.resource, fencingToken: this.fencingToken },
    });
  }
}
