import type { ActiveRunRef, JobUpsert, RateLimit, RunFinish, SlotClaim } from '../backend.js';
import { ErrorCode, SchedkitError } from '../../errors/schedkit-error.js';
import { messages } from '../../errors/messages.js';
import { isValidJobKey, isValidRunId } from './keys.js';
import type { ScriptArg } from './scripts.js';

/**
 * How `RedisBackend` turns call arguments into script arguments: every
 * number checked finite and sent in its exact text form, every key and run id
 * checked against the stored charset. Separate from the backend so each
 * check exists once and every script call encodes the same way.
 */

export function assertJobKey(call: string, key: unknown): asserts key is string {
  if (!isValidJobKey(key)) {
    throw new SchedkitError(ErrorCode.InvalidArgument, messages.invalidBackendKey(call, 'job key', key), {
      details: { field: 'key' },
    });
  }
}

export function assertRunId(call: string, id: unknown): asserts id is string {
  if (!isValidRunId(id)) {
    throw new SchedkitError(ErrorCode.InvalidArgument, messages.invalidBackendRunId(call, id), { details: { field: 'id' } });
  }
}

/** A number as script argument text (exact: JS prints the shortest round-trip form). */
export function numArg(call: string, field: string, value: number): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new SchedkitError(ErrorCode.InvalidArgument, messages.invalidBackendNumber(call, field, value), {
      details: { field },
    });
  }
  return String(value);
}

/** A nullable number: `''` stands for null. */
export function nullableArg(call: string, field: string, value: number | null): string {
  return value === null ? '' : numArg(call, field, value);
}

export { stalledTextParts } from '../stalled-text.js';

/** One job's arguments to upsert-jobs.lua (thirteen per job). */
export function encodeJobUpsert(job: JobUpsert): string[] {
  assertJobKey('upsertJobs', job.key);
  return [
    job.key,
    String(job.name),
    job.tenantId === undefined ? '0' : '1',
    job.tenantId ?? '',
    JSON.stringify(job.schedule ?? null),
    String(job.definitionHash),
    nullableArg('upsertJobs', 'definedAt', job.definedAt),
    nullableArg('upsertJobs', 'nextRunAt', job.nextRunAt),
    nullableArg('upsertJobs', 'limit', job.limit),
    ...encodeRateLimit(job.rateLimit ?? null),
    job.runOnStart ? numArg('upsertJobs', 'runOnStart.maxAttempts', job.runOnStart.maxAttempts) : '',
  ];
}

/** A rate limit as three upsert arguments: key ('' = none), max, perMs. */
function encodeRateLimit(rate: RateLimit | null): string[] {
  if (rate === null) return ['', '', ''];
  if (!isValidRunId(rate.key)) {
    throw new SchedkitError(ErrorCode.InvalidArgument, messages.invalidBackendRateKey('upsertJobs', rate.key), {
      details: { field: 'rateLimit.key' },
    });
  }
  return [rate.key, numArg('upsertJobs', 'rateLimit.max', rate.max), numArg('upsertJobs', 'rateLimit.perMs', rate.perMs)];
}

/** One claim's arguments to claim-slots.lua (twelve per claim). */
export function encodeSlotClaim(claim: SlotClaim): ScriptArg[] {
  assertRunId('claimSlot', claim.runId);
  return [
    claim.key,
    numArg('claimSlot', 'slot', claim.slot),
    claim.runId,
    String(claim.instanceId),
    numArg('claimSlot', 'leaseMs', claim.leaseMs),
    String(claim.definitionHash),
    claim.overlap,
    nullableArg('claimSlot', 'nextRunAt', claim.nextRunAt),
    claim.requeueOnStall ? '1' : '0',
    numArg('claimSlot', 'maxAttempts', claim.maxAttempts),
    claim.skip === 'excluded' || claim.skip === 'rate-limited' ? claim.skip : '',
    (claim.previousSlots ?? []).map((slot) => numArg('claimSlot', 'previousSlots', slot)).join(','),
  ];
}

/** One finish's arguments to finish-runs.lua (eleven per run). */
export function encodeRunFinish(finish: RunFinish): ScriptArg[] {
  return [
    finish.key,
    finish.id,
    numArg('finishRun', 'fencingToken', finish.fencingToken),
    String(finish.instanceId),
    finish.outcome,
    finish.error === null ? '0' : '1',
    finish.error ?? '',
    numArg('finishRun', 'durationMs', finish.durationMs),
    numArg('finishRun', 'endedMsAgo', finish.endedMsAgo ?? 0),
    finish.retryInMs === undefined ? '' : numArg('finishRun', 'retryInMs', finish.retryInMs),
    finish.requeueInMs === undefined ? '' : numArg('finishRun', 'requeueInMs', finish.requeueInMs),
  ];
}

/** The arguments to heartbeat.lua (three per run) and which of `runs` they stand for. */
export function encodeRunRefs(runs: readonly ActiveRunRef[]): { args: ScriptArg[]; positions: number[] } {
  const args: ScriptArg[] = [];
  const positions: number[] = [];
  runs.forEach((ref, i) => {
    // An unusable reference cannot name an active run.
    if (!isValidJobKey(ref.key) || !isValidRunId(ref.id) || !Number.isFinite(ref.fencingToken)) return;
    positions.push(i);
    args.push(ref.key, ref.id, String(ref.fencingToken));
  });
  return { args, positions };
}
