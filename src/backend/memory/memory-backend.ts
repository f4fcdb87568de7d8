/**
 * The memory backend makes the same decisions as the Redis backend's Lua
 * scripts (src/backend/redis/lua/), under the same names, so a rule changed
 * on one side is found on the other:
 *
 * | Lua (redis/lua/) | TypeScript (memory/) |
 * |---|---|
 * | claim-slots.lua (`claim`) | `claimSlot` (claim-slots.ts), per claim of `MemoryBackend.claimSlots` |
 * | claim-due-runs.lua | `claimDueRuns` (claim-due-runs.ts) |
 * | finish-runs.lua (`finish`) | `finishRun` (finish-runs.ts), after `MemoryBackend.findActive` |
 * | reap-stalled.lua | `reapStalled` (reap-stalled.ts), behind `OutageGrace` |
 * | release-claims.lua | `releaseClaims` (release-claims.ts) |
 * | cancel-run.lua, reschedule-run.lua | `cancelRun`, `rescheduleRun` (run-changes.ts), after `findRun` (run-changes.ts) |
 * | list-runs.lua | `listRuns` (run-listing.ts) |
 * | get-run.lua | `MemoryBackend.getRun` (`findRun`, then `RunRecord.stored`) |
 * | sweep.lua | `sweep` (sweep.ts) |
 * | enqueue-run.lua, upsert-jobs.lua, touch-jobs.lua, get-job.lua, list-jobs.lua, remove-job.lua, heartbeat.lua, heartbeat-instance.lua, next-due.lua, time.lua | the `MemoryBackend` method of the same name |
 * | common.lua `take_rate` (`{p}:rate:<key>` sorted sets) | `RateWindows.waitMs` then `.take` (rate-windows.ts) |
 * | common.lua `trigger_id_owner`, `forget_trigger_id` (`{p}:trigger-ids:<tenant>` hashes) | `TriggerIds.holder`, `.delete` (trigger-ids.ts) |
 * | upsert-jobs.lua `enqueue_on_start`, enqueue-run.lua | `MemoryBackend.enqueueTrigger` |
 * | set-paused.lua | `MemoryBackend.setPaused`; a resume calls `PendingRuns.unpark` |
 * | common.lua `to_pending`, `promote` | `PendingRuns.toPending`, `PendingRuns.promote` (`place` = `wait_set` plus the move) |
 * | common.lua `activate`, `deactivate`, `retire`, `push_history` | `RunLedger.activate`, `.deactivate`, `.retire`, `.pushHistory` |
 * | common.lua `delete_job` | `MemoryBackend.deleteJob` |
 * | sync-filter.lua | none: the memory backend reads the caller's `KeyFilter` directly |
 */
import type { Clock } from '../../clock/clock.js';
import { SystemClock } from '../../clock/clock.js';
import { ErrorCode, SchedkitError } from '../../errors/schedkit-error.js';
import { messages } from '../../errors/messages.js';
import { OutageGrace } from '../outage-grace.js';
import { RunsChangedNotifier } from '../runs-changed-notifier.js';
import { CancelledRunsNotifier } from '../cancelled-runs-notifier.js';
import { claimDueRuns } from './claim-due-runs.js';
import { claimSlot } from './claim-slots.js';
import { finishRun } from './finish-runs.js';
import { DefinitionRegistry } from './job-definition.js';
import { copyRateLimit, JobState } from './job-state.js';
import { RateWindows } from './rate-windows.js';
import { reapStalled } from './reap-stalled.js';
import { sweep } from './sweep.js';
import { releaseClaims } from './release-claims.js';
import { cancelRun, findRun, rescheduleRun } from './run-changes.js';
import { listRuns } from './run-listing.js';
import { RunLedger } from './run-ledger.js';
import { RunRecord } from './run-record.js';
import { TriggerIds } from './trigger-ids.js';
import type {
  ActiveRunRef,
  Backend,
  CancelledRunRef,
  DueRunsClaim,
  DueRunsClaimed,
  HeartbeatReply,
  HistoryEntry,
  JobUpsert,
  JobUpsertResult,
  RunCancel,
  RunCancelResult,
  RunEnqueue,
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
} from '../backend.js';

/** Options of `MemoryBackend`. */
export interface MemoryBackendOptions {
  /** Where backend time comes from. @default new SystemClock() */
  clock?: Clock;
  /** History entries kept per job (oldest dropped first). @default 100 */
  historyLimit?: number;
}

/**
 * The in-process `Backend`: every job, run and history entry lives in this
 * object, so it is exactly-once for one process only (`kind: 'memory'`).
 *
 * Built to hold a million idle jobs: a job costs one small object until it
 * runs (history and run maps are created on first use), pending runs sit in a
 * min-heap by due time so `nextDueAt()` and due-run claims never scan every
 * record, and active runs are tracked in one set so reaping is O(active runs).
 *
 * Every method returns fresh copies; callers can never reach internal state.
 *
 * @example
 * const backend = new MemoryBackend({ clock: new FakeClock() });
 * await backend.upsertJobs([{ key: '/report', name: 'report', ... }]);
 */
export class MemoryBackend implements Backend {
  readonly kind = 'memory';

  private readonly clock: Clock;
  private readonly jobs = new Map<string, JobState>();
  /** Removed keys and when; a registration (upsert) clears them. */
  private readonly tombstones = new Map<string, number>();
  /** Shared definitions by hash (see `Definition`), dropped when no job uses them. */
  private readonly definitions = new DefinitionRegistry();
  /** Every run by state (pending, active, finished) and the moves between states. */
  private readonly runs: RunLedger;
  private readonly runsChanged = new RunsChangedNotifier();
  private readonly cancelled = new CancelledRunsNotifier();
  /** Which job holds each one-off run id, per tenant. */
  private readonly triggerIds = new TriggerIds();
  /** Start times per rate-limit key. */
  private readonly rates = new RateWindows();
  /** Live instances and until when (backend time). */
  private readonly instances = new Map<string, number>();
  /** Keeps the reaper off runs whose leases ran out while nobody could heartbeat. */
  private readonly grace = new OutageGrace();

  constructor(options: MemoryBackendOptions = {}) {
    this.clock = options.clock ?? new SystemClock();
    const limit = options.historyLimit ?? 100;
    if (!Number.isInteger(limit) || limit < 1) {
      throw new SchedkitError(
        ErrorCode.InvalidArgument,
        messages.invalidArgument('MemoryBackend', 'historyLimit', `must be a positive integer, got ${String(limit)}`),
      );
    }
    this.runs = new RunLedger(limit);
  }

  async time(): Promise<number> {
    return this.clock.now();
  }

  async heartbeatInstance(instanceId: string, ttlMs: number): Promise<string[]> {
    const now = this.clock.now();
    this.grace.heard(now, ttlMs);
    this.instances.set(instanceId, now + ttlMs);
    const alive: string[] = [];
    for (const [id, until] of this.instances) {
      if (until > now) alive.push(id);
      else this.instances.delete(id);
    }
    return alive.sort();
  }

  async removeInstance(instanceId: string): Promise<void> {
    this.instances.delete(instanceId);
  }

  async upsertJobs(jobs: readonly JobUpsert[]): Promise<JobUpsertResult[]> {
    const now = this.clock.now();
    return jobs.map((incoming) => {
      const existing = this.jobs.get(incoming.key);
      // A definition never stored yet is stamped with our time, not the caller's.
      const definedAt = incoming.definedAt ?? now;
      if (existing === undefined) {
        // An explicit registration revives a removed job.
        this.tombstones.delete(incoming.key);
        const job = new JobState(incoming, this.definitions.acquire(incoming), definedAt, now);
        this.jobs.set(incoming.key, job);
        // The on-start run: a one-off run due now, created with the job.
        if (incoming.runOnStart != null) this.enqueueTrigger(job, 'on-start', now, now, undefined, incoming.runOnStart.maxAttempts);
        return { key: incoming.key, stored: job.snapshot(), created: true, definitionChanged: false, definedAt };
      }
      existing.lastSeenAt = now;
      existing.rateLimit = copyRateLimit(incoming.rateLimit);
      let definitionChanged = false;
      if (existing.def.hash === incoming.definitionHash) {
        if (existing.nextRunAt === null) existing.nextRunAt = incoming.nextRunAt;
        return { key: incoming.key, stored: existing.snapshot(), created: false, definitionChanged, definedAt: existing.definedAt };
      }
      if (definedAt >= existing.definedAt) {
        // Newest definition wins; the dedup mark, fence and counters carry
        // over so no slot already claimed can be claimed again.
        const previous = existing.def;
        existing.def = this.definitions.acquire(incoming);
        this.definitions.release(previous);
        existing.definedAt = definedAt;
        existing.nextRunAt = incoming.nextRunAt;
        existing.completed = false;
        definitionChanged = true;
      }
      return { key: incoming.key, stored: existing.snapshot(), created: false, definitionChanged, definedAt };
    });
  }

  async touchJobs(keys: readonly string[]): Promise<void> {
    const now = this.clock.now();
    for (const key of keys) {
      const job = this.jobs.get(key);
      if (job !== undefined) job.lastSeenAt = now;
    }
  }

  async getJob(key: string): Promise<StoredJob | null> {
    return this.jobs.get(key)?.snapshot() ?? null;
  }

  async listJobs(filter: { tenantId?: string } = {}): Promise<StoredJob[]> {
    const tenant = filter.tenantId;
    const out: StoredJob[] = [];
    for (const job of this.jobs.values()) {
      if (tenant !== undefined && (job.tenantId ?? '') !== tenant) continue;
      out.push(job.snapshot());
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async setPaused(key: string, paused: boolean): Promise<boolean> {
    const job = this.jobs.get(key);
    if (job === undefined) return false;
    const wasPaused = job.paused;
    job.paused = paused;
    if (!paused && wasPaused) this.runs.pending.unpark(job);
    // Runs held back by the pause may be due now.
    if (!paused) this.runsChanged.notify();
    return true;
  }

  async removeJob(key: string): Promise<boolean> {
    const job = this.jobs.get(key);
    if (job === undefined) return false;
    this.tombstones.set(key, this.clock.now());
    this.deleteJob(job);
    return true;
  }

  async claimSlot(claim: SlotClaim): Promise<SlotClaimResult> {
    return this.claim(claim, this.clock.now());
  }

  async claimSlots(claims: readonly SlotClaim[]): Promise<SlotClaimResult[]> {
    const now = this.clock.now();
    return claims.map((claim) => this.claim(claim, now));
  }

  private claim(claim: SlotClaim, now: number): SlotClaimResult {
    return claimSlot(this.runs, this.rates, this.jobs.get(claim.key), claim, now);
  }

  async enqueueRun(run: RunEnqueue): Promise<{ run: RunSummary; created: boolean }> {
    const job = this.jobs.get(run.key);
    if (job === undefined) {
      throw new SchedkitError(ErrorCode.JobNotFound, messages.backendJobNotFound(run.key), {
        details: { key: run.key },
      });
    }
    const existing = job.activity?.records.get(run.id);
    if (existing !== undefined) return { run: existing.summary(), created: false };
    const holder = this.triggerIds.holder(job.tenantId ?? '', run.id);
    if (holder !== undefined && holder !== job) {
      throw new SchedkitError(
        ErrorCode.InvalidArgument,
        messages.invalidArgument('enqueueRun', 'id', `run "${run.id}" belongs to job "${holder.key}": a one-off run id names one run among the jobs of a tenant`),
        { details: { field: 'id', key: run.key, holder: holder.key } },
      );
    }
    const dueAt = run.dueAt ?? this.clock.now();
    const record = this.enqueueTrigger(job, run.id, run.scheduledAt ?? dueAt, dueAt, run.params, run.maxAttempts);
    return { run: record.summary(), created: true };
  }

  async getRun(lookup: RunLookup): Promise<StoredRun | null> {
    return findRun(this.jobs, this.triggerIds, lookup)?.stored() ?? null;
  }

  async listRuns(query: RunQuery): Promise<RunPage> {
    return listRuns(this.jobs, query);
  }

  async cancelRun(cancel: RunCancel): Promise<RunCancelResult> {
    return cancelRun(this.runs, this.cancelled, findRun(this.jobs, this.triggerIds, cancel), cancel, this.clock.now());
  }

  async rescheduleRun(reschedule: RunReschedule): Promise<RunRescheduleResult> {
    const result = rescheduleRun(this.runs, findRun(this.jobs, this.triggerIds, reschedule), reschedule, this.clock.now());
    if (result.status === 'rescheduled') this.runsChanged.notify();
    return result;
  }

  onRunCancelled(listener: (run: CancelledRunRef) => void): () => void {
    return this.cancelled.subscribe(listener);
  }

  async claimDueRuns(request: DueRunsClaim): Promise<DueRunsClaimed> {
    return claimDueRuns(this.runs, this.rates, request, this.clock.now());
  }

  async nextDueAt(): Promise<number | null> {
    return this.runs.pending.earliestDue();
  }

  async heartbeat(runs: readonly ActiveRunRef[], leaseMs: number): Promise<HeartbeatReply[]> {
    const now = this.clock.now();
    return runs.map((ref) => {
      const record = this.findActive(ref);
      if (record === undefined) return false;
      record.leaseUntil = now + leaseMs;
      return record.abortRequested ? 'cancel' : true;
    });
  }

  async finishRun(finish: RunFinish): Promise<{ recorded: boolean }> {
    return { recorded: this.finish(finish) };
  }

  async finishRuns(finishes: readonly RunFinish[]): Promise<boolean[]> {
    return finishes.map((finish) => this.finish(finish));
  }

  private finish(finish: RunFinish): boolean {
    const record = this.findActive(finish);
    if (record === undefined) return false;
    if (finishRun(this.runs, record, finish, this.clock.now())) this.runsChanged.notify();
    return true;
  }

  async releaseClaims(instanceId: string, runIds: readonly string[]): Promise<number> {
    const released = releaseClaims(this.runs, instanceId, runIds, this.clock.now());
    if (released > 0) this.runsChanged.notify();
    return released;
  }

  async reapStalledRuns(): Promise<StalledRun[]> {
    const now = this.clock.now();
    if (!this.grace.mayReap(now)) return [];
    const { stalled, wake } = reapStalled(this.runs, now);
    if (wake) this.runsChanged.notify();
    return stalled;
  }

  async history(key: string, limit: number): Promise<HistoryEntry[]> {
    const entries = this.jobs.get(key)?.activity?.history;
    if (entries === undefined || !(limit > 0)) return [];
    const count = Math.min(entries.length, Math.floor(limit));
    const out: HistoryEntry[] = [];
    for (let i = entries.length - 1; out.length < count; i--) out.push({ ...entries[i]! });
    return out;
  }

  async sweep(options: { retentionMs: number; orphanTimeoutMs: number }): Promise<SweepResult> {
    const scope = { runs: this.runs, triggerIds: this.triggerIds, jobs: this.jobs, tombstones: this.tombstones, deleteJob: (job: JobState) => this.deleteJob(job) };
    return sweep(scope, options, this.clock.now());
  }

  onRunsChanged(listener: () => void): () => void {
    return this.runsChanged.subscribe(listener);
  }

  // ---- internals ---------------------------------------------------------

  /**
   * Stores a pending one-off run. Its id enters the tenant's one-off ids
   * unless another job holds it there: `enqueueRun` refused that case
   * before; every job's on-start run is named `on-start`, and those that
   * find the id taken are found by job key.
   */
  private enqueueTrigger(job: JobState, id: string, scheduledAt: number, dueAt: number, params: string | undefined, maxAttempts: number): RunRecord {
    const record = new RunRecord(job, id, 'trigger', scheduledAt, 1, false, params, true, maxAttempts);
    job.act().records.set(id, record);
    const holder = this.triggerIds.holder(job.tenantId ?? '', id);
    if (holder === undefined || holder === job) this.triggerIds.add(job, id);
    this.runs.pending.toPending(record, dueAt);
    this.runsChanged.notify();
    return record;
  }

  private findActive(ref: ActiveRunRef): RunRecord | undefined {
    const record = this.jobs.get(ref.key)?.activity?.records.get(ref.id);
    if (record === undefined || record.state !== 'active' || record.fencingToken !== ref.fencingToken) return undefined;
    return record;
  }

  private deleteJob(job: JobState): void {
    this.jobs.delete(job.key);
    this.definitions.release(job.def);
    if (job.activity === undefined) return;
    for (const record of job.activity.records.values()) {
      if (record.kind === 'trigger') this.triggerIds.delete(job, record.id);
      // Parked and waiting runs go with the job's activity; only heap entries linger.
      if (record.state === 'pending' && record.where === 'index') this.runs.pending.due.stale++;
      else if (record.state === 'active') this.runs.active.delete(record);
      else if (record.state === 'done') this.runs.done.delete(record);
      record.state = 'gone';
    }
    job.activity = undefined;
    this.runs.pending.pruneStale();
  }
}
