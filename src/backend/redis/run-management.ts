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
import type { RedisClient } from '../../redis/connection.js';
import { RedisKeys, isValidJobKey, isValidRunId } from './keys.js';
import { assertRunId, nullableArg, numArg } from './script-args.js';
import { ScriptCode, isScriptCode, scriptError } from './script-errors.js';
import { RUN_REPLY_LENGTH, decodeStoredRun } from './script-replies.js';
import { array, decodeSummary, optText, text, type ScriptArg } from './scripts.js';

/**
 * The calls of `RedisBackend` that address one run by id: enqueue a one-off
 * run, read one, list a page, cancel and reschedule. Each is one script
 * (enqueue-run, get-run, list-runs, cancel-run, reschedule-run.lua).
 */

/** Runs and jobs one list-runs call reads at most (each call bounded, whatever the page size). */
const LIST_READ_BUDGET = 2_000;

/** The tenant part of a lookup: `''` for jobs without tenant; null when it cannot name a stored tenant. */
function tenantOf(tenantId: string | undefined): string | null {
  if (tenantId === undefined || tenantId === '') return '';
  return isValidRunId(tenantId) ? tenantId : null;
}

export async function enqueueRun(client: RedisClient, keys: RedisKeys, run: RunEnqueue): Promise<{ run: RunSummary; created: boolean }> {
  const script = 'enqueue-run';
  if (!isValidJobKey(run.key)) throw scriptError(ScriptCode.JobNotFound, { script, key: run.key });
  assertRunId('enqueueRun', run.id);
  const reply: unknown = await client.schedkitEnqueueRun(
    keys.job(run.key),
    keys.run(run.key, run.id),
    keys.pending,
    keys.ns,
    run.key,
    run.id,
    nullableArg('enqueueRun', 'dueAt', run.dueAt),
    run.params === undefined ? '0' : '1',
    run.params ?? '',
    numArg('enqueueRun', 'maxAttempts', run.maxAttempts),
    run.scheduledAt === undefined ? '' : numArg('enqueueRun', 'scheduledAt', run.scheduledAt),
  );
  if (isScriptCode(reply)) throw scriptError(reply, { script, key: run.key, id: run.id });
  const values = array(reply, script);
  return { created: values[0] === '1', run: decodeSummary(run.key, values, 1, script) };
}

export async function getRun(client: RedisClient, keys: RedisKeys, lookup: RunLookup): Promise<StoredRun | null> {
  const tenant = tenantOf(lookup.tenantId);
  const key = lookup.key ?? '';
  // Ids and keys outside the stored charset name no stored run.
  if (!isValidRunId(lookup.id) || tenant === null || (key !== '' && !isValidJobKey(key))) return null;
  const reply: unknown = await client.schedkitGetRun(keys.triggerIds(tenant), keys.ns, key, lookup.id);
  if (reply === null || reply === false) return null;
  return decodeStoredRun(array(reply, 'get-run'), 0, 'get-run');
}

export async function listRuns(client: RedisClient, keys: RedisKeys, query: RunQuery): Promise<RunPage> {
  const script = 'list-runs';
  const limit = query.limit;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1_000) {
    throw new SchedkitError(ErrorCode.InvalidArgument, `listRuns: invalid limit ${String(limit)}: expected an integer from 1 to 1000`, {
      details: { field: 'limit' },
    });
  }
  const [cursorKey, cursorId] = decodeCursor(query.cursor);
  const only = query.key;
  let index: string;
  if (only !== undefined) {
    if (!isValidJobKey(only)) return { runs: [], cursor: null };
    index = keys.runs(only);
  } else if (query.tenantId !== undefined) {
    const tenant = tenantOf(query.tenantId);
    if (tenant === null) return { runs: [], cursor: null };
    index = keys.tenantJobs(tenant);
  } else {
    index = keys.jobs;
  }
  const reply = array(
    await client.schedkitListRuns(index, keys.ns, only ?? '', cursorKey, cursorId, query.state ?? '', limit, LIST_READ_BUDGET),
    script,
  );
  const runs: StoredRun[] = [];
  for (let i = 2; i + RUN_REPLY_LENGTH <= reply.length; i += RUN_REPLY_LENGTH) runs.push(decodeStoredRun(reply, i, script));
  const nextKey = optText(reply[0]) ?? '';
  return { runs, cursor: nextKey === '' ? null : `${nextKey}#${optText(reply[1]) ?? ''}` };
}

/** A page cursor (`<job key>#<run id>`, the run id possibly empty) as script arguments. */
function decodeCursor(cursor: string | null | undefined): [string, string] {
  if (cursor === undefined || cursor === null) return ['', ''];
  const at = typeof cursor === 'string' ? cursor.indexOf('#') : -1;
  const key = at < 0 ? '' : cursor.slice(0, at);
  const id = at < 0 ? '' : cursor.slice(at + 1);
  if (!isValidJobKey(key) || (id !== '' && !isValidRunId(id))) {
    throw new SchedkitError(ErrorCode.InvalidArgument, `listRuns: invalid cursor ${JSON.stringify(cursor)}: pass the cursor a previous page answered`, {
      details: { field: 'cursor' },
    });
  }
  return [key, id];
}

/** A cancel-run / reschedule-run reply: the status and the run (none when not found). */
function decodeChange<S extends string>(reply: unknown, script: string): { status: S; run: StoredRun | null } {
  const values = array(reply, script);
  const status = text(values[0], script) as S;
  return { status, run: values.length > 1 ? decodeStoredRun(values, 1, script) : null };
}

/** The arguments cancel-run and reschedule-run.lua start with: the job's and the run's hash, the namespace, job key, run id, who changes it. */
function changeArgs(keys: RedisKeys, change: { key: string; id: string; instanceId: string }): ScriptArg[] {
  return [keys.job(change.key), keys.run(change.key, change.id), keys.ns, change.key, change.id, String(change.instanceId)];
}

export async function cancelRun(client: RedisClient, keys: RedisKeys, historyLimit: number, cancel: RunCancel): Promise<RunCancelResult> {
  if (!isValidJobKey(cancel.key) || !isValidRunId(cancel.id)) return { status: 'not-found', run: null };
  const reply: unknown = await client.schedkitCancelRun(...changeArgs(keys, cancel), cancel.abort ? '1' : '0', historyLimit);
  return decodeChange<RunCancelResult['status']>(reply, 'cancel-run');
}

export async function rescheduleRun(
  client: RedisClient,
  keys: RedisKeys,
  historyLimit: number,
  reschedule: RunReschedule,
): Promise<RunRescheduleResult> {
  const at = numArg('rescheduleRun', 'at', reschedule.at);
  if (!isValidJobKey(reschedule.key) || !isValidRunId(reschedule.id)) return { status: 'not-found', run: null };
  const reply: unknown = await client.schedkitRescheduleRun(...changeArgs(keys, reschedule), at, historyLimit);
  return decodeChange<RunRescheduleResult['status']>(reply, 'reschedule-run');
}
