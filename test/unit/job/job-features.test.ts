import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/config/config.js';
import { SchedkitError } from '../../../src/errors/schedkit-error.js';
import type { JobDefinition } from '../../../src/job/job-definition.js';
import { normalizeJob } from '../../../src/job/normalize-job.js';

const config = resolveConfig({});
const handler = (): void => {};
const NOW = Date.parse('2026-01-01T00:00:00Z');
const normalize = (definition: Record<string, unknown>) => normalizeJob({ name: 'x', handler, ...definition } as unknown as JobDefinition<never>, config, NOW);

function errorOf(call: () => unknown): SchedkitError {
  try {
    call();
  } catch (error) {
    if (SchedkitError.is(error)) return error;
    throw error;
  }
  throw new Error('the call was accepted');
}

describe('job feature options', () => {
  it('defaults: no lock group, no run on start, no rate limit, no jitter, no exclusions', () => {
    const job = normalize({ schedule: '* * * * *' });
    expect(job).toMatchObject({ lockKey: null, runOnStart: false, rateLimit: null, jitterMs: 0, exclusions: null });
  });

  it('keeps valid values', () => {
    const job = normalize({
      schedule: '0 * * * *',
      lockKey: 'posts:acme',
      runOnStart: true,
      rateLimit: { key: 'platform:x', max: 30, perMs: 60_000 },
      jitterMs: 30_000,
      exclude: [{ cron: '* * 25 12 *' }],
    });
    expect(job).toMatchObject({ lockKey: 'posts:acme', runOnStart: true, rateLimit: { key: 'platform:x', max: 30, perMs: 60_000 }, jitterMs: 30_000 });
    expect(job.exclusions?.matches(Date.parse('2026-12-25T10:00:00Z'))).toBe(true);
  });

  it('jitter and exclusions join the definition hash only when set; the other options never do', () => {
    const plain = normalize({ schedule: '0 * * * *' }).definitionHash;
    expect(normalize({ schedule: '0 * * * *', jitterMs: 0, exclude: [] }).definitionHash).toBe(plain);
    expect(normalize({ schedule: '0 * * * *', lockKey: 'g', runOnStart: true, rateLimit: { key: 'k', max: 1, perMs: 1 } }).definitionHash).toBe(plain);
    const jittered = normalize({ schedule: '0 * * * *', jitterMs: 1_000 }).definitionHash;
    const excluded = normalize({ schedule: '0 * * * *', exclude: [{ cron: '0 0 * * *' }] }).definitionHash;
    expect(new Set([plain, jittered, excluded, normalize({ schedule: '0 * * * *', jitterMs: 2_000 }).definitionHash]).size).toBe(4);
    // The same exclusions written differently hash alike.
    expect(normalize({ schedule: '0 * * * *', exclude: [{ cron: '0  0 * * *', tz: 'UTC' }] }).definitionHash).toBe(excluded);
  });

  it('jitter must be shorter than the period: every for intervals, the shortest gap of the next 64 slots for crons', () => {
    expect(normalize({ schedule: { every: '1m' }, jitterMs: 59_999 }).jitterMs).toBe(59_999);
    expect(errorOf(() => normalize({ schedule: { every: '1m' }, jitterMs: 60_000 })).message).toMatch(/jitterMs: must be shorter than the schedule's period \(60000 ms\), got 60000/);
    // Minutes 0 and 10 of each hour: the shortest gap is 10 minutes, not 50.
    expect(normalize({ schedule: '0,10 * * * *', jitterMs: 599_999 }).jitterMs).toBe(599_999);
    expect(errorOf(() => normalize({ schedule: '0,10 * * * *', jitterMs: 600_000 })).message).toMatch(/period \(600000 ms\)/);
  });

  it.each([
    ['lockKey with a space', { lockKey: 'a b' }, 'E_INVALID_JOB', 'lockKey'],
    ['lockKey with /', { lockKey: 'acme/posts' }, 'E_INVALID_JOB', 'lockKey'],
    ['lockKey empty', { lockKey: '' }, 'E_INVALID_JOB', 'lockKey'],
    ['lockKey a number', { lockKey: 5 }, 'E_INVALID_JOB', 'lockKey'],
    ['runOnStart a string', { runOnStart: 'yes' }, 'E_INVALID_JOB', 'runOnStart'],
    ['rateLimit not an object', { rateLimit: 30 }, 'E_INVALID_JOB', 'rateLimit'],
    ['rateLimit unknown key', { rateLimit: { key: 'k', max: 1, perMs: 1, burst: 2 } }, 'E_INVALID_JOB', 'rateLimit'],
    ['rateLimit key missing', { rateLimit: { max: 1, perMs: 1 } }, 'E_INVALID_JOB', 'rateLimit.key'],
    ['rateLimit key with {', { rateLimit: { key: 'a{b}', max: 1, perMs: 1 } }, 'E_INVALID_JOB', 'rateLimit.key'],
    ['rateLimit max 0', { rateLimit: { key: 'k', max: 0, perMs: 1 } }, 'E_INVALID_JOB', 'rateLimit.max'],
    ['rateLimit max negative', { rateLimit: { key: 'k', max: -3, perMs: 1 } }, 'E_INVALID_JOB', 'rateLimit.max'],
    ['rateLimit max 1.5', { rateLimit: { key: 'k', max: 1.5, perMs: 1 } }, 'E_INVALID_JOB', 'rateLimit.max'],
    ['rateLimit perMs 0', { rateLimit: { key: 'k', max: 1, perMs: 0 } }, 'E_INVALID_JOB', 'rateLimit.perMs'],
    ['rateLimit perMs negative', { rateLimit: { key: 'k', max: 1, perMs: -60_000 } }, 'E_INVALID_JOB', 'rateLimit.perMs'],
    ['rateLimit perMs over the timer limit', { rateLimit: { key: 'k', max: 1, perMs: 2 ** 31 } }, 'E_INVALID_JOB', 'rateLimit.perMs'],
    ['jitterMs negative', { schedule: '* * * * *', jitterMs: -1 }, 'E_INVALID_JOB', 'jitterMs'],
    ['jitterMs fractional', { schedule: '* * * * *', jitterMs: 1.5 }, 'E_INVALID_JOB', 'jitterMs'],
    ['jitterMs a string', { schedule: '* * * * *', jitterMs: '5s' }, 'E_INVALID_JOB', 'jitterMs'],
    ['jitterMs without a schedule', { jitterMs: 1_000 }, 'E_INVALID_JOB', 'jitterMs'],
    ['jitterMs on a once schedule', { schedule: { at: '2026-02-01T00:00:00Z' }, jitterMs: 1_000 }, 'E_INVALID_JOB', 'jitterMs'],
    ['jitterMs over the period', { schedule: '* * * * *', jitterMs: 90_000 }, 'E_INVALID_JOB', 'jitterMs'],
    ['exclude without a schedule', { exclude: [{ cron: '* * * * *' }] }, 'E_INVALID_JOB', 'exclude'],
    ['exclude with a bad cron', { schedule: '* * * * *', exclude: [{ cron: '* * * *' }] }, 'E_INVALID_SCHEDULE', 'exclude[0].cron'],
  ])('refuses %s', (_label, definition, code, field) => {
    const error = errorOf(() => normalize(definition));
    expect(error.code).toBe(code);
    expect(error.details.field).toBe(field);
    expect(error.message).toContain(`invalid ${field}`);
  });
});
