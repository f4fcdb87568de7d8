/**
 * The stored record of one run. Separate from the job model because runs have
 * their own life cycle (pending, active, finished) and their own copies handed
 * to callers (`summary`, `claimed`).
 */
import type { ClaimedRun, RunOutcome, RunState, RunSummary, StoredRun } from '../backend.js';
import type { JobState } from './job-state.js';

/**
 * A run (slot or one-off) through its life: pending → active → pending again
 * (retry, requeue, stall) or finished. `gone` marks a record deleted while
 * its entry may still sit in the pending heap.
 */
export class RunRecord {
  state: 'pending' | 'active' | 'done' | 'gone' = 'pending';
  /** Where a pending run waits: the due heap, or its job's parked list or waiting heap. */
  where: 'index' | 'parked' | 'waiting' = 'index';
  dueAt: number;
  /** Tie-breaker in the heap: when the run became pending. */
  seq = 0;
  runId: string;
  instanceId = '';
  fencingToken = 0;
  claimedAt = 0;
  leaseUntil = 0;
  finishedAt: number | null = null;
  outcome: RunOutcome | null = null;
  /** `cancelRun` was called while it ran: its finish never retries or requeues it. */
  cancelRequested = false;
  /** `cancelRun` asked with `abort`: heartbeats answer `cancel`. */
  abortRequested = false;

  constructor(
    readonly job: JobState,
    readonly id: string,
    readonly kind: 'slot' | 'trigger',
    readonly scheduledAt: number,
    public attempt: number,
    readonly exclusive: boolean,
    readonly params: string | undefined,
    readonly requeueOnStall: boolean,
    readonly maxAttempts: number,
  ) {
    this.dueAt = scheduledAt;
    this.runId = id;
  }

  summary(): RunSummary {
    return {
      id: this.id,
      key: this.job.key,
      kind: this.kind,
      state: this.state === 'gone' ? 'done' : this.state,
      scheduledAt: this.scheduledAt,
      dueAt: this.dueAt,
      attempt: this.attempt,
      outcome: this.outcome,
    };
  }

  /** The run as `getRun` and `listRuns` report it. */
  stored(): StoredRun {
    const job = this.job;
    return {
      id: this.id,
      key: job.key,
      name: job.name,
      tenantId: job.tenantId,
      kind: this.kind,
      state: this.runState(),
      scheduledAt: this.scheduledAt,
      dueAt: this.dueAt,
      attempt: this.attempt,
      outcome: this.outcome,
      instanceId: this.state === 'active' ? this.instanceId : null,
      params: this.params,
      cancelRequested: this.cancelRequested,
    };
  }

  /** `pending` with a first attempt, `retrying` with a later one, `running` while active, else `done`. */
  runState(): RunState {
    if (this.state === 'pending') return this.attempt > 1 ? 'retrying' : 'pending';
    return this.state === 'active' ? 'running' : 'done';
  }

  claimed(): ClaimedRun {
    return {
      runId: this.runId,
      id: this.id,
      key: this.job.key,
      kind: this.kind,
      scheduledAt: this.scheduledAt,
      attempt: this.attempt,
      params: this.params,
      exclusive: this.exclusive,
      fencingToken: this.fencingToken,
      claimedAt: this.claimedAt,
    };
  }
}
