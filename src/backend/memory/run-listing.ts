/**
 * `listRuns` of the memory backend (list-runs.lua): pending, retrying and
 * running runs ordered by job key, then run id, one page at a time. Separate
 * because paging (the cursor, the bound on runs read per call) is its own
 * rule set, apart from the operations that change runs.
 */
import type { RunPage, RunQuery, StoredRun } from '../backend.js';
import { parseRunCursor, runCursor } from '../run-cursor.js';
import type { JobState } from './job-state.js';
import type { RunRecord } from './run-record.js';

/** Runs read at most per call: a page may end early, with a cursor, past this many. */
export const RUNS_READ_PER_PAGE = 1_000;

/** One page of the runs of `jobs` that `query` asks for. */
export function listRuns(jobs: ReadonlyMap<string, JobState>, query: RunQuery): RunPage {
  const after = query.cursor == null ? null : parseRunCursor(query.cursor);
  const runs: StoredRun[] = [];
  let read = 0;
  let lastRead: [string, string] | null = null;
  let lastReturned: [string, string] | null = null;
  for (const job of candidateJobs(jobs, query, after?.[0])) {
    for (const record of sortedRecords(job)) {
      if (after !== null && job.key === after[0] && record.id <= after[1]) continue;
      if (read >= RUNS_READ_PER_PAGE) return { runs, cursor: runCursor(lastRead!) };
      read++;
      lastRead = [job.key, record.id];
      if (!matches(record, query)) continue;
      // A match past a full page: there is more, from the last run returned.
      if (runs.length >= query.limit) return { runs, cursor: runCursor(lastReturned!) };
      runs.push(record.stored());
      lastReturned = lastRead;
    }
  }
  return { runs, cursor: null };
}

/** Jobs that may hold runs for `query`, by key, from `fromKey` on. */
function candidateJobs(jobs: ReadonlyMap<string, JobState>, query: RunQuery, fromKey: string | undefined): JobState[] {
  if (query.key !== undefined) {
    const job = jobs.get(query.key);
    return job === undefined || (fromKey !== undefined && job.key < fromKey) ? [] : [job];
  }
  const out: JobState[] = [];
  for (const job of jobs.values()) {
    if (job.activity === undefined || job.activity.records.size === 0) continue;
    if (query.tenantId !== undefined && (job.tenantId ?? '') !== query.tenantId) continue;
    if (fromKey !== undefined && job.key < fromKey) continue;
    out.push(job);
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function sortedRecords(job: JobState): RunRecord[] {
  const records = job.activity === undefined ? [] : [...job.activity.records.values()];
  return records.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function matches(record: RunRecord, query: RunQuery): boolean {
  if (record.state !== 'pending' && record.state !== 'active') return false;
  return query.state === undefined || record.runState() === query.state;
}
