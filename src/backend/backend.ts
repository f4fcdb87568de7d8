import type {
  ActiveRunRef,
  CancelledRunRef,
  DueRunsClaim,
  DueRunsClaimed,
  HeartbeatReply,
  HistoryEntry,
  JobUpsert,
  JobUpsertResult,
  RunEnqueue,
  RunCancel,
  RunCancelResult,
  RunFinish,
  RunLookup,
  RunPage,
  RunQuery,
  RunReschedule,
  RunRescheduleResult,
  RunSummary,
  SlotClaim,
  SlotClaimResult,
  StalledRun,
  StoredJob,
  StoredRun,
  SweepResult,
} from './backend-records.js';

export type * from './backend-records.js';

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
 * The conformance suites (`describeBackendConformance` and
 * `describeHeldRunsConformance` from `schedkit/backend`, in src/conformance/)
 * are the executable form of this contract; every implementation must pass
 * them unchanged.
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
   * updates `lastSeenAt`, and decides between definitions: the definition with
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

  /**
   * The stored state of one job, or null. For a job without schedule,
   * `nextRunAt` is the due time of its earliest pending run (null when none).
   */
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
   * A job with a `rateLimit` whose window is full answers `limited` and
   * changes nothing; a claim with `skip: 'excluded'` consumes the slot
   * without running it.
   */
  claimSlot(claim: SlotClaim): Promise<SlotClaimResult>;

  /**
   * `claimSlot` for many slots at once, in order (claims of one job see each
   * other's effects), with one result per claim: the scheduler claims every
   * slot due in one wake in one call (on Redis, one round trip).
   */
  claimSlots(claims: readonly SlotClaim[]): Promise<SlotClaimResult[]>;

  /**
   * Enqueues a one-off run. With an `id` that already exists for the job
   * (pending, active or finished and not yet swept) nothing changes and the
   * existing run is returned with `created: false`. A one-off run's id names
   * one run among the jobs of its tenant (so `getRun` finds it by id alone):
   * an id a stored run of another job of the tenant has rejects with
   * `E_INVALID_ARGUMENT` (`details.field: 'id'`). Rejects with
   * `E_JOB_NOT_FOUND` when the job has no stored state (never registered,
   * or removed).
   */
  enqueueRun(run: RunEnqueue): Promise<{ run: RunSummary; created: boolean }>;

  /** One run, pending, running or finished and not yet swept (see `RunLookup`), or null. */
  getRun(lookup: RunLookup): Promise<StoredRun | null>;

  /** Pending, retrying and running runs, one page at a time (see `RunQuery`, `RunPage`). */
  listRuns(query: RunQuery): Promise<RunPage>;

  /**
   * Cancels a run (see `RunCancelResult`). A pending or retrying run is
   * finished as `cancelled` and never starts; a running one is marked so it
   * is not retried, and with `abort` its instance is told (`onRunCancelled`,
   * and `heartbeat` answers `cancel`). A cancelled run stays stored as
   * finished (slot runs too) until the retention sweep, so a second cancel
   * answers `cancelled` again. Each change appends a history entry
   * (outcome `cancelled`); a repeat appends nothing.
   */
  cancelRun(cancel: RunCancel): Promise<RunCancelResult>;

  /**
   * Moves a pending or retrying run to a new time (its `scheduledAt` and due
   * time), appending a history entry (outcome `rescheduled`, reason: the
   * previous `scheduledAt`). A run already at that time is left as it is.
   */
  rescheduleRun(reschedule: RunReschedule): Promise<RunRescheduleResult>;

  /**
   * Calls `listener` when `cancelRun` asks for a running run to be aborted,
   * on every instance (best effort: `heartbeat` answers `cancel` too).
   * Returns an unsubscribe function.
   */
  onRunCancelled(listener: (run: CancelledRunRef) => void): () => void;

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
   *
   * A job with a `rateLimit` starts a run only when its window has room
   * (the claim takes the room in the same atomic step); a run met while the
   * limit is used up stays pending, due when the window frees room, and the
   * claim goes on with other runs.
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
   * as stalled, or the job was removed), or `cancel` when it is and
   * `cancelRun` asked for it to be aborted.
   */
  heartbeat(runs: readonly ActiveRunRef[], leaseMs: number): Promise<HeartbeatReply[]>;

  /**
   * Ends an active run: appends the history entry, updates the job's
   * counters and either finishes the run, or puts it back to pending
   * (`retryInMs` for another attempt, `requeueInMs` for the same attempt;
   * neither when `cancelRun` was called on it: it finishes).
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
