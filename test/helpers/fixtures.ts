import type { JobUpsert } from '../../src/backend/backend.js';

/** The error a promise rejects with; fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** A job as `upsertJobs` takes it: key `tenant/name` (or `/name`), a one-minute interval by default. */
export function jobUpsert(key: string, overrides: Partial<JobUpsert> = {}): JobUpsert {
  const slash = key.indexOf('/');
  const tenant = key.slice(0, slash);
  return {
    key,
    name: key.slice(slash + 1),
    tenantId: tenant === '' ? undefined : tenant,
    schedule: { kind: 'interval', everyMs: 60_000, anchor: '1970-01-01T00:00:00.000Z' },
    definitionHash: 'h1',
    definedAt: 1_000,
    nextRunAt: null,
    limit: null,
    ...overrides,
  };
}

/** Resolves after `ms` of real time. */
export const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `condition` holds, polling every 20 ms; rejects after `timeoutMs`. */
export async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await wait(20);
  }
}
