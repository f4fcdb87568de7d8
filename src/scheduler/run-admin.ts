/**
 * Run management as `Scheduler` and `SchedulerClient` both offer it:
 * `getRun`, `listRuns`, `cancel`, `reschedule`. It checks the arguments like
 * every public call, finds the run (by its job, or a one-off run by its id
 * within its tenant), and turns the backend's answers into `RunInfo` or a
 * typed error naming the run and its job. Needs only the backend: a web
 * process calls it without running anything.
 */
import type { Backend, RunLookup, RunQuery, StoredRun } from '../backend/backend.js';
import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';
import { messages, runLabel, show } from '../errors/messages.js';
import { isValidName, jobKey } from '../job/job-key.js';
import { parseStoredParams } from '../job/json-params.js';
import type { Logger } from '../observability/logger.js';
import { checkBoolean, checkOptions, parseDate } from './public-arguments.js';
import type { CancelOptions, ListRunsOptions, RescheduleOptions, RunInfo, RunList, RunOptions } from './types.js';

const RUN_KEYS = new Set(['tenantId', 'name']);
const CANCEL_KEYS = new Set(['tenantId', 'name', 'abort']);
const RESCHEDULE_KEYS = new Set(['tenantId', 'name', 'at']);
const LIST_RUNS_KEYS = new Set(['tenantId', 'name', 'state', 'limit', 'cursor']);
const LISTED_STATES = new Set(['pending', 'running', 'retrying']);
const MAX_LIST_LIMIT = 1_000;
const DEFAULT_LIST_LIMIT = 100;
/** Cursors are the backend's own text; anything longer was never one. */
const MAX_CURSOR_LENGTH = 1_024;
/**
 * How far in the past `reschedule`'s `at` may be and still mean "now": the
 * caller's clock and the aligned one differ by the alignment's error, and
 * `at: new Date()` is a few milliseconds old by the time it is checked.
 */
const NOW_TOLERANCE_MS = 1_000;

/** What `RunAdmin` works with. */
export interface RunAdminDeps {
  backend: Backend;
  /** Recorded in history as who cancelled or moved a run. */
  instanceId: string;
  /** Backend time now (the aligned clock): `reschedule` refuses a time already past. */
  now: () => number | Promise<number>;
  log: Logger;
  /** Told when this caller cancelled a pending or retrying run (the scheduler emits `run:cancelled` and counts it). */
  onPendingCancelled?: (run: RunInfo) => void;
}

/** `getRun`, `listRuns`, `cancel` and `reschedule`, for any caller that has the backend. */
export class RunAdmin {
  constructor(private readonly deps: RunAdminDeps) {}

  /** The run, pending, running or finished and not yet swept, or null. */
  async getRun(id: string, options: RunOptions = {}): Promise<RunInfo | null> {
    const lookup = runLookup('getRun', id, options, RUN_KEYS);
    const run = await this.deps.backend.getRun(lookup);
    return run === null ? null : runInfo(run);
  }

  /** Pending, retrying and running runs, one page at a time. */
  async listRuns(options: ListRunsOptions = {}): Promise<RunList> {
    const page = await this.deps.backend.listRuns(runQuery(options));
    return { runs: page.runs.map(runInfo), cursor: page.cursor };
  }

  /**
   * Cancels a pending or retrying run (it never starts), or marks a running
   * one not to be retried (with `abort`, its signal aborts with
   * `CancelledError`). Idempotent. Resolves to the run as it is afterwards.
   */
  async cancel(id: string, options: CancelOptions = {}): Promise<RunInfo> {
    const lookup = runLookup('cancel', id, options, CANCEL_KEYS);
    checkBoolean('cancel', 'abort', options.abort);
    const before = await this.find('cancel', lookup, options);
    const abort = options.abort === true;
    const result = await this.deps.backend.cancelRun({ key: before.key, id, instanceId: this.deps.instanceId, abort });
    const run = result.run ?? before;
    if (result.status === 'not-found') throw runNotFound(lookup, options);
    if (result.status === 'finished') throw runFinished('cancel', run);
    const info = runInfo(run);
    // `cancelled` also answers a repeat: only a run that was not finished before is news.
    if (result.status === 'cancelled' && before.state !== 'done') {
      this.deps.log.info('run cancelled', { job: run.name, tenantId: run.tenantId, id, while: before.state });
      this.deps.onPendingCancelled?.(info);
    }
    if (result.status === 'cancelling') this.deps.log.info('running run cancelled', { job: run.name, tenantId: run.tenantId, id, abort });
    return info;
  }

  /** Moves a pending or retrying run to `at` (its `scheduledAt` and due time). Idempotent. */
  async reschedule(id: string, options: RescheduleOptions): Promise<RunInfo> {
    const lookup = runLookup('reschedule', id, options, RESCHEDULE_KEYS);
    const at = parseDate(options.at, 'reschedule', 'at');
    const now = await this.deps.now();
    if (at < now - NOW_TOLERANCE_MS) {
      throw new SchedkitError(
        ErrorCode.InvalidArgument,
        messages.invalidArgument('reschedule', 'at', `${new Date(at).toISOString()} is in the past (now is ${new Date(now).toISOString()})`),
        { details: { field: 'at' } },
      );
    }
    const key = lookup.key ?? (await this.find('reschedule', lookup, options)).key;
    const result = await this.deps.backend.rescheduleRun({ key, id, instanceId: this.deps.instanceId, at });
    if (result.status === 'not-found' || result.run === null) throw runNotFound(lookup, options);
    if (result.status === 'finished') throw runFinished('reschedule', result.run);
    if (result.status === 'running') {
      throw new SchedkitError(ErrorCode.RunRunning, messages.runRunning(labelOf(result.run)), { details: runDetails(result.run) });
    }
    return runInfo(result.run);
  }

  /** The stored run `lookup` addresses, or `E_RUN_NOT_FOUND`. */
  private async find(call: string, lookup: RunLookup, options: RunOptions): Promise<StoredRun> {
    const run = await this.deps.backend.getRun(lookup);
    if (run === null) throw runNotFound(lookup, options);
    this.deps.log.debug(`${call}: found run`, { job: run.name, tenantId: run.tenantId, id: run.id, state: run.state });
    return run;
  }
}

/** A stored run as the public `RunInfo`. */
export function runInfo(run: StoredRun): RunInfo {
  return {
    id: run.id,
    name: run.name,
    tenantId: run.tenantId,
    kind: run.kind,
    state: run.state,
    scheduledAt: new Date(run.scheduledAt),
    dueAt: new Date(run.dueAt),
    attempt: run.attempt,
    outcome: run.outcome,
    instanceId: run.instanceId,
    params: run.params === undefined ? undefined : parseStoredParams(run.params),
    cancelRequested: run.cancelRequested,
  };
}

/** Which run a call addresses: by its job when `name` is given, else a one-off run by id within its tenant. */
function runLookup(call: string, id: string, options: RunOptions, known: ReadonlySet<string>): RunLookup {
  checkOptions(call, options, known);
  checkName(call, 'id', id);
  if (options.tenantId !== undefined) checkName(call, 'tenantId', options.tenantId);
  if (options.name !== undefined) {
    checkName(call, 'name', options.name);
    return { id, key: jobKey(options.name, options.tenantId) };
  }
  return { id, tenantId: options.tenantId ?? '' };
}

function runQuery(options: ListRunsOptions): RunQuery {
  checkOptions('listRuns', options, LIST_RUNS_KEYS);
  const { name, tenantId, state, cursor } = options;
  if (tenantId !== undefined) checkName('listRuns', 'tenantId', tenantId);
  if (name !== undefined) checkName('listRuns', 'name', name);
  if (state !== undefined && !LISTED_STATES.has(state)) {
    throw invalid('listRuns', 'state', `expected one of ${[...LISTED_STATES].join(', ')}, got ${show(state)} (finished runs are in history)`);
  }
  const limit = options.limit ?? DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw invalid('listRuns', 'limit', `expected an integer from 1 to ${MAX_LIST_LIMIT}, got ${show(limit)}`);
  }
  if (cursor !== undefined && cursor !== null && (typeof cursor !== 'string' || cursor === '' || cursor.length > MAX_CURSOR_LENGTH)) {
    throw invalid('listRuns', 'cursor', `expected the cursor of a previous page (or null), got ${show(cursor)}`);
  }
  const query: RunQuery = { limit, cursor: cursor ?? null };
  if (name !== undefined) query.key = jobKey(name, tenantId);
  else if (tenantId !== undefined) query.tenantId = tenantId;
  if (state !== undefined) query.state = state;
  return query;
}

function checkName(call: string, field: string, value: unknown): void {
  if (!isValidName(value)) throw new SchedkitError(ErrorCode.InvalidArgument, messages.invalidName(`${call} ${field}`, value), { details: { field } });
}

function invalid(call: string, field: string, why: string): SchedkitError {
  return new SchedkitError(ErrorCode.InvalidArgument, messages.invalidArgument(call, field, why), { details: { field } });
}

function labelOf(run: StoredRun): string {
  return runLabel(run.id, run.name, run.tenantId);
}

function runDetails(run: StoredRun): Record<string, unknown> {
  return { id: run.id, name: run.name, tenantId: run.tenantId, state: run.state, outcome: run.outcome };
}

function runNotFound(lookup: RunLookup, options: RunOptions): SchedkitError {
  return new SchedkitError(ErrorCode.RunNotFound, messages.runNotFound(runLabel(lookup.id, options.name, options.tenantId)), {
    details: { id: lookup.id, name: options.name, tenantId: options.tenantId },
  });
}

function runFinished(call: string, run: StoredRun): SchedkitError {
  return new SchedkitError(ErrorCode.RunFinished, messages.runFinished(labelOf(run), run.outcome ?? 'unknown', call), { details: runDetails(run) });
}
