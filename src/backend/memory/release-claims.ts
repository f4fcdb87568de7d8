import type { RunLedger } from './run-ledger.js';

/**
 * Gives back the runs `instanceId` claimed under one of `runIds`: each goes
 * back to pending, same attempt, due at `now` (release-claims.lua). Returns
 * how many were given back.
 */
export function releaseClaims(runs: RunLedger, instanceId: string, runIds: readonly string[], now: number): number {
  const wanted = new Set(runIds);
  let released = 0;
  for (const record of runs.active) {
    if (record.instanceId !== instanceId || !wanted.has(record.runId)) continue;
    runs.deactivate(record);
    // It never started; a cancel asked meanwhile holds, so it is not given back.
    if (record.cancelRequested) runs.retire(record, 'cancelled', now);
    else runs.pending.toPending(record, now);
    released++;
  }
  return released;
}
