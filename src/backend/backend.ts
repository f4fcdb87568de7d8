import type { ScheduleDescriptor } from '../schedule/schedule.js';
import type { OverlapPolicy } from '../job/job-definition.js';
import type { KeyFilter } from './key-filter.js';

/**
 * The storage contract every backend fulfils: job state, slot claims, the
 * run ledger and history, one-off runs, pause flags and the retention sweep.
 *
 * Every method is atomic with respect to every other caller (in Redis: one
 * Lua script each), except where work grows with stored runs: `removeJob`,
 * resuming with `setPaused`, `reapStalledRuns` and `releaseClaims` may take
 * several store calls, each atomic and bounded, so no call blocks the store
 * for long (a removal cut short leaves the job stored with fewer runs, and
 * the next `removeJob` finishes it). Time inside the backend is the backend's own clock (Redis
 * `TIME` for Redis), never the caller's: that is what makes claims safe
 * against instances with skewed clocks. Callers send instants only where
 * the instant is not "now" (a slot of the schedule, a trigger's `at`) and
 * send durations otherwise (`RunFinish`), or null for "now" (`definedAt`,
 * `dueAt`), which the backend turns into its own time. Methods reject with
 * `BackendUnavailableError` (`E_BACKEND_UNAVAILABLE`) when the store cannot be
 * reached, and never leave a half-applied change behind.
 *
 * The conformance suite in `test/conformance/` is the executable form of this
 * contract; every implementation must pass it unchanged.
 */
export interface Backend {
  /** Short name for logs (`memory`, `redis`). */
  readonly kind: string;

  /** The backend's current time (epoch ms). */
  time(): Promise<number>;

  /**
   * Says this instance is alive for `ttlMs` more, and returns the ids of every
   * instance alive now (this one included), sorted. Instances use the list to
   * spread slots among themselves.
   *
   * It is also how the backend tells an outage from a death. When no instance
   * was heard from for more than `ttlMs / 2` before this call, the store
   * itself was out of reach (frozen, restarted, failed over) or every
   * instance stalled at once; leases that ran out meanwhile ran out because
   * nobody could extend them. So `reapStalledRuns` then reaps nothing until
   * `ttlMs` after this call: holders that are alive get one lease to
   * heartbeat or record their outcome (say `lock-lost`) before anyone
   * declares their runs stalled.
   */
  heartbeatInstance(instanceId: string, ttlMs: number): Promise<string[]>;

  /** Says this instance is leaving (stopped): it no longer counts as alive. */
  removeInstance(instanceId: string): Promise<void>;

  /**
   * Records that this instance has these jobs registered. Creates the state
   * of new jobs, clears a removal tombstone older than the registration,
   * updates `lastSeenAt`, and settles definition changes: the definition with
   * the newest `definedAt` wins and is returned in `stored`. A definition sent
   * with `definedAt: null` is stamped with the backend's time now, and the
   * stamp is returned in `definedAt` for the caller to send from then on.
   */
  upsertJobs(jobs: readonly JobUpsert[]): Promise<JobUpsertResult[]>;

  /**
   * Refreshes `lastSeenAt` of jobs that exist (the orphan sweep spares them).
   * Unlike `upsertJobs` it never creates a job or clears a removal.
   */
  touchJobs(keys: readonly string[]): Promise<void>;

  /** The stored state of one job, or null. */
  getJob(key: string): Promise<StoredJob | null>;

  /** Every stored job, optionally of one tenant (`''` = jobs without tenant). Order: by key. */
  listJobs(filter?: { tenantId?: string }): Promise<StoredJob[]>;

  /**
   * Sets or clears the pause flag. Returns false when the job is unknown.
   * A paused job's pending runs are held back out of the due index (see
   * `claimDueRuns`); resuming gives them back in their due order (on Redis
   * 1,000 per store call: a resume cut short by an outage leaves the rest
   * held back until the next `setPaused(key, false)`).
   */
  setPaused(key: string, paused: boolean): Promise<boolean>;

  /**
   * Deletes the job's state, history and pending runs, and leaves a tombstone
   * so claims from instances that still have the job registered return
   * `removed`. Active runs finish but are not recorded. Returns false when
   * the job was unknown. A job with many runs is deleted over several store
   * calls (on Redis, 1,000 runs each), none of them unbounded.
   */
  removeJob(key: string): Promise<boolean>;

  /**
   * Claims one slot of a recurring job: the atomic heart of "exactly once per
   * slot". See `SlotClaim` and `SlotClaimResult` for every outcome. A claimed
   * slot becomes the job's `lastSlot`, increments `slotCount` and `fence`;
   * when `nextRunAt` is null or `slotCount` reaches `limit` the job is
   * marked `completed`.
   */
  claimSlot(claim: SlotClaim): Promise<SlotClaimResult>;

  /**
   * `claimSlot` for many slots at once, in order (claims of one job see each
   * other's effects), with one result per claim: the scheduler claims every
   * slot due in one wake in one call (on Redis, one round trip).
   */
  claimSlots(claims: readonly SlotClaim[]): Promise<SlotClaimResult[]>;

  /**
   * Enqueues a one-off run. Run ids are unique per job. With an `id` that
   * already exists for the job (pending, active or finished and not yet swept) nothing changes and the existing run is
   * returned with `created: false`. Rejects with `E_JOB_NOT_FOUND` when the
   * job has no stored state (never registered, or removed).
   */
  enqueueRun(run: RunEnqueue): Promise<{ run: RunSummary; created: boolean }>;

  /**
   * Claims up to `runIds.length` pending runs whose `dueAt` has passed, oldest due
   * first, for jobs in `keys` (all jobs when `keys` is undefined). Skips runs
   * of paused jobs, and exclusive runs of jobs that already have an active
   * exclusive run (they wait for it to finish). Also answers `nextDueAt()`
   * after the claim, so a poll costs one round trip.
   *
   * Its cost does not grow with runs no poll can claim: a paused job's runs
   * and exclusive runs behind an active one are held back out of the due
   * index (a run that became unclaimable while in it is moved out the first
   * time a claim meets it) and come back, in due order, when they may run:
   * all of a job's on resume, one exclusive run per end of an exclusive run.
   * Runs of jobs outside `keys` belong to other instances and stay; a
   * backend may pass over a bounded number of them per call and go on
   * further on the caller's next call (Redis: 500), so with thousands of
   * other instances' runs due at once the oldest-first order holds across
   * calls rather than within one.
   */
  claimDueRuns(request: DueRunsClaim): Promise<DueRunsClaimed>;

  /**
   * When the earliest pending run in the due index is due (epoch ms, backend
   * time), or null. Runs held back (see `claimDueRuns`) are not counted once
   * a claim has met them or they became pending while held back.
   */
  nextDueAt(): Promise<number | null>;

  /**
   * Gives back runs that `instanceId` claimed under one of these attempt ids
   * (`runIds` of `claimDueRuns`, `runId` of `claimSlots`) but never heard of:
   * its claiming call failed on its side yet ran in the store (on Redis, a
   * command that timed out while the server was frozen runs when it thaws).
   * Each goes back to pending, due now, at the same attempt, with no history
   * entry: it never started. Runs no longer active under that instance are
   * left alone. Returns how many were given back. The active runs are read
   * over several store calls when there are many (on Redis, 2,000 each).
   */
  releaseClaims(instanceId: string, runIds: readonly string[]): Promise<number>;

  /**
   * Extends the lease of active runs to now + `leaseMs`. Returns, per run,
   * whether it is still active with that fencing token (false: it was reaped
   * as stalled, or the job was removed).
   */
  heartbeat(runs: readonly ActiveRunRef[], leaseMs: number): Promise<boolean[]>;

  /**
   * Ends an active run: appends the history entry, updates the job's
   * counters and either finishes the run, or puts it back to pending
   * (`retryInMs` for another attempt, `requeueInMs` for the same attempt).
   * Returns `recorded: false` (and changes nothing) when the run is no longer
   * active with that fencing token.
   */
  finishRun(finish: RunFinish): Promise<{ recorded: boolean }>;

  /**
   * `finishRun` for many runs at once, in order, answering `recorded` per
   * run: the scheduler records every run that ended in one turn of the event
   * loop in one call (on Redis, one round trip).
   */
  finishRuns(finishes: readonly RunFinish[]): Promise<boolean[]>;

  /**
   * Finds active runs whose lease expired, records them as `stalled` and
   * puts each back to pending (attempt + 1, due now) when it asked for that
   * at claim time and has attempts left; otherwise finishes it.
   *
   * Reaps nothing during the grace that follows an outage (see
   * `heartbeatInstance`), nor while no instance has been heard from for more
   * than half the last heartbeat's `ttlMs` (the grace starts with the next
   * heartbeat). Before any heartbeat, leases alone decide. Many expired
   * leases are reaped over several store calls (on Redis, 1,000 each).
   */
  reapStalledRuns(): Promise<StalledRun[]>;

  /** The newest history entries of a job, newest first. */
  history(key: string, limit: number): Promise<HistoryEntry[]>;

  /**
   * Deletes finished one-off runs older than `retentionMs`, and jobs (with
   * their history and runs) not seen registered for `orphanTimeoutMs`.
   */
  sweep(options: { retentionMs: number; orphanTimeoutMs: number }): Promise<SweepResult>;

  /**
   * Calls `listener` when pending runs may have become due (enqueued,
   * requeued, or an exclusive run finished). Best effort: callers also poll.
   * Returns an unsubscribe function.
   */
  onRunsChanged(listener: () => void): () => void;
}

/** The outcome recorded for an attempt (or a skipped slot). */
export type RunOutcome = 'success' | 'failed' | 'timeout' | 'stalled' | 'lock-lost' | 'skipped' | 'interrupted';

/** `scheduled` | `running` | `paused` | `completed` | `failed` */
export type JobStatus = 'scheduled' | 'running' | 'paused' | 'completed' | 'failed';

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
}

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
}

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
  | { status: 'early'; retryInMs: number };

export interface RunEnqueue {
  key: string;
  id: string;
  kind: 'trigger';
  /** When the run may start (epoch ms), or null for the backend's time now. */
  dueAt: number | null;
  /** JSON text of the params, or undefined to use the job's params. */
  params: string | undefined;
  /** Stalled or interrupted attempts are put back while attempts remain. */
  maxAttempts: number;
}

export interface DueRunsClaim {
  instanceId: string;
  leaseMs: number;
  /** Fresh attempt ids (uuid v7), one per run that may be claimed; their count is the limit. */
  runIds: readonly string[];
  /** Only runs of these jobs (the ones registered on the caller); all when left out. */
  keys?: KeyFilter;
}

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

export interface HistoryEntry {
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

export interface SweepResult {
  runsDeleted: number;
  jobsDeleted: number;
}
