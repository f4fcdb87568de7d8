/**
 * The conformance suites as `schedkit/backend` publishes them. Each loads
 * its suite (and with it vitest) only when called, so importing
 * `schedkit/backend` for `KeyTable` or `SchedkitError` never touches vitest,
 * which refuses to load outside its runner. Await them at the top level of a
 * vitest test file: vitest collects the tests they register while the file
 * is being imported.
 */
import type { BackendHarness, LockHarness } from './harness.js';

/**
 * Registers the `Backend` contract as vitest tests: jobs and definitions,
 * slot claims, due runs, finishing and retrying runs, stalled runs, history,
 * removal, change notifications. `makeHarness` answers a fresh backend (its
 * own namespace) for every test, with a way to move its clock.
 *
 * @example
 * // my-backend.test.ts
 * import { describeBackendConformance } from 'schedkit/backend';
 * await describeBackendConformance('my-backend', async () => ({ backend: new MyBackend(), advance: (ms) => sleep(ms), close: async () => {} }));
 */
export async function describeBackendConformance(label: string, makeHarness: () => Promise<BackendHarness>): Promise<void> {
  const suite = await import('./backend-conformance.js');
  suite.describeBackendConformance(label, makeHarness);
}

/**
 * Registers the part of the `Backend` contract where runs are held back and
 * where one call meets many runs, as vitest tests: a paused job's runs and an
 * exclusive job's catch-ups wait out of the due index and come back in due
 * order; removing a job, reaping and giving back claims reach every run
 * however many there are. Run it next to `describeBackendConformance`, with
 * the same harness.
 */
export async function describeHeldRunsConformance(label: string, makeHarness: () => Promise<BackendHarness>): Promise<void> {
  const suite = await import('./held-runs-conformance.js');
  suite.describeHeldRunsConformance(label, makeHarness);
}

/**
 * Registers the `DistributedLock` contract as vitest tests: mutual
 * exclusion, leases and their refresh, fencing tokens, waiting, release and
 * what a paused holder finds when it wakes. `makeHarness` answers a fresh
 * lock for every test, with ways to move and to freeze its clock.
 */
export async function describeLockConformance(label: string, makeHarness: () => Promise<LockHarness>): Promise<void> {
  const suite = await import('./lock-conformance.js');
  suite.describeLockConformance(label, makeHarness);
}
