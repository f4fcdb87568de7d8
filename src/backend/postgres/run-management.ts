import type { Pool } from 'pg';
import type {
  RunCancel,
  RunCancelResult,
  RunEnqueue,
  RunLookup,
  RunPage,
  RunQuery,
  RunReschedule,
  RunRescheduleResult,
  RunSummary,
  StoredRun,
} from '../backend.js';
import { ErrorCode, SchedkitError } from '../../errors/schedkit-error.js';
import { messages } from '../../errors/messages.js';
import { parseRunCursor, runCursor } from '../run-cursor.js';
import { finite, finiteOrNull } from './arguments.js';
import { object, toStoredRun, toSummary } from './records.js';

/**
 * The calls of `PostgresBackend` that address one run by id: enqueue a
 * one-off run, read one, list a page, cancel and reschedule (enqueue_run,
 * cancel_run, reschedule_run; reading is plain SQL). `s` is the quoted schema.
 */

/** Runs of one page at most (`RunQuery.limit`). */
const MAX_PAGE = 1_000;

export async function enqueueRun(pool: Pool, s: string, run: RunEnqueue): Promise<{ run: RunSummary; created: boolean }> {
  const fn = 'enqueue_run';
  let answer: Record<string, unknown>;
  try {
    const { rows } = await pool.query<{ result: unknown }>(`SELECT ${s}.enqueue_run($1, $2, $3, $4, $5, $6) AS result`, [
      run.key,
      run.id,
      finiteOrNull('enqueueRun', 'dueAt', run.dueAt),
      finiteOrNull('enqueueRun', 'scheduledAt', run.scheduledAt),
      run.params ?? null,
      finite('enqueueRun', 'maxAttempts', run.maxAttempts),
    ]);
    answer = object(rows[0]?.result, fn);
  } catch (error) {
    // The job was removed between the function's read and the run's insert.
    if ((error as { code?: unknown }).code === '23503') answer = { error: 'job-not-found' };
    else throw error;
  }
  if (answer.error === 'job-not-found') {
    throw new SchedkitError(ErrorCode.JobNotFound, messages.backendJobNotFound(run.key), { details: { key: run.key } });
  }
  if (answer.error === 'trigger-id-taken') {
    throw new SchedkitError(ErrorCode.InvalidArgument, messages.backendTriggerIdTaken(run.key, run.id), {
      details: { field: 'id', key: run.key, id: run.id, holder: answer.holder },
    });
  }
  return { created: answer.created === true, run: toSummary(answer.run, fn) };
}

export async function getRun(pool: Pool, s: string, lookup: RunLookup): Promise<StoredRun | null> {
  const { rows } = await pool.query<{ run: unknown }>(
    `SELECT ${s}.run_json(rr, jj) AS run FROM ${s}.runs rr JOIN ${s}.jobs jj ON jj.key = rr.job_key
     WHERE rr.id = $2 AND CASE WHEN $1::text IS NOT NULL THEN rr.job_key = $1::text
       ELSE rr.kind = 'trigger' AND rr.job_key = (SELECT ti.job_key FROM ${s}.trigger_ids ti WHERE ti.tenant = $3 AND ti.id = $2) END`,
    [lookup.key ?? null, lookup.id, lookup.tenantId ?? ''],
  );
  return rows.length === 0 ? null : toStoredRun(rows[0]!.run, 'getRun');
}

export async function listRuns(pool: Pool, s: string, query: RunQuery): Promise<RunPage> {
  const limit = query.limit;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new SchedkitError(ErrorCode.InvalidArgument, messages.invalidArgument('listRuns', 'limit', `expected an integer from 1 to ${MAX_PAGE}, got ${String(limit)}`), {
      details: { field: 'limit' },
    });
  }
  const after = query.cursor == null ? null : parseRunCursor(query.cursor);
  const { rows } = await pool.query<{ run: unknown; job_key: string; id: string }>(
    `SELECT ${s}.run_json(rr, jj) AS run, rr.job_key, rr.id FROM ${s}.runs rr JOIN ${s}.jobs jj ON jj.key = rr.job_key
     WHERE rr.state IN ('pending', 'active')
       AND ($1::text IS NULL OR rr.job_key = $1::text)
       AND ($2::text IS NULL OR coalesce(jj.tenant, '') = $2::text)
       AND ($3::text IS NULL OR $3::text = CASE WHEN rr.state = 'active' THEN 'running'
         WHEN rr.attempt > 1 THEN 'retrying' ELSE 'pending' END)
       AND ($4::text IS NULL OR (rr.job_key, rr.id) > ($4::text, $5::text))
     ORDER BY rr.job_key, rr.id LIMIT $6`,
    [query.key ?? null, query.key === undefined ? (query.tenantId ?? null) : null, query.state ?? null, after?.[0] ?? null, after?.[1] ?? null, limit + 1],
  );
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    runs: page.map((row) => toStoredRun(row.run, 'listRuns')),
    cursor: rows.length > limit && last !== undefined ? runCursor([last.job_key, last.id]) : null,
  };
}

/** A cancel_run / reschedule_run answer: the status and the run (null when not found). */
function change<S extends string>(answer: unknown, fn: string): { status: S; run: StoredRun | null } {
  const reply = object(answer, fn);
  return { status: reply.status as S, run: reply.run == null ? null : toStoredRun(reply.run, fn) };
}

export async function cancelRun(pool: Pool, s: string, historyLimit: number, cancel: RunCancel): Promise<RunCancelResult> {
  const { rows } = await pool.query<{ result: unknown }>(`SELECT ${s}.cancel_run($1, $2, $3, $4, $5) AS result`, [
    cancel.key,
    cancel.id,
    String(cancel.instanceId),
    cancel.abort === true,
    historyLimit,
  ]);
  return change<RunCancelResult['status']>(rows[0]?.result, 'cancel_run');
}

export async function rescheduleRun(pool: Pool, s: string, historyLimit: number, reschedule: RunReschedule): Promise<RunRescheduleResult> {
  const { rows } = await pool.query<{ result: unknown }>(`SELECT ${s}.reschedule_run($1, $2, $3, $4, $5) AS result`, [
    reschedule.key,
    reschedule.id,
    String(reschedule.instanceId),
    finite('rescheduleRun', 'at', reschedule.at),
    historyLimit,
  ]);
  return change<RunRescheduleResult['status']>(rows[0]?.result, 'reschedule_run');
}
