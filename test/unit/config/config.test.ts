import { describe, expect, it } from 'vitest';
import { defaultConfig, resolveConfig, type SchedulerConfigInput } from '../../../src/config/config.js';
import { ConfigError, ErrorCode, SchedkitError } from '../../../src/errors/schedkit-error.js';
import { DEFAULT_RETRY_POLICY } from '../../../src/executor/retry-policy.js';

const MAX_TIMER = 2_147_483_647;

/** The ConfigError thrown by resolveConfig (fails when nothing is thrown). */
function configError(input: unknown, where?: string): ConfigError {
  try {
    resolveConfig(input as SchedulerConfigInput, where);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect(SchedkitError.is(error, ErrorCode.Config)).toBe(true);
    return error as ConfigError;
  }
  throw new Error('expected resolveConfig to throw');
}

describe('resolveConfig: defaults', () => {
  it('fills every documented default', () => {
    const config = resolveConfig();
    expect(config).toMatchObject({
      maxConcurrent: 10,
      defaultTimeoutMs: 300_000,
      defaultOverlap: 'skip',
      defaultMisfire: 'run-once',
      maxCatchUp: 100,
      misfireGraceMs: 5_000,
      lockTtlMs: 30_000,
      lockRefreshMs: 10_000,
      takeoverDelayMs: 100,
      maxClockSkewMs: 5_000,
      shutdownTimeoutMs: 10_000,
      historyLimit: 100,
      retentionMs: 7 * 86_400_000,
      orphanTimeoutMs: 14 * 86_400_000,
      sweepIntervalMs: 3_600_000,
      pollIntervalMs: 1_000,
      maxParamsBytes: 65_536,
      startTimeoutMs: 15_000,
      stopTimeoutMs: 20_000,
      redisUrl: undefined,
      postgresUrl: undefined,
    });
    expect(config.defaultRetry).toEqual(DEFAULT_RETRY_POLICY);
    expect(config.instanceId).toContain(`-${process.pid}-`);
    expect(config.instanceId).toMatch(/^[A-Za-z0-9_.:-]{1,200}$/);
    expect(resolveConfig({})).toMatchObject({ maxConcurrent: 10 });
  });

  it('gives each instance a different instanceId', () => {
    const ids = new Set(Array.from({ length: 20 }, () => defaultConfig().instanceId));
    expect(ids.size).toBeGreaterThan(1);
  });

  it('returns a frozen config, its retry policy included', () => {
    const config = resolveConfig({ maxConcurrent: 3 });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.defaultRetry)).toBe(true);
    expect(() => {
      (config as { maxConcurrent: number }).maxConcurrent = 99;
    }).toThrow(TypeError);
    expect(config.maxConcurrent).toBe(3);
  });

  it('ignores options given as undefined', () => {
    expect(resolveConfig({ maxConcurrent: undefined, redisUrl: undefined }).maxConcurrent).toBe(10);
  });

  it('keeps valid overrides', () => {
    const config = resolveConfig({
      maxConcurrent: 20,
      instanceId: 'node-1',
      defaultOverlap: 'allow',
      defaultMisfire: 'run-all',
      redisUrl: 'rediss://user:pw@redis.internal:6380/2',
      defaultRetry: { maxRetries: 5, jitter: 'none' },
    });
    expect(config).toMatchObject({
      maxConcurrent: 20,
      instanceId: 'node-1',
      defaultOverlap: 'allow',
      defaultMisfire: 'run-all',
      redisUrl: 'rediss://user:pw@redis.internal:6380/2',
    });
    expect(config.defaultRetry).toEqual({ ...DEFAULT_RETRY_POLICY, maxRetries: 5, jitter: 'none' });
  });
});

describe('resolveConfig: number fields', () => {
  // Every field of NUMBER_RULES: [field, min, max (undefined = none), integer]
  const rules: Array<[string, number, number | undefined, boolean]> = [
    ['maxConcurrent', 1, 100_000, true],
    ['defaultTimeoutMs', 1, MAX_TIMER, false],
    ['maxCatchUp', 0, 100_000, true],
    ['misfireGraceMs', 0, MAX_TIMER, false],
    ['lockTtlMs', 10, MAX_TIMER, true],
    ['lockRefreshMs', 1, MAX_TIMER, true],
    ['takeoverDelayMs', 0, 60_000, false],
    ['maxClockSkewMs', 0, MAX_TIMER, false],
    ['shutdownTimeoutMs', 0, MAX_TIMER, false],
    ['historyLimit', 1, 100_000, true],
    ['retentionMs', 0, undefined, false],
    ['orphanTimeoutMs', 0, undefined, false],
    ['sweepIntervalMs', 1_000, MAX_TIMER, false],
    ['pollIntervalMs', 10, 30_000, false],
    ['maxParamsBytes', 2, 16 * 1024 * 1024, true],
    ['startTimeoutMs', 1, MAX_TIMER, false],
    ['stopTimeoutMs', 1, MAX_TIMER, false],
  ];

  it('covers every number field of the config', () => {
    const numeric = Object.entries(defaultConfig())
      .filter(([, v]) => typeof v === 'number')
      .map(([k]) => k)
      .sort();
    expect(rules.map(([f]) => f).sort()).toEqual(numeric);
  });

  const badValues = (min: number, max: number | undefined, integer: boolean): unknown[] => {
    const values: unknown[] = [min - 1, 'abc', '5', Number.NaN, null, true];
    if (max !== undefined) values.push(max + 1, Number.POSITIVE_INFINITY);
    if (integer) values.push(min + 0.5);
    return values;
  };

  for (const [field, min, max, integer] of rules) {
    it(`rejects bad ${field} values with a message naming the field and the range`, () => {
      const range = max === undefined ? `>= ${min}` : `from ${min} to ${max}`;
      const expected = `${field} must be ${integer ? 'an integer' : 'a finite number'} ${range}, got `;
      for (const value of badValues(min, max, integer)) {
        const error = configError({ [field]: value });
        const mine = error.problems.filter((p) => p.startsWith(`${field} must be ${integer ? 'an' : 'a'}`));
        expect(mine, `${field} = ${String(value)}`).toHaveLength(1);
        expect(mine[0]!.startsWith(expected)).toBe(true);
        expect(error.message).toContain(mine[0]);
      }
    });
  }

  // Fields whose bounds need companions so the rules between fields still hold.
  const companions: Record<string, SchedulerConfigInput> = {
    stopTimeoutMs: { shutdownTimeoutMs: 0 },
    shutdownTimeoutMs: { stopTimeoutMs: MAX_TIMER },
    lockRefreshMs: { lockTtlMs: MAX_TIMER },
  };

  it.each(rules)('accepts %s at its bounds', (field, min, max) => {
    const extra = companions[field] ?? {};
    expect(resolveConfig({ ...extra, [field]: min } as SchedulerConfigInput)).toMatchObject({ [field]: min });
    // lockRefreshMs cannot reach its max (it must stay below lockTtlMs / 2),
    // nor shutdownTimeoutMs (stopTimeoutMs must exceed it).
    if (max !== undefined && field !== 'lockRefreshMs' && field !== 'shutdownTimeoutMs') {
      expect(resolveConfig({ ...extra, [field]: max } as SchedulerConfigInput)).toMatchObject({ [field]: max });
    }
  });
});

describe('resolveConfig: rules between fields', () => {
  it('requires lockRefreshMs < lockTtlMs / 2', () => {
    const error = configError({ lockTtlMs: 10_000, lockRefreshMs: 5_000 });
    expect(error.problems).toEqual(['lockRefreshMs must be less than lockTtlMs / 2 (5000), got 5000']);
    expect(resolveConfig({ lockTtlMs: 10_000, lockRefreshMs: 4_999 }).lockRefreshMs).toBe(4_999);
    // The default TTL applies when only the refresh period is given.
    expect(configError({ lockRefreshMs: 15_000 }).problems).toEqual([
      'lockRefreshMs must be less than lockTtlMs / 2 (15000), got 15000',
    ]);
  });

  it('derives lockRefreshMs from lockTtlMs when it is not given', () => {
    expect(resolveConfig({ lockTtlMs: 9_000 }).lockRefreshMs).toBe(3_000);
    expect(resolveConfig({ lockTtlMs: 10_000 }).lockRefreshMs).toBe(3_333);
    expect(resolveConfig({ lockTtlMs: 10 }).lockRefreshMs).toBe(3);
    expect(resolveConfig({ lockTtlMs: 12_000, lockRefreshMs: undefined }).lockRefreshMs).toBe(4_000);
  });

  it('reports a bad lockTtlMs once, not again as a derived lockRefreshMs', () => {
    for (const bad of ['abc', Number.POSITIVE_INFINITY, Number.NaN]) {
      const error = configError({ lockTtlMs: bad });
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toMatch(/^lockTtlMs must be/);
    }
  });

  it('requires stopTimeoutMs > shutdownTimeoutMs', () => {
    expect(configError({ shutdownTimeoutMs: 20_000 }).problems).toEqual([
      'stopTimeoutMs must be greater than shutdownTimeoutMs (20000), got 20000',
    ]);
    expect(resolveConfig({ shutdownTimeoutMs: 20_000, stopTimeoutMs: 20_001 }).stopTimeoutMs).toBe(20_001);
  });
});

describe('resolveConfig: other fields and the error', () => {
  it('rejects unknown options by name', () => {
    const error = configError({ maxConcurency: 5, foo: 1 });
    expect(error.problems).toEqual(['unknown option "maxConcurency"', 'unknown option "foo"']);
  });

  it.each([
    ['instanceId', 'has space', /^instanceId must be 1-200 characters from \[A-Za-z0-9_\.:-\], got "has space"$/],
    ['instanceId', 'x'.repeat(201), /^instanceId must be 1-200 characters/],
    ['instanceId', 42, /^instanceId must be .*got 42$/],
    ['defaultOverlap', 'never', /^defaultOverlap must be one of skip, buffer-one, allow, got "never"$/],
    ['defaultMisfire', 'later', /^defaultMisfire must be one of skip, run-once, run-all, got "later"$/],
    ['redisUrl', 'http://localhost:6379', /^redisUrl must start with redis:\/\/ or rediss:\/\/, got "http:/],
    ['redisUrl', 6379, /^redisUrl must start with redis:\/\//],
    ['postgresUrl', 'mysql://localhost/db', /^postgresUrl must start with postgres:\/\/ or postgresql:\/\/, got "mysql:/],
  ])('rejects %s = %s', (field, value, message) => {
    const error = configError({ [field]: value });
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(message);
  });

  it('reports retry problems under defaultRetry', () => {
    const error = configError({ defaultRetry: { maxRetries: -1, strategy: 'nope' } });
    expect(error.problems).toEqual([
      'defaultRetry.maxRetries must be an integer from 0 to 1000',
      'defaultRetry.strategy must be one of exponential, linear, fixed',
    ]);
  });

  it('reports every problem at once in one ConfigError with code E_CONFIG', () => {
    const error = configError({
      maxConcurrent: 0,
      pollIntervalMs: 5,
      defaultOverlap: 'never',
      lockTtlMs: 1_000,
      lockRefreshMs: 600,
      bogus: true,
    });
    expect(error.code).toBe('E_CONFIG');
    expect(error.name).toBe('ConfigError');
    expect(error.problems).toHaveLength(5);
    expect(error.details).toEqual({ problems: error.problems });
    expect(Object.isFrozen(error.problems)).toBe(true);
    for (const field of ['maxConcurrent', 'pollIntervalMs', 'defaultOverlap', 'lockRefreshMs', 'unknown option "bogus"']) {
      expect(error.problems.some((p) => p.startsWith(field))).toBe(true);
    }
    expect(error.message).toBe(`SchedulerConfig: ${error.problems.join('; ')}`);
  });

  it('prefixes the message with where the config came from', () => {
    expect(configError({ maxConcurrent: 0 }, 'schedulerModule').message).toMatch(/^schedulerModule: maxConcurrent must be/);
  });

  it.each([null, 5, 'x', [1]])('rejects a non-object input (%s)', (input) => {
    const error = configError(input);
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(/^expected an object, got /);
  });
});
