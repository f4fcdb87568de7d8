// The conformance suites' fixtures, shared with the other tests.
export { jobUpsert, rejection } from '../../src/conformance/harness.js';

/** Resolves after `ms` of real time. */
export const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Blocks the event loop for `ms` (a paused process: GC, SIGSTOP), then lets
 * the overdue timers run: how a lock test on a real server loses a lease
 * that is refreshed in the background (the harness's `freeze`).
 */
export async function freezeProcess(ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy: no timer, no I/O callback runs
  }
  await wait(20);
}

/** Resolves once `condition` holds, polling every 20 ms; rejects after `timeoutMs`. */
export async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await wait(20);
  }
}
