import { validate, version } from 'uuid';
import { describe, expect, it } from 'vitest';
import { newRunId } from '../../../src/job/run-id.js';

describe('newRunId', () => {
  it('makes valid, unique uuid v7 ids in increasing order, across refills of its random pool', () => {
    // 1,000 ids span several refills of the 256-id pool.
    const ids = Array.from({ length: 1_000 }, () => newRunId());
    for (const id of ids) {
      expect(validate(id)).toBe(true);
      expect(version(id)).toBe(7);
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('does not reuse random bytes after a refill', () => {
    const ids = Array.from({ length: 600 }, () => newRunId());
    const tails = ids.map((id) => id.slice(-12));
    expect(new Set(tails).size).toBe(tails.length);
  });
});
