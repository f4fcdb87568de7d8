/**
 * The job calls `Scheduler` and `SchedulerClient` both answer from the
 * backend: argument checks, and the mapping of what the backend stores to
 * the public shapes (`JobInfo`, `RunHistoryEntry`, `TriggeredRun`). One place,
 * so a web process's client and a worker's scheduler refuse the same input
 * with the same errors and report the same fields.
 */
import type { Backend, RunSummary } from '../backend/backend.js';
import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';
import { messages, show } from '../errors/messages.js';
import type { TriggerOptions } from '../job/job-definition.js';
import { assertValidName } from '../job/job-key.js';
import { validateParams } from '../job/json-params.js';
import { newRunId } from '../job/run-id.js';
import { storedJobInfo, toDate } from './job-info.js';
import { checkOptions, HISTORY_KEYS, keyOf, LIST_KEYS, parseDate, tenantOf } from './public-arguments.js';
import type { HistoryOptions, JobInfo, RunHistoryEntry, TenantOptions, TriggeredRun } from './types.js';

/** The key of the job a `getJob`/`pause`/`resume` call addresses, after checking its name and `{ tenantId }`. */
export function jobKeyOf(call: string, name: string, options: TenantOptions): { key: string; tenantId: string | undefined } {
  const tenantId = tenantOf(call, options);
  return { key: keyOf(call, name, tenantId), tenantId };
}

/** Every stored job (optionally of one tenant); `registeredHere` says which ones the caller runs. */
export async function listJobInfos(backend: Backend, filter: TenantOptions, registeredHere: (key: string) => boolean): Promise<JobInfo[]> {
  checkOptions('listJobs', filter, LIST_KEYS);
  if (filter.tenantId !== undefined) assertValidName(filter.tenantId, 'tenantId', ErrorCode.InvalidArgument);
  const stored = await backend.listJobs(filter);
  return stored.map((job) => storedJobInfo(job, registeredHere(job.key)));
}

/** The job's newest history entries, at most `options.limit` (default and cap: `historyLimit`). */
export async function readHistory(backend: Backend, historyLimit: number, name: string, options: HistoryOptions): Promise<RunHistoryEntry[]> {
  checkOptions('history', options, HISTORY_KEYS);
  const key = keyOf('history', name, options.tenantId);
  const limit = options.limit ?? historyLimit;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new SchedkitError(ErrorCode.InvalidArgument, messages.invalidArgument('history', 'limit', `expected a positive integer, got ${show(limit)}`));
  }
  const entries = await backend.history(key, Math.min(limit, historyLimit));
  return entries.map((e) => ({
    ...e,
    scheduledAt: new Date(e.scheduledAt),
    startedAt: toDate(e.startedAt),
    finishedAt: toDate(e.finishedAt),
  }));
}

/** A trigger's checked id, due time and params (`where` names the job in params errors). */
export interface TriggerRequest {
  id: string;
  /** The caller's `at` (an instant of its own choosing), or null for the backend's now. */
  dueAt: number | null;
  params: string | undefined;
}

/** Checks a trigger's `id`, `at` and `params` (the option keys and the job are checked by the caller). */
export function triggerRequest<P>(options: TriggerOptions<P>, where: string, maxParamsBytes: number): TriggerRequest {
  const id = options.id ?? newRunId();
  if (options.id !== undefined) assertValidName(options.id, 'trigger id', ErrorCode.InvalidArgument);
  const dueAt = options.at === undefined ? null : parseDate(options.at, 'trigger', 'at');
  const params = validateParams(options.params, `trigger of ${where}`, maxParamsBytes);
  return { id, dueAt, params };
}

/** What `trigger` resolves to, from the run the backend stored (or already had). */
export function triggeredRun(run: RunSummary, created: boolean, name: string, tenantId: string | undefined): TriggeredRun {
  return { id: run.id, name, tenantId, dueAt: new Date(run.dueAt), created, state: run.state };
}
