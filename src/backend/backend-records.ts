/**
 * The records the Backend contract (backend.ts) takes and returns: jobs as
 * stored, slot claims, runs, finishes, history. Apart from the contract
 * itself so the contract reads as one list of operations; re-exported from
 * backend.ts, the one place importers name.
 */
import type { ScheduleDescriptor } from '../schedule/schedule.js';
import type { OverlapPolicy } from '../job/job-definition.js';
import type { KeyFilter } from './key-filter.js';

/**
 * The outcome recorded for an attempt, a skipped slot, or a change made to a
 * pending run: `cancelled` (by `cancelRun`, or an attempt aborted by it) and
 * `rescheduled` (by `rescheduleRun`; the entry's `scheduledAt` is the new time).
 */
export type RunOutcome = 'success' | 'failed' | 'timeout' | 'stalled' | 'lock-lost' | 'skipped' | 'interrupted' | 'cancelled' | 'rescheduled';

/**
 * A limit on how many runs start per window, shared by every job (and
 * instance) that names the same `key`: at most `max` runs start in any
 * `perMs` window. A run over the limit waits; it is never dropped.
 */
export interface RateLimit {
  key: string;
  max: number;
  perMs: number;
}

/** `scheduled` | `running` | `paused` | `completed` | `failed` */
export type JobStatus = 'scheduled' | 'running' | 'paused' | 'completed' | 'failed';

/** A job definition as `upsertJobs` stores it: key, identity, schedule descriptor and the hash that tells definitions apart. */
export interface JobUpsert {
  key: string;
  name: string;
  tenantId: string | undefined;
  schedule: ScheduleDescriptor | null;
  /** Hash of everything that decides slot times (schedule + limit). */
  definitionHash: string;
  /**
   * When this definition first reached the store (backend time, ms): newest
   * wins on conflict. `null` for a definition never stored yet: the backend
   * stamps it with its own time, so an instance whose clock is off cannot
   * make an older definition look newer.
   */
  definedAt: number | null;
  /** Next slot by this definition, shown in `getJob` until a claim updates it. */
  nextRunAt: number | null;
  limit: number | null;
  /**
   * The rate limit runs of this job start under, or null. Stored with the job
   * (the latest upsert's value) so claims check it in the same atomic step
   * that claims the run.
   */
  rateLimit: RateLimit | null;
  /**
   * When set, the call that creates the job also enqueues one one-off run
   * with id `on-start`, due now, with this many attempts (see
   * `RunEnqueue.maxAttempts`): once for the fleet, because only one upsert
   * creates the job. Each such job has its own `on-start` run; the tenant's
   * one-off ids (see `RunLookup`) name the first job's that holds the id, the
   * others are found with their job key.
   */
  runOnStart: { maxAttempts: number } | null;
}

/** What `upsertJobs` did with one definition, and the job as stored afterwards. */
export interface JobUpsertResult {
  key: string;
  /** The state after the upsert; its definition is the cluster's winner. */
  stored: StoredJob;
  /** True when this call created the job. */
  created: boolean;
  /** True when this call replaced a different stored definition (log it once). */
  definitionChanged: boolean;
  /**
   * The stamp of the definition sent: the one given, or the backend's time
   * of this call when it was sent with `definedAt: null` (the stored one's
   * when it has the same definition hash).
   */
  definedAt: number;
}

/** A job as the backend stores it: definition, state and counters. */
export interface StoredJob {
  key: string;
  name: string;
  tenantId: string | undefined;
  schedule: ScheduleDescriptor | null;
  definitionHash: string;
  definedAt: number;
  limit: number | null;
  paused: boolean;
  /** A once schedule ran, the limit was reached, or the schedule ended. */
  completed: boolean;
  /** The newest slot ever claimed (the deduplication mark), or null. */
  lastSlot: number | null;
  /** Slots claimed so far (compared with `limit`). */
  slotCount: number;
  /** The last fencing token handed out for this job. */
  fence: number;
  nextRunAt: number | null;
  lastRunAt: number | null;
  lastDurationMs: number | null;
  lastError: string | null;
  lastOutcome: RunOutcome | null;
  /** Attempts that finished (any outcome but skipped/interrupted). */
  runCount: number;
  /** Attempts that failed, timed out, stalled or lost their lock. */
  failCount: number;
  skippedCount: number;
  /** Runs active right now, cluster-wide. */
  activeRuns: number;
  /** The rate limit stored with the job, or null. */
  rateLimit: RateLimit | null;
  /** When an instance first registered the job. */
  createdAt: number;
  /** When an instance last said it has the job registered. */
  lastSeenAt: number;
}

/** Identity of an active run: its id plus the fencing token of its current claim. */
export interface ActiveRunRef {
  key: string;
  id: string;
  fencingToken: number;
}

/** A claim of one slot of a scheduled job: the slot, the run id and lease, the overlap policy and the next slot to record. */
export interface SlotClaim {
  key: string;
  /** The slot (epoch ms) being claimed. */
  slot: number;
  /** Id of the attempt if the claim succeeds (uuid v7); also the run's id. */
  runId: string;
  instanceId: string;
  /** Lease of the active run; refreshed by `heartbeat`. */
  leaseMs: number;
  /** The claimer's definition; a newer stored one answers `superseded`. */
  definitionHash: string;
  /**
   * The job's overlap policy, or `queue` for a misfire catch-up: when a run
   * is active the slot waits as a pending exclusive run (like `buffer-one`,
   * without the limit of one), so `run-all` runs every missed slot in turn.
   */
  overlap: OverlapPolicy | 'queue';
  /** The slot after this one, stored as the job's `nextRunAt`. */
  nextRunAt: number | null;
  /** What to do if the claimer dies: put the run back (`requeueOnStall`) up to `maxAttempts`. */
  requeueOnStall: boolean;
  maxAttempts: number;
  /**
   * Consume the slot without running it (it does not count toward `limit`)
   * and record it as `skipped` with this reason; the result is `skipped`.
   * `excluded`: the slot matches one of the job's exclusions.
   * `rate-limited`: the job's rate limit has had no room for the slot until
   * its next slot was due (the claimer decides; the store records it once).
   */
  skip?: 'excluded' | 'rate-limited';
  /**
   * Slots before this one in the job's schedule that other instances were
   * to claim, newest first (at most 8; absent or empty when the claimer does
   * not know them, or would have claimed them itself). A claim of a later
   * slot makes them `taken` for good, so each one never claimed (the
   * instances that were to claim it died, or its claim is late behind an
   * overloaded instance) is recorded in history by this claim, once:
   * `skipped` with reason `missed` (id `missed-<slot ms>`), and is consumed.
   * Nothing is recorded for a slot before the job was created.
   */
  previousSlots?: readonly number[];
}

/** What a slot claim came to: claimed (the run to execute), skipped, already taken, or too early. */
export type SlotClaimResult =
  /** This caller runs the slot now. */
  | { status: 'claimed'; run: ClaimedRun }
  /** `buffer-one`: the slot waits as a pending exclusive run until the active run ends. */
  | { status: 'buffered'; run: RunSummary }
  /** Slot already claimed (by anyone), or older than the newest claimed slot. */
  | { status: 'taken' }
  /** `skip` (or a full `buffer-one`): a run is active; the skip was recorded in history. */
  | { status: 'skipped' }
  /** The job is paused; the slot is consumed without running. */
  | { status: 'paused' }
  /** The job reached its limit or ended. */
  | { status: 'completed' }
  /** The job was removed everywhere (or never stored). */
  | { status: 'removed' }
  /** A newer definition is stored; the caller should adopt it. */
  | { status: 'superseded'; stored: StoredJob }
  /** The slot is in the future by backend time; try again in `retryInMs`. */
  | { status: 'early'; retryInMs: number }
  /** The job's rate limit is used up: nothing changed; claim again in `retryInMs`. */
  | { status: 'limited'; retryInMs: number };

/** A one-off run for `enqueueRun`: its job, id, due time (null: the backend's now) and params. */
export interface RunEnqueue {
  key: string;
  id: string;
  kind: 'trigger';
  /** When the run may start (epoch ms), or null for the backend's time now. */
  dueAt: number | null;
  /** The slot the run is for (`ctx.scheduledAt`, e.g. a backfilled slot); `dueAt` when left out. */
  scheduledAt?: number;
  /** JSON text of the params, or undefined to use the job's params. */
  params: string | undefined;
  /** Stalled or interrupted attempts are put back while attempts remain. */
  maxAttempts: number;
}

/** `claimDueRuns`' request: who claims, for how long, the run ids to stamp, and which job keys this instance can run. */
export interface DueRunsClaim {
  instanceId: string;
  leaseMs: number;
  /** Fresh attempt ids (uuid v7), one per run that may be claimed; their count is the limit. */
  runIds: readonly string[];
  /** Only runs of these jobs (the ones registered on the caller); all when left out. */
  keys?: KeyFilter;
}

/** `claimDueRuns`' answer: the runs claimed, in due order. */
export interface DueRunsClaimed {
  runs: ClaimedRun[];
  /** `nextDueAt()` right after the claim. */
  nextDueAt: number | null;
}

/** A run as it is stored, pending or finished. */
export interface RunSummary {
  id: string;
  key: string;
  kind: 'slot' | 'trigger';
  state: 'pending' | 'active' | 'done';
  scheduledAt: number;
  dueAt: number;
  attempt: number;
  outcome: RunOutcome | null;
}

/** A run this instance now holds: start it, heartbeat it, finish it. */
export interface ClaimedRun {
  /** Id of this attempt (uuid v7). */
  runId: string;
  /** Stable id of the run across attempts (a trigger's id, or the slot's first runId). */
  id: string;
  key: string;
  kind: 'slot' | 'trigger';
  scheduledAt: number;
  attempt: number;
  /** JSON text of the params for this run, or undefined for the job's params. */
  params: string | undefined;
  /** True when the run takes the job's exclusive lock (overlap other than `allow`). */
  exclusive: boolean;
  fencingToken: number;
  /** Backend time of the claim. */
  claimedAt: number;
}

/**
 * The end of an attempt. Times are durations measured by the caller, which
 * the backend turns into instants on its own clock: the history's
 * `finishedAt` is backend time of the call minus `endedMsAgo`, `startedAt`
 * that minus `durationMs`; retries and requeues are due at backend time of
 * the call plus their delay.
 */
export interface RunFinish extends ActiveRunRef {
  instanceId: string;
  outcome: Exclude<RunOutcome, 'skipped' | 'stalled'>;
  error: string | null;
  /** How long the attempt ran (ms, >= 0). */
  durationMs: number;
  /** How long before this call the attempt ended (ms, >= 0; 0 when left out): an outcome kept through an outage is recorded late. */
  endedMsAgo?: number;
  /** Put the run back for another attempt (attempt + 1), due this long after the call: a retry. */
  retryInMs?: number;
  /** Put the run back, same attempt, due this long after the call: it could not run (shutdown interrupted it, its lock was held). */
  requeueInMs?: number;
}

/** A run whose lease ran out: found by `reapStalled` and then retried, requeued or recorded as stalled. */
export interface StalledRun {
  key: string;
  id: string;
  kind: 'slot' | 'trigger';
  scheduledAt: number;
  attempt: number;
  instanceId: string;
  /** True when the run was put back to pending for another attempt. */
  requeued: boolean;
}

/** One run in a job's history as the backend stores it (times in backend milliseconds). */
export interface HistoryEntry {
  /**
   * Why a slot was skipped (`overlap`, `paused`, `excluded`, `rate-limited`), or what changed a
   * run that did not run (`cancelled`: `cancel`, or `abort` for a running one;
   * `rescheduled`: the previous `scheduledAt`, epoch ms as text); else null.
   */
  reason: string | null;
  runId: string;
  /** The run's stable id across attempts. */
  id: string;
  kind: 'slot' | 'trigger';
  scheduledAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  outcome: RunOutcome;
  error: string | null;
  instanceId: string;
  attempt: number;
}

/** What one `sweep` deleted. */
export interface SweepResult {
  runsDeleted: number;
  jobsDeleted: number;
}

export type {
  CancelledRunRef,
  RunCancel,
  RunCancelResult,
  RunLookup,
  RunPage,
  RunQuery,
  RunReschedule,
  RunRescheduleResult,
  RunState,
  StoredRun,
} from './run-records.js';

/** What `heartbeat` answers per run: true (still held), false (reaped or removed), `cancel` (held, and `cancelRun` asked to abort it). */
export type HeartbeatReply = boolean | 'cancel';
