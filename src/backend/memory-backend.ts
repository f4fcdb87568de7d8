import type { Clock } from '../clock/clock.js';
import { SystemClock } from '../clock/clock.js';
import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';
import { messages } from '../errors/messages.js';
import type { ScheduleDescriptor } from '../schedule/schedule.js';
import { OutageGrace } from './outage-grace.js';
import type {
  ActiveRunRef,
  Backend,
  ClaimedRun,
  DueRunsClaim,
  DueRunsClaimed,
  HistoryEntry,
  JobUpsert,
  JobUpsertResult,
  RunEnqueue,
  RunFinish,
  RunOutcome,
  RunSummary,
  SlotClaim,
  SlotClaimResult,
  StalledRun,
  StoredJob,
  SweepResult,
} from './backend.js';

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
  private readonly historyLimit: number;
  private readonly jobs = new Map<string, JobState>();
  /** Removed keys and when; a registration (upsert) clears them. */
  private readonly tombstones = new Map<string, number>();
  /** Shared definitions by hash (see `Definition`), dropped when no job uses them. */
  private readonly definitions = new Map<string, Definition>();
  private readonly pending = new RunHeap();
  /** Every active run, so the reaper looks at these only. */
  private readonly active = new Set<RunRecord>();
  /** Finished one-off runs kept for id idempotency until the retention sweep. */
  private readonly done = new Set<RunRecord>();
  private readonly listeners = new Set<() => void>();
  /** Live instances and until when (backend time). */
  private readonly instances = new Map<string, number>();
  /** Orders pending runs with the same due time by when they became pending. */
  private seq = 0;
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
    this.historyLimit = limit;
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
        const job = new JobState(incoming, this.acquireDefinition(incoming), definedAt, now);
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
        existing.def = this.acquireDefinition(incoming);
        this.releaseDefinition(previous);
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
    if (!paused && wasPaused) this.giveBackParked(job);
    // Runs held back by the pause may be due now.
    if (!paused) this.notify();
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
    const job = this.jobs.get(claim.key);
    if (job === undefined) return { status: 'removed' };
    if (job.def.hash !== claim.definitionHash) return { status: 'superseded', stored: job.snapshot() };
    if (now < claim.slot) return { status: 'early', retryInMs: claim.slot - now };
    if (job.lastSlot !== null && claim.slot <= job.lastSlot) return { status: 'taken' };
    if (job.completed) return { status: 'completed' };

    job.lastSeenAt = now;
    if (job.paused) {
      job.lastSlot = claim.slot;
      job.nextRunAt = claim.nextRunAt;
      if (claim.nextRunAt === null) job.completed = true;
      return { status: 'paused' };
    }

    const busy = job.activity !== undefined && job.activity.activeExclusive > 0;
    if (busy && claim.overlap !== 'allow') {
      // `queue` (misfire catch-up) waits like `buffer-one`, without the limit of one.
      if (claim.overlap === 'queue' || (claim.overlap === 'buffer-one' && !hasBufferedSlot(job))) {
        const record = new RunRecord(
          job,
          claim.runId,
          'slot',
          claim.slot,
          1,
          true,
          undefined,
          claim.requeueOnStall,
          claim.maxAttempts,
        );
        job.act().records.set(record.id, record);
        this.toPending(record, claim.slot);
        job.lastSlot = claim.slot;
        job.slotCount++;
        job.nextRunAt = claim.nextRunAt;
        // The buffered slot counts toward the limit now, so no later slot can
        // be claimed past it while this one waits.
        job.completed = reachedEnd(job);
        return { status: 'buffered', run: record.summary() };
      }
      job.lastSlot = claim.slot;
      job.nextRunAt = claim.nextRunAt;
      job.act().skippedCount++;
      if (claim.nextRunAt === null) job.completed = true;
      this.pushHistory(job, {
        runId: claim.runId,
        id: claim.runId,
        kind: 'slot',
        scheduledAt: claim.slot,
        startedAt: null,
        finishedAt: null,
        outcome: 'skipped',
        error: null,
        instanceId: claim.instanceId,
        attempt: 1,
      });
      return { status: 'skipped' };
    }

    job.lastSlot = claim.slot;
    job.slotCount++;
    job.nextRunAt = claim.nextRunAt;
    job.completed = reachedEnd(job);
    const record = new RunRecord(
      job,
      claim.runId,
      'slot',
      claim.slot,
      1,
      claim.overlap !== 'allow',
      undefined,
      claim.requeueOnStall,
      claim.maxAttempts,
    );
    job.act().records.set(record.id, record);
    this.activate(record, claim.runId, claim.instanceId, claim.leaseMs, now);
    return { status: 'claimed', run: record.claimed() };
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
    this.toPending(record, dueAt);
    this.notify();
    return { run: record.summary(), created: true };
  }

  async claimDueRuns(request: DueRunsClaim): Promise<DueRunsClaimed> {
    const now = this.clock.now();
    const claimed: ClaimedRun[] = [];
    const deferred: RunRecord[] = [];
    // Each pass pops one heap entry, so the loop ends when the heap holds
    // nothing due; deferred entries (runs of jobs outside the filter) are
    // pushed back afterwards, not re-read. Runs that became unclaimable while
    // in the heap (job paused, an exclusive run started) leave it until they
    // may run, so no later poll reads them (see `place`).
    while (claimed.length < request.runIds.length) {
      const top = this.pending.peek();
      if (top === undefined || top.dueAt > now) break;
      this.pending.pop();
      if (top.state !== 'pending') {
        this.pending.stale--;
        continue;
      }
      const job = top.job;
      if (job.paused || (top.exclusive && job.activity !== undefined && job.activity.activeExclusive > 0)) {
        this.place(top);
        continue;
      }
      if (request.keys !== undefined && !request.keys.has(job.key)) {
        deferred.push(top);
        continue;
      }
      const runId = request.runIds[claimed.length]!;
      this.activate(top, runId, request.instanceId, request.leaseMs, now);
      claimed.push(top.claimed());
    }
    for (const record of deferred) this.pending.push(record);
    return { runs: claimed, nextDueAt: this.earliestDue() };
  }

  async nextDueAt(): Promise<number | null> {
    return this.earliestDue();
  }

  private earliestDue(): number | null {
    this.pruneStale();
    return this.pending.peek()?.dueAt ?? null;
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
    const job = record.job;
    const a = job.act();
    const now = this.clock.now();
    const finishedAt = now - Math.max(0, finish.endedMsAgo ?? 0);
    const startedAt = finishedAt - Math.max(0, finish.durationMs);
    this.pushHistory(job, {
      runId: record.runId,
      id: record.id,
      kind: record.kind,
      scheduledAt: record.scheduledAt,
      startedAt,
      finishedAt,
      outcome: finish.outcome,
      error: finish.error,
      instanceId: finish.instanceId,
      attempt: record.attempt,
    });
    if (finish.outcome !== 'interrupted') {
      a.runCount++;
      if (finish.outcome !== 'success') a.failCount++;
      a.lastRunAt = startedAt;
      a.lastDurationMs = finishedAt - startedAt;
      a.lastError = finish.outcome === 'success' ? null : finish.error;
      a.lastOutcome = finish.outcome;
    }
    this.deactivate(record);
    let backToPending = false;
    if (finish.retryInMs !== undefined) {
      record.attempt++;
      this.toPending(record, now + finish.retryInMs);
      backToPending = true;
    } else if (finish.requeueInMs !== undefined) {
      this.toPending(record, now + finish.requeueInMs);
      backToPending = true;
    } else {
      this.retire(record, finish.outcome, now);
    }
    if (backToPending || record.exclusive) this.notify();
    return true;
  }

  async releaseClaims(instanceId: string, runIds: readonly string[]): Promise<number> {
    const wanted = new Set(runIds);
    const now = this.clock.now();
    let released = 0;
    for (const record of this.active) {
      if (record.instanceId !== instanceId || !wanted.has(record.runId)) continue;
      this.deactivate(record);
      this.toPending(record, now);
      released++;
    }
    if (released > 0) this.notify();
    return released;
  }

  async reapStalledRuns(): Promise<StalledRun[]> {
    const now = this.clock.now();
    const stalled: StalledRun[] = [];
    if (!this.grace.mayReap(now)) return stalled;
    let wake = false;
    // Deleting from a Set or Map while iterating it is well defined in JS.
    for (const record of this.active) {
      if (record.leaseUntil >= now) continue;
      const job = record.job;
      const error = messages.runStalled(record.instanceId, now - record.leaseUntil);
      this.pushHistory(job, {
        runId: record.runId,
        id: record.id,
        kind: record.kind,
        scheduledAt: record.scheduledAt,
        startedAt: record.claimedAt,
        finishedAt: now,
        outcome: 'stalled',
        error,
        instanceId: record.instanceId,
        attempt: record.attempt,
      });
      const a = job.act();
      a.runCount++;
      a.failCount++;
      a.lastOutcome = 'stalled';
      a.lastError = error;
      const attempt = record.attempt;
      this.deactivate(record);
      const requeued = record.requeueOnStall && record.attempt < record.maxAttempts;
      if (requeued) {
        record.attempt++;
        this.toPending(record, now);
      } else {
        this.retire(record, 'stalled', now);
      }
      if (requeued || record.exclusive) wake = true;
      stalled.push({
        key: job.key,
        id: record.id,
        kind: record.kind,
        scheduledAt: record.scheduledAt,
        attempt,
        instanceId: record.instanceId,
        requeued,
      });
    }
    if (wake) this.notify();
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
    for (const record of this.done) {
      if (record.finishedAt === null || record.finishedAt >= runCutoff) continue;
      this.done.delete(record);
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
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  // ---- internals ---------------------------------------------------------

  /** The shared definition for this upsert, or a private one when the hash is shared by a different schedule. */
  private acquireDefinition(upsert: JobUpsert): Definition {
    const known = this.definitions.get(upsert.definitionHash);
    if (known !== undefined && known.limit === upsert.limit && sameSchedule(known.schedule, upsert.schedule)) {
      known.refs++;
      return known;
    }
    const def = new Definition(upsert.definitionHash, copySchedule(upsert.schedule), upsert.limit);
    def.refs = 1;
    if (known === undefined) this.definitions.set(def.hash, def);
    return def;
  }

  private releaseDefinition(def: Definition): void {
    def.refs--;
    if (def.refs <= 0 && this.definitions.get(def.hash) === def) this.definitions.delete(def.hash);
  }

  private findActive(ref: ActiveRunRef): RunRecord | undefined {
    const record = this.jobs.get(ref.key)?.activity?.records.get(ref.id);
    if (record === undefined || record.state !== 'active' || record.fencingToken !== ref.fencingToken) return undefined;
    return record;
  }

  private toPending(record: RunRecord, dueAt: number): void {
    record.state = 'pending';
    record.dueAt = dueAt;
    record.seq = ++this.seq;
    this.place(record);
  }

  /**
   * Puts a pending run where it waits: in the due heap only when a poll may
   * claim it. A paused job's runs are parked until it is resumed; exclusive
   * runs of a job with an active exclusive run (or a paused job) wait in the
   * job's own heap, and the earliest goes back when it may run (`promote`):
   * one per end of an exclusive run, so a backlog is never walked per poll.
   */
  private place(record: RunRecord): void {
    const job = record.job;
    if (record.exclusive && (job.paused || (job.activity?.activeExclusive ?? 0) > 0)) {
      (job.act().waiting ??= new RunHeap()).push(record);
      record.where = 'waiting';
    } else if (job.paused) {
      job.act().parked.push(record);
      record.where = 'parked';
    } else {
      this.pending.push(record);
      record.where = 'index';
    }
  }

  /** A resumed job: its parked runs go back to the due heap (they keep their order keys). */
  private giveBackParked(job: JobState): void {
    const activity = job.activity;
    if (activity === undefined) return;
    const parked = activity.parked.splice(0);
    for (const record of parked) {
      if (record.state !== 'pending') continue;
      this.pending.push(record);
      record.where = 'index';
    }
    this.promote(job);
  }

  /** Moves the earliest waiting exclusive run of `job` to the due heap when nothing holds it back. */
  private promote(job: JobState): void {
    const activity = job.activity;
    if (job.paused || activity === undefined || activity.activeExclusive > 0 || activity.waiting === undefined) return;
    for (let record = activity.waiting.pop(); record !== undefined; record = activity.waiting.pop()) {
      if (record.state !== 'pending') continue;
      this.pending.push(record);
      record.where = 'index';
      return;
    }
  }

  private activate(record: RunRecord, runId: string, instanceId: string, leaseMs: number, now: number): void {
    const job = record.job;
    const runs = job.act();
    record.state = 'active';
    record.runId = runId;
    record.instanceId = instanceId;
    record.fencingToken = ++job.fence;
    record.claimedAt = now;
    record.leaseUntil = now + leaseMs;
    runs.active++;
    if (record.exclusive) runs.activeExclusive++;
    this.active.add(record);
  }

  private deactivate(record: RunRecord): void {
    const runs = record.job.act();
    runs.active--;
    this.active.delete(record);
    if (record.exclusive) {
      runs.activeExclusive--;
      this.promote(record.job);
    }
  }

  /** A finished run: one-off runs stay as `done` for id idempotency, slot runs go. */
  private retire(record: RunRecord, outcome: RunOutcome, now: number): void {
    record.outcome = outcome;
    record.finishedAt = now;
    if (record.kind === 'trigger') {
      record.state = 'done';
      this.done.add(record);
    } else {
      record.state = 'gone';
      record.job.activity?.records.delete(record.id);
    }
  }

  private deleteJob(job: JobState): void {
    this.jobs.delete(job.key);
    this.releaseDefinition(job.def);
    if (job.activity === undefined) return;
    for (const record of job.activity.records.values()) {
      // Parked and waiting runs go with the job's activity; only heap entries linger.
      if (record.state === 'pending' && record.where === 'index') this.pending.stale++;
      else if (record.state === 'active') this.active.delete(record);
      else if (record.state === 'done') this.done.delete(record);
      record.state = 'gone';
    }
    job.activity = undefined;
    this.pruneStale();
  }

  private pushHistory(job: JobState, entry: HistoryEntry): void {
    const history = job.act().history;
    history.push(entry);
    // Stored oldest first; dropping from the front keeps the newest `limit`.
    if (history.length > this.historyLimit) history.splice(0, history.length - this.historyLimit);
  }

  /** Drops removed runs from the top of the heap, and rebuilds it when they pile up inside. */
  private pruneStale(): void {
    while (this.pending.stale > 0) {
      const top = this.pending.peek();
      if (top === undefined || top.state === 'pending') break;
      this.pending.pop();
      this.pending.stale--;
    }
    if (this.pending.stale > 1024 && this.pending.stale * 2 > this.pending.size) {
      this.pending.rebuild((record) => record.state === 'pending');
    }
  }

  private notify(): void {
    for (const listener of this.listeners) {
      queueMicrotask(() => {
        if (!this.listeners.has(listener)) return;
        try {
          listener();
        } catch {
          // Best effort by contract: a listener's failure is its own business.
        }
      });
    }
  }
}

/**
 * A job definition (schedule, limit, hash), shared by every job that has the
 * same one: a fleet of per-tenant jobs on one cron costs one copy.
 */
class Definition {
  refs = 0;
  constructor(
    readonly hash: string,
    readonly schedule: ScheduleDescriptor | null,
    readonly limit: number | null,
  ) {}
}

/** What a job accumulates once it runs: run records, history and counters. Created on first use. */
class JobActivity {
  readonly records = new Map<string, RunRecord>();
  /** Pending runs held back while the job is paused (not exclusive ones). */
  readonly parked: RunRecord[] = [];
  /** Pending exclusive runs held back by an active exclusive run or a pause; created on first use. */
  waiting: RunHeap | undefined = undefined;
  active = 0;
  activeExclusive = 0;
  /** Oldest first, capped at the backend's history limit. */
  readonly history: HistoryEntry[] = [];
  runCount = 0;
  failCount = 0;
  skippedCount = 0;
  lastRunAt: number | null = null;
  lastDurationMs: number | null = null;
  lastError: string | null = null;
  lastOutcome: RunOutcome | null = null;
}

/**
 * One job's stored state. Deliberately flat and small: an idle job is this
 * object, its key and a pointer to a shared definition (a million idle jobs
 * must fit in memory); runs, history and counters live in `activity`,
 * created when the job first runs or skips.
 */
class JobState {
  readonly key: string;
  /** The name, unless it is what the key already spells (`tenant/name`): then derived. */
  private readonly nameIfUnusual: string | undefined;
  readonly tenantId: string | undefined;
  def: Definition;
  definedAt: number;
  paused = false;
  completed = false;
  lastSlot: number | null = null;
  slotCount = 0;
  fence = 0;
  nextRunAt: number | null;
  readonly createdAt: number;
  lastSeenAt: number;
  activity: JobActivity | undefined = undefined;

  constructor(upsert: JobUpsert, def: Definition, definedAt: number, now: number) {
    this.key = upsert.key;
    this.tenantId = upsert.tenantId;
    this.nameIfUnusual = upsert.key === `${upsert.tenantId ?? ''}/${upsert.name}` ? undefined : upsert.name;
    this.def = def;
    this.definedAt = definedAt;
    this.nextRunAt = upsert.nextRunAt;
    this.createdAt = now;
    this.lastSeenAt = now;
  }

  get name(): string {
    return this.nameIfUnusual ?? this.key.slice(this.key.indexOf('/') + 1);
  }

  act(): JobActivity {
    return (this.activity ??= new JobActivity());
  }

  snapshot(): StoredJob {
    const a = this.activity;
    return {
      key: this.key,
      name: this.name,
      tenantId: this.tenantId,
      schedule: copySchedule(this.def.schedule),
      definitionHash: this.def.hash,
      definedAt: this.definedAt,
      limit: this.def.limit,
      paused: this.paused,
      completed: this.completed,
      lastSlot: this.lastSlot,
      slotCount: this.slotCount,
      fence: this.fence,
      nextRunAt: this.nextRunAt,
      lastRunAt: a?.lastRunAt ?? null,
      lastDurationMs: a?.lastDurationMs ?? null,
      lastError: a?.lastError ?? null,
      lastOutcome: a?.lastOutcome ?? null,
      runCount: a?.runCount ?? 0,
      failCount: a?.failCount ?? 0,
      skippedCount: a?.skippedCount ?? 0,
      activeRuns: a?.active ?? 0,
      createdAt: this.createdAt,
      lastSeenAt: this.lastSeenAt,
    };
  }
}

/**
 * A run (slot or one-off) through its life: pending → active → pending again
 * (retry, requeue, stall) or finished. `gone` marks a record deleted while
 * its entry may still sit in the pending heap.
 */
class RunRecord {
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

/** Binary min-heap of pending runs by (dueAt, seq). Removed runs stay until popped (`stale` counts them). */
class RunHeap {
  private items: RunRecord[] = [];
  /** Entries whose run is no longer pending (deleted with its job). */
  stale = 0;

  get size(): number {
    return this.items.length;
  }

  peek(): RunRecord | undefined {
    return this.items[0];
  }

  push(record: RunRecord): void {
    const items = this.items;
    items.push(record);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): RunRecord | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    items[0] = last;
    this.siftDown(0);
    return top;
  }

  /** Keeps only the entries `keep` accepts and restores heap order in O(n). */
  rebuild(keep: (record: RunRecord) => boolean): void {
    this.items = this.items.filter(keep);
    this.stale = 0;
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private siftDown(start: number): void {
    const items = this.items;
    const n = items.length;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < n && before(items[left]!, items[smallest]!)) smallest = left;
      if (right < n && before(items[right]!, items[smallest]!)) smallest = right;
      if (smallest === i) return;
      [items[i], items[smallest]] = [items[smallest]!, items[i]!];
      i = smallest;
    }
  }
}

function before(a: RunRecord, b: RunRecord): boolean {
  return a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.seq < b.seq);
}

/** The buffered slot of `buffer-one`: a pending, exclusive, first-attempt slot run. */
function hasBufferedSlot(job: JobState): boolean {
  if (job.activity === undefined) return false;
  for (const record of job.activity.records.values()) {
    if (record.state === 'pending' && record.exclusive && record.kind === 'slot' && record.attempt === 1) return true;
  }
  return false;
}

function reachedEnd(job: JobState): boolean {
  const limit = job.def.limit;
  return job.nextRunAt === null || (limit !== null && job.slotCount >= limit);
}

function sameSchedule(a: ScheduleDescriptor | null, b: ScheduleDescriptor | null): boolean {
  if (a === null || b === null) return a === b;
  const ka = Object.keys(a) as (keyof ScheduleDescriptor)[];
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}

function copySchedule(schedule: ScheduleDescriptor | null): ScheduleDescriptor | null {
  return schedule === null ? null : { ...schedule };
}
