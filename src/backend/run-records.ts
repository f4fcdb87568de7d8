/**
 * The records of run management (`getRun`, `listRuns`, `cancelRun`,
 * `rescheduleRun`, `onRunCancelled`) that the `Backend` contract exchanges
 * with `RunAdmin`: a run as stored, how a call addresses it, and what each
 * change did. Apart from backend-records.ts because they describe one run's
 * life from outside, not the scheduler's claim and finish path.
 */
import type { RunOutcome } from './backend-records.js';

/**
 * Where a run is in its life, as `getRun` and `listRuns` report it: `pending`
 * (waiting for its due time, or for an active run of its job), `retrying`
 * (pending for a later attempt), `running` (claimed by an instance), `done`
 * (finished, kept until the retention sweep; only `getRun` reports these).
 */
export type RunState = 'pending' | 'retrying' | 'running' | 'done';

/** A run as `getRun` and `listRuns` report it. */
export interface StoredRun {
  id: string;
  key: string;
  name: string;
  tenantId: string | undefined;
  kind: 'slot' | 'trigger';
  state: RunState;
  /** The slot (or trigger time) the run is for. */
  scheduledAt: number;
  /** When the run may start (pending), or was due when claimed. */
  dueAt: number;
  attempt: number;
  /** The outcome of a finished run, else null. */
  outcome: RunOutcome | null;
  /** The instance running it (`running`), else null. */
  instanceId: string | null;
  /** JSON text of the run's own params, or undefined for the job's. */
  params: string | undefined;
  /** A running run asked to stop (`cancelRun` with `abort`), or to not be retried (without). */
  cancelRequested: boolean;
}

/**
 * Which run `getRun`, `cancelRun` and `rescheduleRun` address: the job's `key`
 * and the run `id`; or, without `key`, the one-off run with that `id` among the
 * jobs of `tenantId` (`''` for jobs without tenant): a trigger id names one
 * run per tenant (see `enqueueRun`). Slot runs are found with `key` only.
 */
export interface RunLookup {
  id: string;
  key?: string;
  tenantId?: string;
}

/** `listRuns`' question: which jobs, which states, how many, from where. */
export interface RunQuery {
  /** Runs of this job only. */
  key?: string;
  /** Runs of this tenant's jobs only (`''` = jobs without tenant); ignored with `key`. */
  tenantId?: string;
  /** Only runs in this state (never `done`: finished runs are in `history`). */
  state?: Exclude<RunState, 'done'>;
  /** At most this many runs (1 to 1,000). */
  limit: number;
  /** Where the previous page ended (its `cursor`), or null/undefined for the first page. */
  cursor?: string | null;
}

/**
 * One page of `listRuns`: runs ordered by job key, then run id (uuid v7 ids
 * sort by creation). A page may hold fewer than `limit` runs while `cursor` is
 * not null (each call reads a bounded number of runs); `cursor: null` means
 * there are no more.
 */
export interface RunPage {
  runs: StoredRun[];
  cursor: string | null;
}

/** `cancelRun`'s request. */
export interface RunCancel {
  key: string;
  id: string;
  /** Who cancels (recorded in history). */
  instanceId: string;
  /** Also stop a running run: its instance aborts the handler's signal with `CancelledError`. */
  abort: boolean;
}

/**
 * What `cancelRun` did: `cancelled` (the run will not start, or was already
 * cancelled: idempotent), `cancelling` (it is running; it will not be retried,
 * and with `abort` its instance is told to abort it), `finished` (it ended
 * before: nothing changed), `not-found`.
 */
export interface RunCancelResult {
  status: 'cancelled' | 'cancelling' | 'finished' | 'not-found';
  run: StoredRun | null;
}

/** `rescheduleRun`'s request: the run and its new time. */
export interface RunReschedule {
  key: string;
  id: string;
  instanceId: string;
  /** The new `scheduledAt` and due time (epoch ms). */
  at: number;
}

/**
 * What `rescheduleRun` did: `rescheduled` (pending at the new time; asking
 * again for the same time changes nothing and records nothing), `running`,
 * `finished` (nothing changed), `not-found`.
 */
export interface RunRescheduleResult {
  status: 'rescheduled' | 'running' | 'finished' | 'not-found';
  run: StoredRun | null;
}

/** A running run that `cancelRun` asked to abort, as `onRunCancelled` reports it. */
export interface CancelledRunRef {
  key: string;
  id: string;
}
