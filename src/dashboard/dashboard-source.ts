import type { JsonValue, TriggerOptions } from '../job/job-definition.js';
import type {
  CancelOptions,
  HistoryOptions,
  JobInfo,
  ListRunsOptions,
  RunHistoryEntry,
  RunInfo,
  RunList,
  TenantOptions,
  TriggeredRun,
} from '../scheduler/types.js';

/**
 * What the dashboard reads and changes: a `Scheduler` (in the app) or a
 * `SchedulerClient` (beside it, as `schedkit dashboard` runs) both are one.
 */
export interface DashboardSource {
  listJobs(filter?: TenantOptions): Promise<JobInfo[]>;
  getJob(name: string, options?: TenantOptions): Promise<JobInfo | null>;
  history(name: string, options?: HistoryOptions): Promise<RunHistoryEntry[]>;
  listRuns(options?: ListRunsOptions): Promise<RunList>;
  trigger(name: string, options?: TriggerOptions<JsonValue | undefined>): Promise<TriggeredRun>;
  pause(name: string, options?: TenantOptions): Promise<void>;
  resume(name: string, options?: TenantOptions): Promise<void>;
  cancel(id: string, options: CancelOptions): Promise<RunInfo>;
}
