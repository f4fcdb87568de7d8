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
 * | enqueue-run.lua, upsert-jobs.lua, touch-jobs.lua, get-job.lua, list-jobs.lua, remove-job.lua, sweep.lua, heartbeat.lua, heartbeat-instance.lua, next-due.lua, time.lua | the `MemoryBackend` method of the same name |
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
import { claimDueRuns } from './claim-due-runs.js';
import { claimSlot } from './claim-slots.js';
import { finishRun } from './finish-runs.js';
import { DefinitionRegistry } from './job-definition.js';
import { JobState } from './job-state.js';
import { reapStalled } from './reap-stalled.js';
import { releaseClaims } from './release-claims.js';
import { RunLedger } from './run-ledger.js';
import { RunRecord } from './run-record.js';
import type {
  ActiveRunRef,
  Backend,
  DueRunsClaim,
  DueRunsClaimed,
  HistoryEntry,
  JobUpsert,
  JobUpsertResult,
  RunEnqueue,
  RunFinish,
  RunSummary,
  SlotClaim,
  SlotClaimResult,
  StalledRun,
  StoredJob,
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
        return { key: incoming.key, stored: job.snapshot(), created: true, definitionChanged: false, definedAt };
      }
      existing.lastSeenAt = now;
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
    return claimSlot(this.runs, this.jobs.get(claim.key), claim, now);
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
    const dueAt = run.dueAt ?? this.clock.now();
    const record = new RunRecord(job, run.id, 'trigger', dueAt, 1, false, run.params, true, run.maxAttempts);
    job.act().records.set(record.id, record);
    this.runs.pending.toPending(record, dueAt);
    this.runsChanged.notify();
    return { run: record.summary(), created: true };
  }

  async claimDueRuns(request: DueRunsClaim): Promise<DueRunsClaimed> {
    return claimDueRuns(this.runs, request, this.clock.now());
  }

  async nextDueAt(): Promise<number | null> {
    return this.runs.pending.earliestDue();
  }

  async heartbeat(runs: readonly ActiveRunRef[], leaseMs: number): Promise<boolean[]> {
    const now = this.clock.now();
    return runs.map((ref) => {
      const record = this.findActive(ref);
      if (record === undefined) return false;
      record.leaseUntil = now + leaseMs;
      return true;
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
    const now = this.clock.now();
    let runsDeleted = 0;
    const runCutoff = now - options.retentionMs;
    for (const record of this.runs.done) {
      if (record.finishedAt === null || record.finishedAt >= runCutoff) continue;
      this.runs.done.delete(record);
      record.state = 'gone';
      record.job.activity?.records.delete(record.id);
      runsDeleted++;
    }
    let jobsDeleted = 0;
    const jobCutoff = now - options.orphanTimeoutMs;
    // A periodic full pass over jobs: the orphan rule needs every lastSeenAt.
    for (const job of this.jobs.values()) {
      if (job.lastSeenAt >= jobCutoff) continue;
      if (job.activity !== undefined && job.activity.active > 0) continue;
      this.deleteJob(job);
      jobsDeleted++;
    }
    for (const [key, at] of this.tombstones) {
      if (at < jobCutoff) this.tombstones.delete(key);
    }
    return { runsDeleted, jobsDeleted };
  }

  onRunsChanged(listener: () => void): () => void {
    return this.runsChanged.subscribe(listener);
  }

  // ---- internals ---------------------------------------------------------

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
