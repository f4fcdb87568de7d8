/**
 * The records `PostgresBackend` reads back from its functions' JSON answers.
 * The functions answer the contract's shapes already (StoredJob, ClaimedRun,
 * HistoryEntry ...); what JSON cannot say is said here once: a null tenant
 * or params is `undefined` in the contract.
 */
import { messages } from '../../errors/messages.js';
import type { ClaimedRun, HistoryEntry, RunSummary, SlotClaimResult, StalledRun, StoredJob, StoredRun } from '../backend.js';

type Json = Record<string, unknown>;

/** A JSON object, or an error naming the function whose answer had another shape. */
export function object(value: unknown, fn: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw unexpectedAnswer(fn, 'not an object');
  return value as Json;
}

/** A JSON array, or an error naming the function. */
export function list(value: unknown, fn: string): unknown[] {
  if (!Array.isArray(value)) throw unexpectedAnswer(fn, 'not an array');
  return value;
}

/**
 * An answer that does not have the shape the function promises: a bug, or a
 * schema changed by something else. Deliberately not a `SchedkitError`: the
 * scheduler logs it as a failed call (not an outage).
 */
export function unexpectedAnswer(fn: string, why: string): Error {
  return new Error(messages.postgresUnexpectedAnswer(fn, why));
}

export function toStoredJob(value: unknown, fn: string): StoredJob {
  const job = object(value, fn) as unknown as Omit<StoredJob, 'tenantId'> & { tenantId: string | null };
  return { ...job, tenantId: job.tenantId ?? undefined };
}

export function toClaimedRun(value: unknown, fn: string): ClaimedRun {
  const run = object(value, fn) as unknown as Omit<ClaimedRun, 'params'> & { params: string | null };
  return { ...run, params: run.params ?? undefined };
}

export function toStoredRun(value: unknown, fn: string): StoredRun {
  const run = object(value, fn) as unknown as Omit<StoredRun, 'tenantId' | 'params'> & { tenantId: string | null; params: string | null };
  return { ...run, tenantId: run.tenantId ?? undefined, params: run.params ?? undefined };
}

export function toSummary(value: unknown, fn: string): RunSummary {
  return object(value, fn) as unknown as RunSummary;
}

export function toHistoryEntry(value: unknown, fn: string): HistoryEntry {
  return object(value, fn) as unknown as HistoryEntry;
}

export function toStalledRun(value: unknown, fn: string): StalledRun {
  return object(value, fn) as unknown as StalledRun;
}

/** One claim_slot answer as `SlotClaimResult`. */
export function toSlotClaimResult(value: unknown, fn: string): SlotClaimResult {
  const reply = object(value, fn);
  switch (reply.status) {
    case 'claimed':
      return { status: 'claimed', run: toClaimedRun(reply.run, fn) };
    case 'buffered':
      return { status: 'buffered', run: toSummary(reply.run, fn) };
    case 'superseded':
      return { status: 'superseded', stored: toStoredJob(reply.stored, fn) };
    case 'early':
    case 'limited':
      return { status: reply.status, retryInMs: Number(reply.retryInMs) };
    case 'taken':
    case 'skipped':
    case 'paused':
    case 'completed':
    case 'removed':
      return { status: reply.status };
    default:
      throw unexpectedAnswer(fn, `unknown status ${String(reply.status)}`);
  }
}
