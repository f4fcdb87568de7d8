import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/config/config.js';
import { configFromEnv, envName } from '../../../src/config/config-from-env.js';
import { ConfigError, ErrorCode, SchedkitError } from '../../../src/errors/schedkit-error.js';

function envError(env: Record<string, string | undefined>): ConfigError {
  try {
    configFromEnv(env);
  } catch (error) {
    expect(SchedkitError.is(error, ErrorCode.Config)).toBe(true);
    return error as ConfigError;
  }
  throw new Error('expected configFromEnv to throw');
}

describe('envName', () => {
  it.each([
    ['maxConcurrent', 'SCHEDKIT_MAX_CONCURRENT'],
    ['lockTtlMs', 'SCHEDKIT_LOCK_TTL_MS'],
    ['redisUrl', 'SCHEDKIT_REDIS_URL'],
    ['postgresUrl', 'SCHEDKIT_POSTGRES_URL'],
    ['instanceId', 'SCHEDKIT_INSTANCE_ID'],
    ['defaultTimeoutMs', 'SCHEDKIT_DEFAULT_TIMEOUT_MS'],
  ])('maps %s to %s', (field, name) => {
    expect(envName(field)).toBe(name);
  });
});

describe('configFromEnv', () => {
  it('reads SCHEDKIT_MAX_CONCURRENT=20 as the number 20', () => {
    const input = configFromEnv({ SCHEDKIT_MAX_CONCURRENT: '20' });
    expect(input).toEqual({ maxConcurrent: 20 });
    expect(resolveConfig(input).maxConcurrent).toBe(20);
  });

  it('reads SCHEDKIT_REDIS_URL and the other string fields as strings', () => {
    const input = configFromEnv({
      SCHEDKIT_REDIS_URL: 'redis://:secret@127.0.0.1:6480/0',
      SCHEDKIT_INSTANCE_ID: 'web-7',
      SCHEDKIT_DEFAULT_OVERLAP: 'allow',
      SCHEDKIT_DEFAULT_MISFIRE: 'skip',
    });
    expect(input).toEqual({
      redisUrl: 'redis://:secret@127.0.0.1:6480/0',
      instanceId: 'web-7',
      defaultOverlap: 'allow',
      defaultMisfire: 'skip',
    });
    expect(resolveConfig(input)).toMatchObject(input);
  });

  it('reads decimals, negatives and surrounding spaces; validation is left to resolveConfig', () => {
    const input = configFromEnv({ SCHEDKIT_POLL_INTERVAL_MS: ' 250.5 ', SCHEDKIT_MAX_CATCH_UP: '-1' });
    expect(input).toEqual({ pollIntervalMs: 250.5, maxCatchUp: -1 });
    expect(() => resolveConfig(input)).toThrowError(/maxCatchUp must be an integer from 0 to 100000, got -1/);
  });

  it('rejects a value that is not a plain decimal number, naming the variable', () => {
    const error = envError({ SCHEDKIT_LOCK_TTL_MS: '30s' });
    expect(error.problems).toEqual(['SCHEDKIT_LOCK_TTL_MS must be a number, got "30s"']);
    expect(error.message).toBe('configFromEnv: SCHEDKIT_LOCK_TTL_MS must be a number, got "30s"');
  });

  it.each(['1e3', '0x10', 'Infinity', 'NaN', '12abc', '1,000', '+5'])('rejects %s', (raw) => {
    expect(envError({ SCHEDKIT_MAX_CONCURRENT: raw }).problems[0]).toMatch(/^SCHEDKIT_MAX_CONCURRENT must be a number/);
  });

  it('reports every bad variable at once', () => {
    const error = envError({ SCHEDKIT_MAX_CONCURRENT: 'many', SCHEDKIT_HISTORY_LIMIT: 'lots', SCHEDKIT_LOCK_TTL_MS: '1000' });
    expect(error.problems).toHaveLength(2);
    expect(error.problems.join('\n')).toContain('SCHEDKIT_MAX_CONCURRENT');
    expect(error.problems.join('\n')).toContain('SCHEDKIT_HISTORY_LIMIT');
  });

  it('keeps a long bad value short in the message', () => {
    const error = envError({ SCHEDKIT_MAX_CONCURRENT: 'x'.repeat(500) });
    expect(error.problems[0]!.length).toBeLessThan(120);
  });

  it('ignores empty, blank and unset variables', () => {
    expect(configFromEnv({ SCHEDKIT_MAX_CONCURRENT: '', SCHEDKIT_REDIS_URL: '   ', SCHEDKIT_LOCK_TTL_MS: undefined })).toEqual({});
  });

  it('ignores unrelated variables and fields that are not read from the environment', () => {
    expect(configFromEnv({ PATH: '/usr/bin', REDIS_URL: 'redis://x', SCHEDKIT_DEFAULT_RETRY: '{"maxRetries":1}' })).toEqual({});
  });

  it('reads process.env by default', () => {
    const previous = process.env.SCHEDKIT_HISTORY_LIMIT;
    process.env.SCHEDKIT_HISTORY_LIMIT = '42';
    try {
      expect(configFromEnv().historyLimit).toBe(42);
    } finally {
      if (previous === undefined) delete process.env.SCHEDKIT_HISTORY_LIMIT;
      else process.env.SCHEDKIT_HISTORY_LIMIT = previous;
    }
  });
});
