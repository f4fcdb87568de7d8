import type { ClaimedRun, DueRunsClaim, DueRunsClaimed } from '../backend.js';
import type { RateWindows } from './rate-windows.js';
import type { RunLedger } from './run-ledger.js';
import type { RunRecord } from './run-record.js';

/**
 * Claims pending runs whose due time has passed at backend time `now`, oldest
 * due first, for the jobs in `request.keys` (claim-due-runs.lua), and answers
 * when the next pending run is due. A run whose job's rate limit (in
 * `rates`) is used up stays pending, due when the window has room.
 */
export function claimDueRuns(runs: RunLedger, rates: RateWindows, request: DueRunsClaim, now: number): DueRunsClaimed {
  const claimed: ClaimedRun[] = [];
  const deferred: RunRecord[] = [];
  // Each pass pops one heap entry, so the loop ends when the heap holds
  // nothing due; deferred entries (runs of jobs outside the filter) are
  // pushed back afterwards, not re-read. Runs that became unclaimable while
  // in the heap (job paused, an exclusive run started) leave it until they
  // may run, so no later poll reads them (see `PendingRuns.place`).
  while (claimed.length < request.runIds.length) {
    const top = runs.pending.due.peek();
    if (top === undefined || top.dueAt > now) break;
    runs.pending.due.pop();
    if (top.state !== 'pending') {
      runs.pending.due.stale--;
      continue;
    }
    const job = top.job;
    if (job.paused || (top.exclusive && job.activity !== undefined && job.activity.activeExclusive > 0)) {
      runs.pending.place(top);
      continue;
    }
    if (request.keys !== undefined && !request.keys.has(job.key)) {
      deferred.push(top);
      continue;
    }
    const limit = job.rateLimit;
    if (limit !== null) {
      const waitMs = rates.waitMs(limit, now);
      if (waitMs > 0) {
        // Popped already: pending again at its new due time, in order behind
        // the runs already due then.
        runs.pending.toPending(top, now + waitMs);
        continue;
      }
      rates.take(limit, now);
    }
    const runId = request.runIds[claimed.length]!;
    runs.activate(top, runId, request.instanceId, request.leaseMs, now);
    claimed.push(top.claimed());
  }
  for (const record of deferred) runs.pending.due.push(record);
  return { runs: claimed, nextDueAt: runs.pending.earliestDue() };
}
