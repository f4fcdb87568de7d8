/**
 * Job sync: tells the backend about registered jobs (micro-batched, so a
 * burst of registrations costs one upsert), decides definition conflicts
 * with other instances, and hands each job to the timeline to plan. Apart
 * from the facade because it is the one path from a local registration to
 * the store, used by register, start, trigger/pause before start, and
 * outage recovery alike.
 */
import type { Backend, JobUpsert } from '../backend/backend.js';
import type { AlignedClock } from '../clock/aligned-clock.js';
import type { Logger } from '../observability/logger.js';
import { CallBatcher } from './call-batcher.js';
import { nextAfter, stallAttempts } from './job-slots.js';
import type { JobEntry } from './job-entry.js';
import type { JobTimeline } from './job-timeline.js';

const UPSERT_BATCH = 1000;

/** What job sync works with, shared with the scheduler that owns it. */
export interface JobSyncDeps {
  backend: Backend;
  clock: AlignedClock;
  log: Logger;
  timeline: JobTimeline;
  /** Whether the scheduler is started: before, jobs are stored on demand only. */
  isStarted: () => boolean;
}

/** Stores registered jobs in the backend and plans them from what is stored. */
export class JobSync {
  private readonly backend: Backend;
  private readonly clock: AlignedClock;
  private readonly log: Logger;
  private readonly timeline: JobTimeline;
  private readonly isStarted: () => boolean;
  /**
   * Registrations of one tick, synced together. Unbounded per call: `syncJobs`
   * splits them into upserts of `UPSERT_BATCH`, one after the other.
   */
  private readonly upserts = new CallBatcher<JobEntry, void>(
    'upsertJobs',
    async (entries) => {
      await this.syncJobs(entries);
      return entries.map(() => undefined);
    },
    Infinity,
  );

  constructor(deps: JobSyncDeps) {
    this.backend = deps.backend;
    this.clock = deps.clock;
    this.log = deps.log;
    this.timeline = deps.timeline;
    this.isStarted = deps.isStarted;
  }

  /** Upserts one entry, batched with others registered in the same tick. */
  upsertSoon(entry: JobEntry): Promise<void> {
    return this.upserts.call(entry);
  }

  /**
   * Tells the backend about these jobs, decides definition conflicts, and
   * plans each. `outageSince`: after an outage, when it began.
   */
  async syncJobs(entries: readonly JobEntry[], outageSince?: number): Promise<void> {
    for (let i = 0; i < entries.length; i += UPSERT_BATCH) {
      const batch = entries.slice(i, i + UPSERT_BATCH);
      const now = this.clock.now();
      const results = await this.backend.upsertJobs(batch.map((entry) => this.toUpsert(entry, now)));
      for (let j = 0; j < batch.length; j++) {
        const entry = batch[j]!;
        const result = results[j]!;
        entry.definedAt = result.definedAt;
        if (entry.done) continue;
        if (result.definitionChanged) {
          this.log.info('job definition changed; this instance stored the new one', { job: entry.job.name, tenantId: entry.job.tenantId });
        }
        if (result.stored.definitionHash !== entry.job.definitionHash) this.timeline.adopt(entry, result.stored);
        else this.timeline.planFromStored(entry, result.stored, outageSince);
      }
    }
  }

  /**
   * Before start, registered jobs live only here; a trigger or pause then
   * stores the job first (start re-syncs it and plans its slots), so an init
   * hook may trigger runs before the scheduler starts.
   */
  async ensureStored(entry: JobEntry): Promise<void> {
    if (this.isStarted()) return;
    const [result] = await this.backend.upsertJobs([this.toUpsert(entry, this.clock.now())]);
    entry.definedAt = result!.definedAt;
  }

  private toUpsert(entry: JobEntry, now: number): JobUpsert {
    const { job } = entry;
    return {
      key: job.key,
      name: job.name,
      tenantId: job.tenantId,
      schedule: job.schedule?.descriptor ?? null,
      definitionHash: job.definitionHash,
      definedAt: entry.definedAt,
      nextRunAt: job.schedule === null ? null : nextAfter(job, now),
      limit: job.limit,
      rateLimit: job.rateLimit,
      runOnStart: job.runOnStart ? { maxAttempts: stallAttempts(job) } : null,
    };
  }
}
