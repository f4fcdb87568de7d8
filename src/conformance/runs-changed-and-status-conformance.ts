import { describe, expect, it, vi } from 'vitest';
import type { Backend } from '../backend/backend.js';
import { jobStatus } from '../backend/job-status.js';
import { type BackendSuiteContext } from './backend-suite-context.js';
import { type BackendHarness } from './harness.js';

/**
 * What observers see: `onRunsChanged` listeners, and `jobStatus` of the stored
 * state.
 */
export function describeRunsChangedAndStatus(suite: BackendSuiteContext): void {
  const { upsert, claimOk, enqueue, finishOf, stored } = suite;
  let backend: Backend;
  let harness: BackendHarness;
  suite.onHarness((current) => {
    harness = current;
    backend = current.backend;
  });

  describe('onRunsChanged', () => {
    it('calls listeners when a run is enqueued, until unsubscribed', async () => {
      const now = await backend.time();
      await upsert('/notify');
      let calls = 0;
      const unsubscribe = backend.onRunsChanged(() => {
        calls++;
      });
      await enqueue('/notify', 'n1', now);
      await vi.waitFor(() => expect(calls).toBeGreaterThan(0), { timeout: 2_000, interval: 10 });
      unsubscribe();
      const seen = calls;
      await enqueue('/notify', 'n2', now);
      await harness.advance(50);
      expect(calls).toBe(seen);
    });

    it('calls listeners when a run goes back to pending', async () => {
      const now = await backend.time();
      await upsert('/notify2');
      const run = await claimOk('/notify2', now - 1_000);
      let calls = 0;
      const unsubscribe = backend.onRunsChanged(() => {
        calls++;
      });
      await backend.finishRun(finishOf(run, { outcome: 'failed', error: 'x', retryInMs: 0 }));
      await vi.waitFor(() => expect(calls).toBeGreaterThan(0), { timeout: 2_000, interval: 10 });
      unsubscribe();
    });
  });

  describe('jobStatus of stored state', () => {
    it('reports scheduled, running, paused, completed and failed', async () => {
      const now = await backend.time();
      await upsert('/st');
      expect(jobStatus(await stored('/st'))).toBe('scheduled');
      const run = await claimOk('/st', now - 2_000);
      expect(jobStatus(await stored('/st'))).toBe('running');
      await backend.setPaused('/st', true);
      expect(jobStatus(await stored('/st'))).toBe('paused');
      await backend.setPaused('/st', false);
      await backend.finishRun(finishOf(run, { outcome: 'failed', error: 'boom' }));
      expect(jobStatus(await stored('/st'))).toBe('failed');
      const last = await claimOk('/st', now - 1_000, { nextRunAt: null });
      await backend.finishRun(finishOf(last));
      expect(jobStatus(await stored('/st'))).toBe('completed');
    });
  });
}
