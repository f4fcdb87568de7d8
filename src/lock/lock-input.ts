import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';
import { messages } from '../errors/messages.js';
import type { AcquireOptions } from './distributed-lock.js';

// The input rules every DistributedLock applies, in one place so every
// implementation rejects the same calls with the same words.

const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_RESOURCE_LENGTH = 1000;
const TTL_RULE = `must be a positive integer of at most ${MAX_TIMER_MS} ms`;

function isTtl(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= MAX_TIMER_MS;
}

function invalid(call: string, field: string, why: string): SchedkitError {
  return new SchedkitError(ErrorCode.InvalidArgument, messages.invalidArgument(call, field, why), { details: { field } });
}

/** Rejects a bad `acquire` call with `E_INVALID_ARGUMENT` naming the field. */
export function assertAcquire(resource: unknown, options: AcquireOptions | undefined): void {
  if (typeof resource !== 'string' || resource.length === 0 || resource.length > MAX_RESOURCE_LENGTH) {
    throw invalid('lock.acquire', 'resource', `must be a non-empty string of at most ${MAX_RESOURCE_LENGTH} characters`);
  }
  if (typeof options !== 'object' || options === null) throw invalid('lock.acquire', 'options', 'must be an object with ttlMs');
  if (!isTtl(options.ttlMs)) throw invalid('lock.acquire', 'ttlMs', TTL_RULE);
  const waitMs = options.waitMs;
  if (waitMs !== undefined && (typeof waitMs !== 'number' || !Number.isFinite(waitMs) || waitMs < 0)) {
    throw invalid('lock.acquire', 'waitMs', 'must be a finite number >= 0');
  }
}

/** Rejects a bad `extend(ttlMs)` with `E_INVALID_ARGUMENT`. */
export function assertExtendTtl(ttlMs: unknown): void {
  if (!isTtl(ttlMs)) throw invalid('lease.extend', 'ttlMs', TTL_RULE);
}
