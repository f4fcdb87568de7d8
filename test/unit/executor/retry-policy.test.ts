import { describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_RETRY_POLICY,
  NO_RETRY_POLICY,
  resolveRetryPolicy,
  retryDelayMs,
  type RetryOptions,
  type RetryPolicy,
} from '../../../src/executor/retry-policy.js';

const ALMOST_ONE = 0.9999999999;

function policy(options: RetryOptions): RetryPolicy {
  const { policy: p, problems } = resolveRetryPolicy(options);
  expect(problems).toEqual([]);
  return p;
}

/** Delays for retries 1..n. */
function delays(p: RetryPolicy, n: number): number[] {
  return Array.from({ length: n }, (_, i) => retryDelayMs(p, i + 1, () => 0.5));
}

describe('retryDelayMs: backoff strategies (jitter none)', () => {
  it('exponential: initial * multiplier^(n-1), capped at maxDelayMs', () => {
    const p = policy({ strategy: 'exponential', initialDelayMs: 1_000, multiplier: 2, maxDelayMs: 30_000, jitter: 'none' });
    expect(delays(p, 7)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  });

  it('exponential with another multiplier and a fractional one', () => {
    expect(delays(policy({ initialDelayMs: 100, multiplier: 3, maxDelayMs: 5_000, jitter: 'none' }), 5)).toEqual([
      100, 300, 900, 2_700, 5_000,
    ]);
    expect(delays(policy({ initialDelayMs: 1_000, multiplier: 1.5, maxDelayMs: 10_000, jitter: 'none' }), 4)).toEqual([
      1_000, 1_500, 2_250, 3_375,
    ]);
    // multiplier 1 is a fixed delay
    expect(delays(policy({ initialDelayMs: 700, multiplier: 1, jitter: 'none' }), 3)).toEqual([700, 700, 700]);
  });

  it('linear: initial * n, capped at maxDelayMs', () => {
    const p = policy({ strategy: 'linear', initialDelayMs: 1_000, maxDelayMs: 3_500, jitter: 'none' });
    expect(delays(p, 5)).toEqual([1_000, 2_000, 3_000, 3_500, 3_500]);
  });

  it('fixed: initial every time, whatever the multiplier', () => {
    const p = policy({ strategy: 'fixed', initialDelayMs: 2_500, multiplier: 10, jitter: 'none' });
    expect(delays(p, 4)).toEqual([2_500, 2_500, 2_500, 2_500]);
  });

  it('fixed is capped too when maxDelayMs equals initialDelayMs', () => {
    const p = policy({ strategy: 'fixed', initialDelayMs: 2_000, maxDelayMs: 2_000, jitter: 'none' });
    expect(retryDelayMs(p, 1)).toBe(2_000);
  });

  it.each([1_000, 1e6, Number.MAX_SAFE_INTEGER, 1e308, Number.POSITIVE_INFINITY])(
    'caps huge retry numbers (%d) at maxDelayMs for exponential and linear',
    (n) => {
      const exp = policy({ strategy: 'exponential', jitter: 'none' });
      const lin = policy({ strategy: 'linear', jitter: 'none' });
      expect(retryDelayMs(exp, n)).toBe(30_000);
      expect(retryDelayMs(lin, n)).toBe(30_000);
      expect(Number.isFinite(retryDelayMs(policy({ jitter: 'full' }), n, () => 0.5))).toBe(true);
    },
  );

  it('keeps a zero initial delay at 0 for huge retry numbers (0 * Infinity would be NaN)', () => {
    const exp = policy({ initialDelayMs: 0, jitter: 'none' });
    const lin = policy({ strategy: 'linear', initialDelayMs: 0, jitter: 'none' });
    expect(retryDelayMs(exp, 5_000)).toBe(0);
    expect(retryDelayMs(lin, Number.POSITIVE_INFINITY)).toBe(0);
    expect(retryDelayMs(exp, 5_000, () => 0.5)).toBe(0);
  });

  it.each([0, -3, 0.5, Number.NaN])('treats retry %d as the first retry', (n) => {
    const p = policy({ initialDelayMs: 1_000, jitter: 'none' });
    expect(retryDelayMs(p, n)).toBe(1_000);
  });

  it('floors a fractional retry number', () => {
    const p = policy({ initialDelayMs: 1_000, jitter: 'none' });
    expect(retryDelayMs(p, 2.9)).toBe(2_000);
  });

  it('does not call random without jitter', () => {
    const random = vi.fn(() => 0.5);
    retryDelayMs(policy({ jitter: 'none' }), 3, random);
    expect(random).not.toHaveBeenCalled();
  });
});

describe('retryDelayMs: jitter', () => {
  // exponential defaults: retry 3 -> 4000 before jitter; retry 10 -> capped 30000
  const full = policy({ jitter: 'full' });
  const equal = policy({ jitter: 'equal' });

  it('full: uniform in [0, d): 0 at random=0, d-1 just below 1', () => {
    expect(retryDelayMs(full, 3, () => 0)).toBe(0);
    expect(retryDelayMs(full, 3, () => ALMOST_ONE)).toBe(3_999);
    expect(retryDelayMs(full, 3, () => 0.5)).toBe(2_000);
    expect(retryDelayMs(full, 10, () => ALMOST_ONE)).toBe(29_999);
  });

  it('equal: d/2 + uniform in [0, d/2): d/2 at random=0, d-1 just below 1', () => {
    expect(retryDelayMs(equal, 3, () => 0)).toBe(2_000);
    expect(retryDelayMs(equal, 3, () => ALMOST_ONE)).toBe(3_999);
    expect(retryDelayMs(equal, 3, () => 0.5)).toBe(3_000);
    expect(retryDelayMs(equal, 10, () => 0)).toBe(15_000);
    expect(retryDelayMs(equal, 10, () => ALMOST_ONE)).toBe(29_999);
  });

  it('calls random exactly once per delay', () => {
    const random = vi.fn(() => 0.25);
    retryDelayMs(full, 2, random);
    retryDelayMs(equal, 2, random);
    expect(random).toHaveBeenCalledTimes(2);
  });

  it('stays within bounds for many random values, including the real Math.random', () => {
    let seed = 12345;
    const lcg = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let retry = 1; retry <= 12; retry++) {
      const d = Math.min(1_000 * 2 ** (retry - 1), 30_000);
      for (let i = 0; i < 200; i++) {
        const f = retryDelayMs(full, retry, lcg);
        expect(f).toBeGreaterThanOrEqual(0);
        expect(f).toBeLessThan(d);
        const e = retryDelayMs(equal, retry, lcg);
        expect(e).toBeGreaterThanOrEqual(d / 2);
        expect(e).toBeLessThan(d);
        const r = retryDelayMs(full, retry);
        expect(r >= 0 && r < d).toBe(true);
      }
    }
  });
});

describe('resolveRetryPolicy', () => {
  it('has the documented defaults, frozen', () => {
    expect(DEFAULT_RETRY_POLICY).toEqual({
      maxRetries: 3,
      strategy: 'exponential',
      initialDelayMs: 1_000,
      maxDelayMs: 30_000,
      multiplier: 2,
      jitter: 'full',
    });
    expect(Object.isFrozen(DEFAULT_RETRY_POLICY)).toBe(true);
    expect(NO_RETRY_POLICY.maxRetries).toBe(0);
    expect(Object.isFrozen(NO_RETRY_POLICY)).toBe(true);
  });

  it('returns the base for undefined and the no-retry policy for false', () => {
    expect(resolveRetryPolicy(undefined)).toEqual({ policy: DEFAULT_RETRY_POLICY, problems: [] });
    expect(resolveRetryPolicy(false)).toEqual({ policy: NO_RETRY_POLICY, problems: [] });
    const base = policy({ maxRetries: 9 });
    expect(resolveRetryPolicy(undefined, base).policy).toBe(base);
  });

  it('fills missing and undefined fields from the base and freezes the result', () => {
    const { policy: p, problems } = resolveRetryPolicy({ maxRetries: 5, jitter: undefined, strategy: 'linear' });
    expect(problems).toEqual([]);
    expect(p).toEqual({ ...DEFAULT_RETRY_POLICY, maxRetries: 5, strategy: 'linear' });
    expect(Object.isFrozen(p)).toBe(true);

    const base = policy({ initialDelayMs: 50, maxDelayMs: 500 });
    expect(resolveRetryPolicy({ maxRetries: 1 }, base).policy).toEqual({ ...base, maxRetries: 1 });
  });

  it('accepts the boundaries', () => {
    expect(resolveRetryPolicy({ maxRetries: 0 }).problems).toEqual([]);
    expect(resolveRetryPolicy({ maxRetries: 1000 }).problems).toEqual([]);
    expect(resolveRetryPolicy({ initialDelayMs: 0, maxDelayMs: 0 }).problems).toEqual([]);
    expect(resolveRetryPolicy({ multiplier: 1 }).problems).toEqual([]);
  });

  const bad: Array<[string, unknown, string]> = [
    ['maxRetries', -1, 'retry.maxRetries must be an integer from 0 to 1000'],
    ['maxRetries', 1.5, 'retry.maxRetries must be an integer from 0 to 1000'],
    ['maxRetries', 1001, 'retry.maxRetries must be an integer from 0 to 1000'],
    ['maxRetries', '3', 'retry.maxRetries must be an integer from 0 to 1000'],
    ['strategy', 'quadratic', 'retry.strategy must be one of exponential, linear, fixed'],
    ['jitter', 'half', 'retry.jitter must be one of none, full, equal'],
    ['jitter', true, 'retry.jitter must be one of none, full, equal'],
    ['initialDelayMs', -1, 'retry.initialDelayMs must be a finite number >= 0'],
    ['initialDelayMs', Number.NaN, 'retry.initialDelayMs must be a finite number >= 0'],
    ['initialDelayMs', Number.POSITIVE_INFINITY, 'retry.initialDelayMs must be a finite number >= 0'],
    ['maxDelayMs', -5, 'retry.maxDelayMs must be a finite number >= 0'],
    ['maxDelayMs', '100', 'retry.maxDelayMs must be a finite number >= 0'],
    ['maxDelayMs', 999, 'retry.maxDelayMs must be >= retry.initialDelayMs'],
    ['multiplier', 0.5, 'retry.multiplier must be a finite number >= 1'],
    ['multiplier', Number.NaN, 'retry.multiplier must be a finite number >= 1'],
    ['multiplier', '2', 'retry.multiplier must be a finite number >= 1'],
  ];

  it.each(bad)('rejects %s = %s with a message naming the field', (field, value, message) => {
    expect(resolveRetryPolicy({ [field]: value } as RetryOptions).problems).toEqual([message]);
  });

  it.each([5, 'yes', null, true])('rejects a non-object retry (%s)', (value) => {
    const result = resolveRetryPolicy(value as unknown as RetryOptions);
    expect(result.problems).toEqual(['retry must be an object or false']);
    expect(result.policy).toBe(DEFAULT_RETRY_POLICY);
  });

  it('reports every problem at once', () => {
    const { problems } = resolveRetryPolicy({
      maxRetries: -1,
      strategy: 'nope' as never,
      jitter: 'nope' as never,
      initialDelayMs: -1,
      maxDelayMs: -1,
      multiplier: 0,
    });
    expect(problems).toHaveLength(6);
    for (const field of ['maxRetries', 'strategy', 'jitter', 'initialDelayMs', 'maxDelayMs', 'multiplier']) {
      expect(problems.some((p) => p.startsWith(`retry.${field} `))).toBe(true);
    }
  });
});
