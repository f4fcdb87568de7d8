import type { Clock } from '../../clock/clock.js';
import type { LockQuorum } from './lock-quorum.js';
import type { AttemptOutcome } from './quorum-attempt.js';
import type { QuorumHold } from './redlock-extension.js';
import type { LockKeys } from './scripts.js';
import type { WakeBus } from './wake-bus.js';

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
  readonly master: number;
  readonly rank: number;
  /** When a quorum should be free, from that attempt. */
  readonly freeInMs: number;
  /** When that attempt was sent, and the fencing counter it saw (see `GrantDating`). */
  readonly sentAt: number;
  readonly counter: number;
}

export type Won = Extract<AttemptOutcome, { acquired: true }>;
