/**
 * Backfill (SPEC §14): one run for each slot of a past range that has no run
 * in the ledger. Apart from the facade because it is a call of its own
 * (range checks, slot walk, ledger comparison) that only ends in
 * `enqueueRun`s. Idempotent: each run has the id `backfill-<slot epoch ms>`,
 * so a second call (on any instance) finds the first call's runs and
 * enqueues nothing.
 */
import type { Backend } from '../backend/backend.js';
import type { KeyTable } from '../backend/key-table.js';
import type { AlignedClock } from '../clock/aligned-clock.js';
import type { SchedulerConfig } from '../config/config.js';
import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';
import { jobLabel, messages } from '../errors/messages.js';
import type { JobSync } from './job-sync.js';
import { stallAttempts } from './job-slots.js';
import type { JobEntry } from './job-entry.js';
import { checkOptions, keyOf, parseDate } from './public-arguments.js';
import type { BackfillOptions, BackfillResult } from './types.js';

/** At most this many slots per call: a longer range is refused (the caller splits it). */
export const MAX_BACKFILL_SLOTS = 10_000;
/** Runs enqueued at once: bounds the calls in flight against the backend. */
const ENQUEUE_BATCH = 100;
const BACKFILL_KEYS = new Set(['tenantId', 'from', 'to']);

/** What a backfill works with, shared with the scheduler that owns it. */
export interface BackfillDeps {
  backend: Backend;
  clock: AlignedClock;
  config: SchedulerConfig;
  /** Registered jobs by key (owned by the scheduler). */
  jobs: KeyTable<JobEntry>;
  sync: JobSync;
  /** The scheduler's `E_JOB_NOT_FOUND` (with its closest-name suggestion). */
  notFound: (name: string, tenantId: string | undefined) => SchedkitError;
}

/**
 * The run id of the backfill run of `slot`: `backfill-<ms>`; with `key`,
 * `backfill-<ms>-<8 hex digits of the job key's FNV-1a>`, the id used when
 * another job of the tenant already has the plain one.
 */
export function backfillRunId(slot: number, key?: string): string {
  if (key === undefined) return `backfill-${slot}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return `backfill-${slot}-${(hash >>> 0).toString(16).padStart(8, '0')}`;
}

/**
 * Enqueues a run (id `backfill-<ms>`, `scheduledAt` = the slot, due now) for
 * each slot of the job's schedule in [from, to] that no exclusion matches
 * and that has neither a kept history entry (a slot run with an outcome
 * other than `skipped`) nor a backfill run already. Every check comes before
 * the first write, so a refused call changes nothing.
 *
 * @throws SchedkitError `E_INVALID_ARGUMENT` (options, a trigger-only job,
 *   dates, from after to, to in the future, over `MAX_BACKFILL_SLOTS`
 *   slots), `E_JOB_NOT_FOUND` (not registered here).
 */
export async function backfill(deps: BackfillDeps, name: string, options: BackfillOptions): Promise<BackfillResult> {
  checkOptions('backfill', options, BACKFILL_KEYS);
  const key = keyOf('backfill', name, options.tenantId);
  const entry = deps.jobs.get(key);
  if (entry === undefined) throw deps.notFound(name, options.tenantId);
  const { job } = entry;
  const schedule = job.schedule;
  if (schedule === null) {
    throw invalid('name', `${jobLabel(job.name, job.tenantId)} has no schedule, so it has no slots to backfill (trigger it instead)`);
  }
  if (options.from === undefined) throw invalid('from', 'required: the first instant of the range');
  if (options.to === undefined) throw invalid('to', 'required: the last instant of the range');
  const from = parseDate(options.from, 'backfill', 'from');
  const to = parseDate(options.to, 'backfill', 'to');
  if (from > to) throw invalid('from', `${iso(from)} is after to (${iso(to)}); the range runs from from to to`);
  const slots: number[] = [];
  for (let slot = schedule.next(new Date(from - 1))?.getTime(); slot !== undefined && slot <= to; slot = schedule.next(new Date(slot))?.getTime()) {
    if (slots.length === MAX_BACKFILL_SLOTS) {
      throw invalid('to', `the range ${iso(from)} to ${iso(to)} holds more than ${MAX_BACKFILL_SLOTS} slots (the cap per backfill call); split it into shorter ranges`);
    }
    slots.push(slot);
  }
  // After the size (a range is refused for its shape before its place in time).
  const now = deps.clock.now();
  if (to > now) throw invalid('to', `${iso(to)} is in the future (now is ${iso(now)}); backfill runs slots that have passed, the schedule runs the rest`);
  const wanted = job.exclusions === null ? slots : slots.filter((slot) => !job.exclusions!.matches(slot));

  await deps.sync.ensureStored(entry);
  const history = await deps.backend.history(key, deps.config.historyLimit);
  const ran = new Set(history.filter((e) => e.kind === 'slot' && e.outcome !== 'skipped').map((e) => e.scheduledAt));
  let enqueued = 0;
  let existing = 0;
  const missing = wanted.filter((slot) => {
    if (!ran.has(slot)) return true;
    existing++;
    return false;
  });
  const maxAttempts = stallAttempts(job);
  for (let i = 0; i < missing.length; i += ENQUEUE_BATCH) {
    const results = await Promise.all(
      missing.slice(i, i + ENQUEUE_BATCH).map(async (slot) => {
        const run = { key, kind: 'trigger' as const, dueAt: null, scheduledAt: slot, params: undefined, maxAttempts };
        try {
          return await deps.backend.enqueueRun({ ...run, id: backfillRunId(slot) });
        } catch (error) {
          // A one-off run id names one run per tenant: another job of the
          // tenant has this slot's backfill run. This job's run then takes
          // an id of its own, the same on every call (still idempotent).
          if (!SchedkitError.is(error, ErrorCode.InvalidArgument) || error.details.field !== 'id') throw error;
          return deps.backend.enqueueRun({ ...run, id: backfillRunId(slot, key) });
        }
      }),
    );
    for (const { created } of results) {
      if (created) enqueued++;
      else existing++;
    }
  }
  return { slots: wanted.length, enqueued, existing };
}

function invalid(field: string, why: string): SchedkitError {
  return new SchedkitError(ErrorCode.InvalidArgument, messages.invalidArgument('backfill', field, why), { details: { field } });
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
