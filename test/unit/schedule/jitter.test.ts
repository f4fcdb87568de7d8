import { describe, expect, it } from 'vitest';
import { jitterOffset } from '../../../src/schedule/jitter.js';

describe('jitterOffset', () => {
  it('is deterministic: the same (job, slot, jitter) gives the same offset, pinned across versions', () => {
    const slot = Date.parse('2026-01-01T00:00:00Z');
    const a = jitterOffset('/report', slot, 30_000);
    expect(jitterOffset('/report', slot, 30_000)).toBe(a);
    // Pinned: every instance (and every release) must compute this same value.
    expect([jitterOffset('/report', slot, 30_000), jitterOffset('acme/report', slot, 30_000), jitterOffset('/report', slot + 3_600_000, 30_000)]).toMatchInlineSnapshot(`
      [
        25538,
        27873,
        16015,
      ]
    `);
  });

  it('is 0 without jitter and always in [0, jitterMs)', () => {
    expect(jitterOffset('/x', 1_000, 0)).toBe(0);
    for (let i = 0; i < 2_000; i++) {
      const jitter = 1 + (i % 997);
      const offset = jitterOffset(`t${i % 13}/job-${i}`, 1_767_225_600_000 + i * 60_000, jitter);
      expect(Number.isInteger(offset)).toBe(true);
      expect(offset).toBeGreaterThanOrEqual(0);
      expect(offset).toBeLessThan(jitter);
    }
    expect(jitterOffset('/x', 1_000, 1)).toBe(0);
  });

  it('spreads 1,000 jobs on one cron time over the window', () => {
    const slot = Date.parse('2026-01-01T10:00:00Z');
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 1_000; i++) buckets[Math.floor(jitterOffset(`acme/job-${i}`, slot, 30_000) / 3_000)]!++;
    // Uniform would be 100 per bucket; each within a loose band.
    for (const count of buckets) {
      expect(count).toBeGreaterThan(60);
      expect(count).toBeLessThan(140);
    }
  });

  it('differs from slot to slot of one job', () => {
    const offsets = new Set<number>();
    for (let i = 0; i < 100; i++) offsets.add(jitterOffset('/report', Date.parse('2026-01-01T00:00:00Z') + i * 3_600_000, 60_000));
    expect(offsets.size).toBeGreaterThan(90);
  });
});
