import { describe } from 'vitest';
import { backendSuiteContext } from './backend-suite-context.js';
import { describeDueRuns } from './due-runs-conformance.js';
import type { BackendHarness } from './harness.js';
import { describeHistoryAndRemoval } from './history-and-removal-conformance.js';
import { describeJobFeatures } from './job-features-conformance.js';
import { describeJobRegistration } from './job-registration-conformance.js';
import { describeRunCancel } from './run-cancel-conformance.js';
import { describeRunFinish } from './run-finish-conformance.js';
import { describeRunLookup } from './run-lookup-conformance.js';
import { describeRunsChangedAndStatus } from './runs-changed-and-status-conformance.js';
import { describeSlotClaims } from './slot-claim-conformance.js';
import { describeStalledRuns } from './stalled-runs-conformance.js';

/**
 * The executable form of the `Backend` contract. Every backend runs this
 * suite unchanged: it uses the public interface only, and all times are
 * relative to `backend.time()` so a backend on a real clock (Redis `TIME`)
 * passes it as well as one on a fake clock.
 *
 * It checks instances and job registration, slot claims and overlap
 * policies, one-off runs and due-run claims, heartbeats, finishes and
 * retries, reaping of stalled runs, history, removal and sweeps, run-change
 * notifications and `jobStatus` of the stored state; reading, cancelling and
 * rescheduling runs; and what job definitions ask beyond the schedule (run
 * on start, rate limits, excluded slots).
 *
 * `makeHarness` is called before every test and must answer a fresh backend
 * in its own namespace (no jobs, runs or instances of other tests), an
 * `advance(ms)` that moves the backend's time forward by `ms` (a fake clock,
 * or a real wait), and a `close()` that frees what the harness started.
 *
 * It registers vitest tests (a `describe` named `Backend conformance: <label>`),
 * so call it at the top level of a vitest test file.
 *
 * @example
 * describeBackendConformance('memory', async () => {
 *   const clock = new FakeClock();
 *   return { backend: new MemoryBackend({ clock }), advance: (ms) => clock.advance(ms), close: async () => {} };
 * });
 */
export function describeBackendConformance(label: string, makeHarness: () => Promise<BackendHarness>): void {
  describe(`Backend conformance: ${label}`, () => {
    const suite = backendSuiteContext(makeHarness);
    describeJobRegistration(suite);
    describeSlotClaims(suite);
    describeDueRuns(suite);
    describeRunFinish(suite);
    describeStalledRuns(suite);
    describeHistoryAndRemoval(suite);
    describeRunsChangedAndStatus(suite);
    describeRunLookup(suite);
    describeRunCancel(suite);
    describeJobFeatures(suite);
  });
}
