import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';
import { messages } from '../errors/messages.js';
import { MAX_TIMER_MS } from '../clock/timer-limit.js';
import type { AcquireOptions, UsingOptions } from './distributed-lock.js';

// The input rules every DistributedLock applies, in one place so every
// implementation rejects the same calls with the same words.

const MAX_RESOURCE_LENGTH = 1000;
const TTL_RULE = `must be a positive integer of at most ${MAX_TIMER_MS} ms`;

function isTtl(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= MAX_TIMER_MS;
}

function invalid(call: string, field: string, why: string): SchedkitError {
  return new SchedkitError(ErrorCode.InvalidArgument, messages.invalidArgument(call, field, why), { details: { field } });
}

/** Rejects a bad `acquire` call with `E_INVALID_ARGUMENT` naming the field. */
export function assertAcquire(resource: unknown, options: AcquireOptions | undefined, call = 'lock.acquire'): void {
  if (typeof resource !== 'string' || resource.length === 0 || resource.length > MAX_RESOURCE_LENGTH) {
    throw invalid(call, 'resource', `must be a non-empty string of at most ${MAX_RESOURCE_LENGTH} characters`);
  }
  if (typeof options !== 'object' || options === null) throw invalid(call, 'options', 'must be an object with ttlMs');
  if (!isTtl(options.ttlMs)) throw invalid(call, 'ttlMs', TTL_RULE);
  const waitMs = options.waitMs;
  if (waitMs !== undefined && (typeof waitMs !== 'number' || !Number.isFinite(waitMs) || waitMs < 0)) {
    throw invalid(call, 'waitMs', 'must be a finite number >= 0');
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw invalid(call, 'signal', 'must be an AbortSignal');
}

/**
 * Rejects a bad `using` call before anything is acquired: the acquire rules,
 * then `refreshMs` (below `ttlMs`) and `fn`. Returns the refresh period.
 */
export function assertUsing(resource: unknown, options: UsingOptions | undefined, fn: unknown): number {
  assertAcquire(resource, options, 'lock.using');
  const { ttlMs, refreshMs = Math.max(1, Math.floor(ttlMs / 3)) } = options!;
  if (typeof refreshMs !== 'number' || !Number.isFinite(refreshMs) || refreshMs <= 0 || refreshMs >= ttlMs) {
    throw invalid('lock.using', 'refreshMs', `must be a positive number below ttlMs (${ttlMs})`);
  }
  if (typeof fn !== 'function') throw invalid('lock.using', 'fn', 'must be a function');
  return refreshMs;
}

/** Rejects a bad `extend(ttlMs)` with `E_INVALID_ARGUMENT`. */
export function assertExtendTtl(ttlMs: unknown): void {
  if (!isTtl(ttlMs)) throw invalid('lease.extend', 'ttlMs', TTL_RULE);
}
