import type { Backend, JobUpsert } from '../backend/backend.js';
import type { DistributedLock } from '../lock/distributed-lock.js';

/**
 * What a backend under test comes with. Each test gets a fresh harness (its
 * own namespace), so tests never see each other's jobs.
 */
export interface BackendHarness {
  backend: Backend;
  /** Moves backend time forward by `ms`: a fake clock for memory, a real wait for Redis. */
  advance(ms: number): Promise<void>;
  /** Frees everything the harness started (connections, key prefix). */
  close(): Promise<void>;
}

/** What a lock under test comes with. Each test gets a fresh harness. */
export interface LockHarness {
  lock: DistributedLock;
  /** Moves lock time forward by `ms` with timers running: a fake clock for memory, a real wait for Redis. */
  advance(ms: number): Promise<void>;
  /**
   * Moves lock time forward by `ms` while this process's timers cannot run,
   * as when the process is paused (GC, SIGSTOP), then lets the overdue timers
   * run. Memory: jump the fake clock, then fire what is overdue. Redis: block
   * the event loop for `ms`, then yield. This is how a test loses a lease
   * that is being refreshed in the background.
   */
  freeze(ms: number): Promise<void>;
  close(): Promise<void>;
}

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
    rateLimit: null,
    runOnStart: null,
    ...overrides,
  };
}
