/**
 * The stored model of a job: its small always-present state and the activity
 * (runs, history, counters) created when it first runs. Separate so the data
 * layout that keeps a million idle jobs cheap is read on its own, apart from
 * the backend operations that change it.
 */
import type { HistoryEntry, JobUpsert, RateLimit, RunOutcome, StoredJob } from '../backend.js';
import { copySchedule, type Definition } from './job-definition.js';
import type { RunHeap } from './run-heap.js';
import type { RunRecord } from './run-record.js';

/** What a job accumulates once it runs: run records, history and counters. Created on first use. */
export class JobActivity {
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
export class JobState {
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
  /** The latest upsert's rate limit (not part of the shared definition: it does not decide slot times). */
  rateLimit: RateLimit | null;
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
    this.rateLimit = copyRateLimit(upsert.rateLimit);
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
      nextRunAt: this.def.schedule === null ? this.earliestPendingDue() : this.nextRunAt,
      lastRunAt: a?.lastRunAt ?? null,
      lastDurationMs: a?.lastDurationMs ?? null,
      lastError: a?.lastError ?? null,
      lastOutcome: a?.lastOutcome ?? null,
      runCount: a?.runCount ?? 0,
      failCount: a?.failCount ?? 0,
      skippedCount: a?.skippedCount ?? 0,
      activeRuns: a?.active ?? 0,
      rateLimit: copyRateLimit(this.rateLimit),
      createdAt: this.createdAt,
      lastSeenAt: this.lastSeenAt,
    };
  }

  /** A job without schedule shows when its earliest pending run is due (null when none). */
  private earliestPendingDue(): number | null {
    let earliest: number | null = null;
    for (const record of this.activity?.records.values() ?? []) {
      if (record.state === 'pending' && (earliest === null || record.dueAt < earliest)) earliest = record.dueAt;
    }
    return earliest;
  }
}

/** A copy, so no caller shares the stored object. */
export function copyRateLimit(limit: RateLimit | null | undefined): RateLimit | null {
  return limit == null ? null : { key: limit.key, max: limit.max, perMs: limit.perMs };
}
