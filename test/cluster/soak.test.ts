import { describe, expect, it } from 'vitest';
import { formatSummary, runSoak } from '../soak/soak.js';

// The 60-second version of `npm run soak` (issue 5, part 6): 4 instance
// processes, 200 jobs every second, one-off triggers, kill -9 and restart of
// instances, then the ledger (rules in test/soak/soak.ts).
describe('cluster: 60-second soak with kill -9 and restarts', () => {
  it('0 duplicate slots, 0 missed slots, 0 lost one-off runs, flat heap', async () => {
    const summary = await runSoak({ minutes: 1 });
    const text = formatSummary(summary);
    console.log(text);
    expect(summary.duplicates, text).toEqual([]);
    expect(summary.missed, text).toEqual([]);
    expect(summary.lost, text).toEqual([]);
    expect(summary.slotRuns, text).toBe(summary.slotsExpected);
    expect(summary.triggersAcked, text).toBeGreaterThan(100);
    expect(summary.kills.length, text).toBeGreaterThanOrEqual(2);
    expect(summary.heap.find((h) => h.instance === 'node-1.1'), text).toBeDefined();
    for (const h of summary.heap) expect(h.flat, `${h.instance}: ${text}`).toBe(true);
    expect(summary.ok, text).toBe(true);
  }, 150_000);
});
