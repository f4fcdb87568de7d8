/**
 * What happens when the backend answers again after an outage (or after one
 * failed claim): clear the claims and outcomes the outage left unanswered,
 * then re-sync and re-plan the jobs that may have missed slots. Separate
 * from the facade because it coordinates several collaborators on an event
 * the scheduler does not drive itself (`BackendHealth` reports it).
 */
import type { KeyTable } from '../backend/key-table.js';
import type { JobSync } from './job-sync.js';
import type { JobEntry } from './job-entry.js';
import type { RunRunner } from './run-runner.js';
import type { UnansweredClaims } from './unanswered-claims.js';

/** What outage recovery works with, shared with the scheduler that owns it. */
export interface OutageRecoveryDeps {
  unanswered: UnansweredClaims;
  runner: RunRunner;
  sync: JobSync;
  /** Registered jobs by key (owned by the scheduler). */
  jobs: KeyTable<JobEntry>;
  /** Jobs whose slot claim failed since the last recovery (owned by the scheduler and the timeline). */
  claimFailed: Set<JobEntry>;
  /** Whether the scheduler is started: recovery runs only then. */
  isStarted: () => boolean;
  /** Looks for due one-off runs again. */
  pollDueRuns: () => void;
}

/** Brings this instance back in step with the backend after an outage. */
export class OutageRecovery {
  constructor(private readonly deps: OutageRecoveryDeps) {}

  /** After an outage: re-sync every job (the store may have lost data) and apply misfire policies. */
  async recover(since: number, outage: boolean): Promise<void> {
    if (!this.deps.isStarted()) return;
    // Before the reapers' grace after the outage runs out.
    await this.clearUnanswered();
    // After an outage any job may have missed slots; after one slow call only
    // the jobs whose claim failed did. The others are at most late (their
    // slots wait for a permit): re-planning them would drop those slots.
    const entries = outage ? [...this.deps.jobs.values()] : [...this.deps.claimFailed];
    this.deps.claimFailed.clear();
    for (const entry of entries) entry.token++;
    try {
      if (entries.length > 0) await this.deps.sync.syncJobs(entries, since);
    } catch (error) {
      // Their queued slots were just invalidated: until a re-plan succeeds
      // nothing fires for them. The failure is reported and brings another
      // recovery, which, when it finds the store only slow (not down),
      // re-plans just the failed claims' jobs: these must be among them.
      for (const entry of entries) this.deps.claimFailed.add(entry);
      throw error;
    }
    this.deps.pollDueRuns();
  }

  /** Gives back the claims and records the outcomes an outage left unanswered; rejects (keeping them) while the backend is out of reach. */
  async clearUnanswered(): Promise<void> {
    await this.deps.unanswered.release();
    await this.deps.runner.recordKept();
  }
}
