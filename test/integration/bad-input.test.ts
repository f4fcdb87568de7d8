import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryBackendModule } from '../../modules/memory-backend.module.js';
import { redisBackendModule } from '../../modules/redis-backend.module.js';
import { schedulerModule } from '../../modules/scheduler.module.js';
import type { Backend } from '../../src/backend/backend.js';
import { configFromEnv } from '../../src/config/config-from-env.js';
import { resolveConfig } from '../../src/config/config.js';
import { SchedkitError } from '../../src/errors/schedkit-error.js';
import type { JsonValue } from '../../src/job/job-definition.js';
import type { DistributedLock, LockLease } from '../../src/lock/distributed-lock.js';
import { MemoryLock } from '../../src/lock/memory-lock.js';
import { RedlockLock } from '../../src/lock/redlock/redlock-lock.js';
import type { Scheduler } from '../../src/scheduler/scheduler.js';
import { SchedulerClient } from '../../src/client/scheduler-client.js';
import { redisInstance } from '../helpers/redis-scheduler.js';
import { randomPrefix, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { createWorld, type World } from '../helpers/scheduler-harness.js';

/**
 * SPEC §8/§12, issue 5: a table of malformed calls. Each row asserts the
 * error code (a `SchedkitError`), that the message names the field, and that
 * stored state is unchanged. The scheduler rows run on the memory backend
 * and on a real Redis backend; on Redis the snapshot includes a dump of
 * every key under the namespace (type and contents).
 *
 * Rows marked "regression" were accepted, or failed with a TypeError or the
 * wrong field, before the library was fixed.
 *
 * Choices the spec leaves open, kept consistent with the code and README:
 * - names, tenant ids and trigger ids: 1-200 characters from [A-Za-z0-9_.:-]
 *   (SPEC §2.1); 201 is too long, whatever the characters;
 * - a second trigger with the same id is not an error: it returns the existing
 *   run (`created: false`) and changes nothing (SPEC §2.3), see the last table;
 * - registering one identity twice on one scheduler is `E_DUPLICATE_JOB`.
 */

const handler = (): void => {};
const FAR = '2100-01-01T00:00:00.000Z';
const HUGE = 'x'.repeat(1 << 20);
const MB_PARAMS: JsonValue = { blob: HUGE };

function cyclic(): JsonValue {
  const value: Record<string, unknown> = { a: 1 };
  value.self = value;
  return value as JsonValue;
}
/** `{ "__proto__": ... }` as an own key, the way JSON.parse makes it (an object literal would set the prototype). */
const protoKey = (): JsonValue => JSON.parse('{"ok": 1, "__proto__": {"polluted": true}}') as JsonValue;

// ------------------------------------------------------------------ rows

interface Row<T> {
  label: string;
  call: (target: T) => unknown;
  code: string;
  /** The message must match: it names the field (or the job, for identity errors). */
  field: RegExp;
  /** Extra checks on the error. */
  check?: (error: SchedkitError) => void;
}

/** A value of the wrong type, passed where the signature forbids it. */
const any = (value: unknown): never => value as never;

const schedulerRows: Array<Row<Scheduler>> = [
  // register: names and tenants
  { label: 'register: name not a string', call: (s) => s.register(any({ name: 42, handler })), code: 'E_INVALID_JOB', field: /job name 42/ },
  { label: 'register: empty name', call: (s) => s.register({ name: '', handler }), code: 'E_INVALID_JOB', field: /job name ""/ },
  { label: 'register: name with { and }', call: (s) => s.register({ name: 'a{b}', handler }), code: 'E_INVALID_JOB', field: /job name "a\{b\}"/ },
  { label: 'register: name with *', call: (s) => s.register({ name: 'jobs*', handler }), code: 'E_INVALID_JOB', field: /job name "jobs\*"/ },
  { label: 'register: name with /', call: (s) => s.register({ name: 'acme/report', handler }), code: 'E_INVALID_JOB', field: /job name "acme\/report"/ },
  { label: 'register: name with a space', call: (s) => s.register({ name: 'my job', handler }), code: 'E_INVALID_JOB', field: /job name "my job"/ },
  { label: 'register: name with a newline', call: (s) => s.register({ name: 'job\nx', handler }), code: 'E_INVALID_JOB', field: /job name "job\\nx"/ },
  { label: 'register: name of 201 characters', call: (s) => s.register({ name: 'n'.repeat(201), handler }), code: 'E_INVALID_JOB', field: /job name "n+\.\.\.: expected 1-200/ },
  { label: 'register: name of 1 MB', call: (s) => s.register({ name: HUGE, handler }), code: 'E_INVALID_JOB', field: /job name "x+\.\.\.: expected 1-200/ },
  { label: 'register: empty tenantId', call: (s) => s.register({ name: 'x', tenantId: '', handler }), code: 'E_INVALID_JOB', field: /tenantId ""/ },
  { label: 'register: tenantId with *', call: (s) => s.register({ name: 'x', tenantId: 'acme*', handler }), code: 'E_INVALID_JOB', field: /tenantId "acme\*"/ },
  // register: handler and options
  { label: 'register: handler missing', call: (s) => s.register(any({ name: 'x' })), code: 'E_INVALID_JOB', field: /handler/ },
  { label: 'register: handler not a function', call: (s) => s.register(any({ name: 'x', handler: 'run' })), code: 'E_INVALID_JOB', field: /handler/ },
  { label: 'register: timeoutMs NaN', call: (s) => s.register({ name: 'x', handler, timeoutMs: NaN }), code: 'E_INVALID_JOB', field: /timeoutMs/ },
  { label: 'register: timeoutMs Infinity', call: (s) => s.register({ name: 'x', handler, timeoutMs: Infinity }), code: 'E_INVALID_JOB', field: /timeoutMs/ },
  { label: 'register: timeoutMs 0', call: (s) => s.register({ name: 'x', handler, timeoutMs: 0 }), code: 'E_INVALID_JOB', field: /timeoutMs/ },
  { label: 'register: negative timeoutMs', call: (s) => s.register({ name: 'x', handler, timeoutMs: -1_000 }), code: 'E_INVALID_JOB', field: /timeoutMs/ },
  { label: 'register: lockTtlMs as a string', call: (s) => s.register(any({ name: 'x', handler, lockTtlMs: '1000' })), code: 'E_INVALID_JOB', field: /lockTtlMs/ },
  { label: 'register: negative lockTtlMs', call: (s) => s.register({ name: 'x', handler, lockTtlMs: -1 }), code: 'E_INVALID_JOB', field: /lockTtlMs/ },
  { label: 'register: retry.maxRetries -1', call: (s) => s.register({ name: 'x', handler, retry: { maxRetries: -1 } }), code: 'E_INVALID_JOB', field: /retry\.maxRetries/ },
  { label: 'register: retry.initialDelayMs NaN', call: (s) => s.register({ name: 'x', handler, retry: { initialDelayMs: NaN } }), code: 'E_INVALID_JOB', field: /retry\.initialDelayMs/ },
  { label: 'register: unknown overlap', call: (s) => s.register(any({ name: 'x', handler, overlap: 'never' })), code: 'E_INVALID_JOB', field: /overlap/ },
  { label: 'register: misfire not a string', call: (s) => s.register(any({ name: 'x', handler, misfire: 1 })), code: 'E_INVALID_JOB', field: /misfire/ },
  { label: 'register: unknown option (typo)', call: (s) => s.register(any({ name: 'x', handler, schedual: '* * * * *' })), code: 'E_INVALID_JOB', field: /schedual/ },
  // register: schedules
  { label: 'register: cron field out of range', call: (s) => s.register({ name: 'x', handler, schedule: '61 * * * *' }), code: 'E_INVALID_SCHEDULE', field: /schedule\.cron/ },
  { label: 'register: empty cron', call: (s) => s.register({ name: 'x', handler, schedule: '' }), code: 'E_INVALID_SCHEDULE', field: /schedule/ },
  { label: 'register: cron of 1 MB', call: (s) => s.register({ name: 'x', handler, schedule: '* '.repeat(500_000) }), code: 'E_INVALID_SCHEDULE', field: /schedule\.cron/ },
  { label: 'register: unknown time zone', call: (s) => s.register({ name: 'x', handler, schedule: { cron: '0 * * * *', tz: 'Mars/Olympus_Mons' } }), code: 'E_INVALID_SCHEDULE', field: /schedule\.tz.*Mars\/Olympus_Mons/ },
  { label: 'register: empty time zone', call: (s) => s.register({ name: 'x', handler, schedule: { cron: '0 * * * *', tz: '' } }), code: 'E_INVALID_SCHEDULE', field: /schedule\.tz/ },
  { label: 'register: interval 0', call: (s) => s.register({ name: 'x', handler, schedule: { every: 0 } }), code: 'E_INVALID_SCHEDULE', field: /schedule\.every/ },
  { label: 'register: negative interval', call: (s) => s.register({ name: 'x', handler, schedule: { every: -5_000 } }), code: 'E_INVALID_SCHEDULE', field: /schedule\.every/ },
  { label: 'register: interval NaN', call: (s) => s.register({ name: 'x', handler, schedule: { every: NaN } }), code: 'E_INVALID_SCHEDULE', field: /schedule\.every/ },
  { label: 'register: interval Infinity', call: (s) => s.register({ name: 'x', handler, schedule: { every: Infinity } }), code: 'E_INVALID_SCHEDULE', field: /schedule\.every/ },
  { label: 'register: interval "0s"', call: (s) => s.register({ name: 'x', handler, schedule: { every: '0s' } }), code: 'E_INVALID_SCHEDULE', field: /schedule\.every/ },
  { label: 'register: at not a date', call: (s) => s.register({ name: 'x', handler, schedule: { at: 'tomorrow' } }), code: 'E_INVALID_SCHEDULE', field: /schedule\.at/ },
  { label: 'register: at an Invalid Date', call: (s) => s.register({ name: 'x', handler, schedule: { at: new Date(NaN) } }), code: 'E_INVALID_SCHEDULE', field: /schedule\.at/ },
  { label: 'register: endAt before startAt', call: (s) => s.register({ name: 'x', handler, schedule: { every: '1h', startAt: '2026-02-01', endAt: '2026-01-01' } }), code: 'E_INVALID_SCHEDULE', field: /schedule\.endAt/ },
  { label: 'register: limit 0', call: (s) => s.register({ name: 'x', handler, schedule: { every: '1h', limit: 0 } }), code: 'E_INVALID_SCHEDULE', field: /schedule\.limit/ },
  { label: 'register: schedule of the wrong type', call: (s) => s.register(any({ name: 'x', handler, schedule: 5 })), code: 'E_INVALID_SCHEDULE', field: /schedule/ },
  // register: params
  { label: 'register: params holding a function', call: (s) => s.register(any({ name: 'x', handler, params: { f: () => 1 } })), code: 'E_INVALID_PARAMS', field: /params\.f is a function/ },
  { label: 'register: params holding NaN', call: (s) => s.register({ name: 'x', handler, params: { n: NaN } }), code: 'E_INVALID_PARAMS', field: /params\.n is NaN/ },
  { label: 'register: params holding a bigint', call: (s) => s.register(any({ name: 'x', handler, params: { b: 1n } })), code: 'E_INVALID_PARAMS', field: /params\.b is a bigint/ },
  { label: 'register: params holding a Date', call: (s) => s.register(any({ name: 'x', handler, params: { when: new Date(0) } })), code: 'E_INVALID_PARAMS', field: /params\.when is a Date/ },
  { label: 'register: cyclic params', call: (s) => s.register({ name: 'x', handler, params: cyclic() }), code: 'E_INVALID_PARAMS', field: /params\.self refers back/ },
  { label: 'register: params with a __proto__ key', call: (s) => s.register({ name: 'x', handler, params: protoKey() }), code: 'E_INVALID_PARAMS', field: /params\.__proto__ is not allowed/ },
  { label: 'register: 1 MB params', call: (s) => s.register({ name: 'x', handler, params: MB_PARAMS }), code: 'E_INVALID_PARAMS', field: /params is \d+ bytes/ },
  // register: identity and options
  { label: 'register: duplicate identity', call: (s) => s.register({ name: 'report', tenantId: 'acme', handler }), code: 'E_DUPLICATE_JOB', field: /job "acme\/report"/ },
  { label: 'register: replace not a boolean (regression)', call: (s) => s.register({ name: 'report', tenantId: 'acme', handler }, any({ replace: 'yes' })), code: 'E_INVALID_ARGUMENT', field: /replace/ },
  { label: 'register: unknown register option (regression)', call: (s) => s.register({ name: 'x', handler }, any({ replcae: true })), code: 'E_INVALID_ARGUMENT', field: /replcae/ },
  { label: 'register: options null', call: (s) => s.register({ name: 'x', handler }, any(null)), code: 'E_INVALID_ARGUMENT', field: /options/ },
  // register: lock groups, run on start, rate limits, jitter, exclusions (SPEC §14)
  { label: 'register: lockKey outside the charset', call: (s) => s.register({ name: 'x', handler, lockKey: 'posts/acme' }), code: 'E_INVALID_JOB', field: /invalid lockKey/ },
  { label: 'register: lockKey empty', call: (s) => s.register({ name: 'x', handler, lockKey: '' }), code: 'E_INVALID_JOB', field: /invalid lockKey/ },
  { label: 'register: runOnStart not a boolean', call: (s) => s.register(any({ name: 'x', handler, runOnStart: 'yes' })), code: 'E_INVALID_JOB', field: /invalid runOnStart/ },
  { label: 'register: rateLimit max 0', call: (s) => s.register({ name: 'x', handler, rateLimit: { key: 'platform:x', max: 0, perMs: 60_000 } }), code: 'E_INVALID_JOB', field: /invalid rateLimit\.max/ },
  { label: 'register: rateLimit negative max', call: (s) => s.register({ name: 'x', handler, rateLimit: { key: 'platform:x', max: -5, perMs: 60_000 } }), code: 'E_INVALID_JOB', field: /invalid rateLimit\.max/ },
  { label: 'register: rateLimit perMs 0', call: (s) => s.register({ name: 'x', handler, rateLimit: { key: 'platform:x', max: 30, perMs: 0 } }), code: 'E_INVALID_JOB', field: /invalid rateLimit\.perMs/ },
  { label: 'register: rateLimit negative perMs', call: (s) => s.register({ name: 'x', handler, rateLimit: { key: 'platform:x', max: 30, perMs: -1 } }), code: 'E_INVALID_JOB', field: /invalid rateLimit\.perMs/ },
  { label: 'register: rateLimit key outside the charset', call: (s) => s.register({ name: 'x', handler, rateLimit: { key: 'platform x', max: 30, perMs: 1_000 } }), code: 'E_INVALID_JOB', field: /invalid rateLimit\.key/ },
  { label: 'register: rateLimit unknown key', call: (s) => s.register({ name: 'x', handler, rateLimit: any({ key: 'k', max: 1, perMs: 1_000, burst: 5 }) }), code: 'E_INVALID_JOB', field: /invalid rateLimit: unknown key/ },
  { label: 'register: jitterMs over the period', call: (s) => s.register({ name: 'x', handler, schedule: '* * * * *', jitterMs: 90_000 }), code: 'E_INVALID_JOB', field: /invalid jitterMs: must be shorter than the schedule's period \(60000 ms\)/ },
  { label: 'register: jitterMs equal to the interval', call: (s) => s.register({ name: 'x', handler, schedule: { every: '10s' }, jitterMs: 10_000 }), code: 'E_INVALID_JOB', field: /invalid jitterMs: .*\(10000 ms\)/ },
  { label: 'register: negative jitterMs', call: (s) => s.register({ name: 'x', handler, schedule: '* * * * *', jitterMs: -1 }), code: 'E_INVALID_JOB', field: /invalid jitterMs/ },
  { label: 'register: jitterMs without a schedule', call: (s) => s.register({ name: 'x', handler, jitterMs: 1_000 }), code: 'E_INVALID_JOB', field: /invalid jitterMs: needs a recurring schedule/ },
  { label: 'register: exclusion with an invalid cron', call: (s) => s.register({ name: 'x', handler, schedule: '* * * * *', exclude: [{ cron: '* * 32 12 *' }] }), code: 'E_INVALID_SCHEDULE', field: /invalid exclude\[0\]\.cron/ },
  { label: 'register: exclusion with an unknown time zone', call: (s) => s.register({ name: 'x', handler, schedule: '* * * * *', exclude: [{ from: FAR, to: '2100-01-02' }, { cron: '0 0 * * *', tz: 'Mars/Base' }] }), code: 'E_INVALID_SCHEDULE', field: /invalid exclude\[1\]\.tz/ },
  { label: 'register: exclusion range reversed', call: (s) => s.register({ name: 'x', handler, schedule: '* * * * *', exclude: [{ from: '2026-02-01', to: '2026-01-01' }] }), code: 'E_INVALID_JOB', field: /invalid exclude\[0\]: to .* must be after from/ },
  { label: 'register: exclusion of neither kind', call: (s) => s.register({ name: 'x', handler, schedule: '* * * * *', exclude: [any({ at: FAR })] }), code: 'E_INVALID_JOB', field: /invalid exclude\[0\]/ },
  { label: 'register: exclude not an array', call: (s) => s.register({ name: 'x', handler, schedule: '* * * * *', exclude: any({ cron: '* * * * *' }) }), code: 'E_INVALID_JOB', field: /invalid exclude:/ },

  // trigger
  { label: 'trigger: name not a string', call: (s) => s.trigger(any(5)), code: 'E_INVALID_ARGUMENT', field: /trigger name 5/ },
  { label: 'trigger: name with a newline', call: (s) => s.trigger('publish\n'), code: 'E_INVALID_ARGUMENT', field: /trigger name "publish\\n"/ },
  { label: 'trigger: name of 1 MB', call: (s) => s.trigger(HUGE), code: 'E_INVALID_ARGUMENT', field: /trigger name/ },
  { label: 'trigger: job not registered', call: (s) => s.trigger('publish'), code: 'E_JOB_NOT_FOUND', field: /job "publish"/ },
  { label: 'trigger: options not an object', call: (s) => s.trigger('publish', any('acme')), code: 'E_INVALID_ARGUMENT', field: /options/ },
  { label: 'trigger: empty tenantId', call: (s) => s.trigger('publish', { tenantId: '' }), code: 'E_INVALID_ARGUMENT', field: /tenantId ""/ },
  { label: 'trigger: at not a date', call: (s) => s.trigger('publish', { tenantId: 'acme', at: 'not a date' }), code: 'E_INVALID_ARGUMENT', field: /invalid at/ },
  { label: 'trigger: at that only Date.parse understands (regression)', call: (s) => s.trigger('publish', { tenantId: 'acme', at: '1' }), code: 'E_INVALID_ARGUMENT', field: /invalid at.*ISO 8601/ },
  { label: 'trigger: at a local time without zone (regression)', call: (s) => s.trigger('publish', { tenantId: 'acme', at: '2026-06-01T10:00:00' }), code: 'E_INVALID_ARGUMENT', field: /invalid at.*no time zone/ },
  { label: 'trigger: at a number', call: (s) => s.trigger('publish', { tenantId: 'acme', at: any(1_700_000_000_000) }), code: 'E_INVALID_ARGUMENT', field: /invalid at/ },
  { label: 'trigger: at Infinity', call: (s) => s.trigger('publish', { tenantId: 'acme', at: any(Infinity) }), code: 'E_INVALID_ARGUMENT', field: /invalid at/ },
  { label: 'trigger: at an Invalid Date', call: (s) => s.trigger('publish', { tenantId: 'acme', at: new Date(NaN) }), code: 'E_INVALID_ARGUMENT', field: /invalid at/ },
  { label: 'trigger: empty id', call: (s) => s.trigger('publish', { tenantId: 'acme', id: '' }), code: 'E_INVALID_ARGUMENT', field: /trigger id ""/ },
  { label: 'trigger: id not a string', call: (s) => s.trigger('publish', { tenantId: 'acme', id: any(42) }), code: 'E_INVALID_ARGUMENT', field: /trigger id 42/ },
  { label: 'trigger: id with /', call: (s) => s.trigger('publish', { tenantId: 'acme', id: 'post/1' }), code: 'E_INVALID_ARGUMENT', field: /trigger id "post\/1"/ },
  { label: 'trigger: id with { }', call: (s) => s.trigger('publish', { tenantId: 'acme', id: '{post}' }), code: 'E_INVALID_ARGUMENT', field: /trigger id "\{post\}"/ },
  { label: 'trigger: id of 201 characters', call: (s) => s.trigger('publish', { tenantId: 'acme', id: 'i'.repeat(201) }), code: 'E_INVALID_ARGUMENT', field: /trigger id/ },
  { label: 'trigger: cyclic params', call: (s) => s.trigger('publish', { tenantId: 'acme', params: cyclic() }), code: 'E_INVALID_PARAMS', field: /params\.self refers back/ },
  { label: 'trigger: params with a __proto__ key', call: (s) => s.trigger('publish', { tenantId: 'acme', params: protoKey() }), code: 'E_INVALID_PARAMS', field: /params\.__proto__/ },
  { label: 'trigger: 1 MB params', call: (s) => s.trigger('publish', { tenantId: 'acme', params: MB_PARAMS }), code: 'E_INVALID_PARAMS', field: /params is \d+ bytes/ },
  { label: 'trigger: params holding undefined', call: (s) => s.trigger('publish', { tenantId: 'acme', params: any({ u: undefined }) }), code: 'E_INVALID_PARAMS', field: /params\.u is undefined/ },
  { label: 'trigger: unknown option', call: (s) => s.trigger('publish', any({ tenantId: 'acme', param: {} })), code: 'E_INVALID_ARGUMENT', field: /param: unknown option/ },

  // pause / resume / remove
  { label: 'pause: name with *', call: (s) => s.pause('rep*'), code: 'E_INVALID_ARGUMENT', field: /pause name "rep\*"/ },
  { label: 'pause: job not registered', call: (s) => s.pause('report'), code: 'E_JOB_NOT_FOUND', field: /job "report"/ },
  { label: 'pause: tenant a number (regression)', call: (s) => s.pause('report', any(5)), code: 'E_INVALID_ARGUMENT', field: /tenantId/ },
  { label: 'pause: tenant option misspelt (regression)', call: (s) => s.pause('report', any({ tenant: 'acme' })), code: 'E_INVALID_ARGUMENT', field: /tenant: unknown option/ },
  { label: 'pause: tenant as a bare string', call: (s) => s.pause('report', any('acme')), code: 'E_INVALID_ARGUMENT', field: /tenantId: expected \{ tenantId \}, got "acme" \(pass \{ tenantId: "acme" \}\)/ },
  { label: 'resume: name with a space', call: (s) => s.resume('my job', { tenantId: 'acme' }), code: 'E_INVALID_ARGUMENT', field: /resume name "my job"/ },
  { label: 'resume: job not registered', call: (s) => s.resume('nope', { tenantId: 'acme' }), code: 'E_JOB_NOT_FOUND', field: /job "acme\/nope"/ },
  { label: 'resume: tenant an array (regression)', call: (s) => s.resume('cleanup', any(['acme'])), code: 'E_INVALID_ARGUMENT', field: /tenantId/ },
  { label: 'remove: name with }', call: (s) => s.remove('report}', { tenantId: 'acme' }), code: 'E_INVALID_ARGUMENT', field: /remove name "report\}"/ },
  { label: 'remove: name undefined', call: (s) => s.remove(any(undefined)), code: 'E_INVALID_ARGUMENT', field: /remove name undefined/ },
  { label: 'remove: tenant a number (regression)', call: (s) => s.remove('report', any(5)), code: 'E_INVALID_ARGUMENT', field: /options/ },
  { label: 'remove: everywhere not a boolean (regression)', call: (s) => s.remove('report', any({ tenantId: 'acme', everywhere: 'yes' })), code: 'E_INVALID_ARGUMENT', field: /everywhere/ },
  { label: 'remove: tenant option misspelt (regression)', call: (s) => s.remove('report', any({ tenant: 'acme', everywhere: true })), code: 'E_INVALID_ARGUMENT', field: /tenant: unknown option/ },

  // inspection calls
  { label: 'getJob: tenant a number (regression)', call: (s) => s.getJob('report', any(5)), code: 'E_INVALID_ARGUMENT', field: /tenantId/ },
  { label: 'history: limit 0', call: (s) => s.history('report', { tenantId: 'acme', limit: 0 }), code: 'E_INVALID_ARGUMENT', field: /limit/ },
  { label: 'history: options null (regression)', call: (s) => s.history('report', any(null)), code: 'E_INVALID_ARGUMENT', field: /options/ },
  { label: 'listJobs: filter null (regression)', call: (s) => s.listJobs(any(null)), code: 'E_INVALID_ARGUMENT', field: /options/ },
  { label: 'listJobs: tenantId with a space', call: (s) => s.listJobs({ tenantId: 'a b' }), code: 'E_INVALID_ARGUMENT', field: /tenantId "a b"/ },

  // run management (SPEC §2.3): the seed has acme/publish post-1 pending at FAR and post-0 finished
  { label: 'getRun: id with a space', call: (s) => s.getRun('post 1', { tenantId: 'acme' }), code: 'E_INVALID_ARGUMENT', field: /getRun id "post 1"/ },
  { label: 'getRun: unknown option', call: (s) => s.getRun('post-1', any({ tenantId: 'acme', job: 'publish' })), code: 'E_INVALID_ARGUMENT', field: /job/ },
  { label: 'cancel: unknown run id', call: (s) => s.cancel('post-404', { tenantId: 'acme' }), code: 'E_RUN_NOT_FOUND', field: /post-404/ },
  { label: 'cancel: a run of another tenant', call: (s) => s.cancel('post-1', { tenantId: 'globex' }), code: 'E_RUN_NOT_FOUND', field: /post-1/ },
  { label: 'cancel: a finished run', call: (s) => s.cancel('post-0', { tenantId: 'acme' }), code: 'E_RUN_FINISHED', field: /post-0.*success/ },
  { label: 'cancel: abort not a boolean', call: (s) => s.cancel('post-1', any({ tenantId: 'acme', abort: 'yes' })), code: 'E_INVALID_ARGUMENT', field: /abort/ },
  { label: 'reschedule: unknown run id', call: (s) => s.reschedule('post-404', { tenantId: 'acme', at: FAR }), code: 'E_RUN_NOT_FOUND', field: /post-404/ },
  { label: 'reschedule: a finished run', call: (s) => s.reschedule('post-0', { tenantId: 'acme', at: FAR }), code: 'E_RUN_FINISHED', field: /post-0/ },
  { label: 'reschedule: into the past', call: (s) => s.reschedule('post-1', { tenantId: 'acme', at: '2020-01-01T00:00:00Z' }), code: 'E_INVALID_ARGUMENT', field: /reschedule: invalid at: .* is in the past/ },
  { label: 'reschedule: at not a date', call: (s) => s.reschedule('post-1', { tenantId: 'acme', at: 'next tuesday' }), code: 'E_INVALID_ARGUMENT', field: /reschedule: invalid at/ },
  { label: 'reschedule: at missing', call: (s) => s.reschedule('post-1', any({ tenantId: 'acme' })), code: 'E_INVALID_ARGUMENT', field: /reschedule: invalid at/ },
  { label: 'listRuns: limit 0', call: (s) => s.listRuns({ limit: 0 }), code: 'E_INVALID_ARGUMENT', field: /listRuns: invalid limit/ },
  { label: 'listRuns: limit over 1,000', call: (s) => s.listRuns({ limit: 1_001 }), code: 'E_INVALID_ARGUMENT', field: /listRuns: invalid limit/ },
  { label: 'listRuns: state done', call: (s) => s.listRuns(any({ state: 'done' })), code: 'E_INVALID_ARGUMENT', field: /listRuns: invalid state/ },
  { label: 'listRuns: cursor a number', call: (s) => s.listRuns(any({ cursor: 5 })), code: 'E_INVALID_ARGUMENT', field: /listRuns: invalid cursor/ },

  // backfill (SPEC §14)
  { label: 'backfill: range reversed', call: (s) => s.backfill('report', { tenantId: 'acme', from: '2025-06-01T00:00:00Z', to: '2025-01-01T00:00:00Z' }), code: 'E_INVALID_ARGUMENT', field: /backfill: invalid from: .* is after to/ },
  { label: 'backfill: to in the future', call: (s) => s.backfill('report', { tenantId: 'acme', from: '2020-01-01T00:00:00Z', to: FAR }), code: 'E_INVALID_ARGUMENT', field: /backfill: invalid to: .* is in the future/ },
  { label: 'backfill: more than 10,000 slots (the cap)', call: (s) => s.backfill('cleanup', { from: FAR, to: '2102-01-01T00:00:00Z' }), code: 'E_INVALID_ARGUMENT', field: /backfill: invalid to: .*more than 10000 slots \(the cap/ },
  { label: 'backfill: from not a date', call: (s) => s.backfill('report', { tenantId: 'acme', from: 'last week', to: '2025-01-01T00:00:00Z' }), code: 'E_INVALID_ARGUMENT', field: /backfill: invalid from/ },
  { label: 'backfill: a trigger-only job', call: (s) => s.backfill('publish', { tenantId: 'acme', from: '2025-01-01T00:00:00Z', to: '2025-06-01T00:00:00Z' }), code: 'E_INVALID_ARGUMENT', field: /backfill: invalid name: job "acme\/publish" has no schedule/ },
  { label: 'backfill: job not registered', call: (s) => s.backfill('nope', { tenantId: 'acme', from: '2025-01-01T00:00:00Z', to: '2025-06-01T00:00:00Z' }), code: 'E_JOB_NOT_FOUND', field: /job "acme\/nope"/ },
  { label: 'backfill: unknown option', call: (s) => s.backfill('report', any({ tenantId: 'acme', from: '2025-01-01T00:00:00Z', to: '2025-06-01T00:00:00Z', dryRun: true })), code: 'E_INVALID_ARGUMENT', field: /backfill: invalid dryRun: unknown option/ },
];

const onlyProblem = (pattern: RegExp) => (error: SchedkitError) => {
  const problems = (error as SchedkitError & { problems?: string[] }).problems ?? [];
  expect(problems).toHaveLength(1);
  expect(problems[0]).toMatch(pattern);
};

const configRows: Array<Row<void>> = [
  { label: 'resolveConfig: not an object', call: () => resolveConfig(any(null)), code: 'E_CONFIG', field: /expected an object, got null/ },
  { label: 'resolveConfig: maxConcurrent NaN', call: () => resolveConfig({ maxConcurrent: NaN }), code: 'E_CONFIG', field: /maxConcurrent/ },
  { label: 'resolveConfig: maxConcurrent 0', call: () => resolveConfig({ maxConcurrent: 0 }), code: 'E_CONFIG', field: /maxConcurrent/ },
  { label: 'resolveConfig: lockTtlMs 0, reported once (regression)', call: () => resolveConfig({ lockTtlMs: 0 }), code: 'E_CONFIG', field: /lockTtlMs/, check: onlyProblem(/^lockTtlMs /) },
  { label: 'resolveConfig: lockRefreshMs not below lockTtlMs / 2', call: () => resolveConfig({ lockTtlMs: 1_000, lockRefreshMs: 600 }), code: 'E_CONFIG', field: /lockRefreshMs must be less than lockTtlMs \/ 2/ },
  { label: 'resolveConfig: negative shutdownTimeoutMs, reported once (regression)', call: () => resolveConfig({ shutdownTimeoutMs: -1 }), code: 'E_CONFIG', field: /shutdownTimeoutMs/, check: onlyProblem(/^shutdownTimeoutMs /) },
  { label: 'resolveConfig: pollIntervalMs Infinity', call: () => resolveConfig({ pollIntervalMs: Infinity }), code: 'E_CONFIG', field: /pollIntervalMs/ },
  { label: 'resolveConfig: defaultTimeoutMs a string', call: () => resolveConfig(any({ defaultTimeoutMs: '100' })), code: 'E_CONFIG', field: /defaultTimeoutMs/ },
  { label: 'resolveConfig: instanceId with a space', call: () => resolveConfig({ instanceId: 'host 1' }), code: 'E_CONFIG', field: /instanceId/ },
  { label: 'resolveConfig: instanceId of 201 characters', call: () => resolveConfig({ instanceId: 'i'.repeat(201) }), code: 'E_CONFIG', field: /instanceId/ },
  { label: 'resolveConfig: redisUrl not redis://', call: () => resolveConfig({ redisUrl: 'http://127.0.0.1:6379' }), code: 'E_CONFIG', field: /redisUrl/ },
  { label: 'resolveConfig: unknown option', call: () => resolveConfig(any({ maxConcurent: 3 })), code: 'E_CONFIG', field: /maxConcurent/ },
  { label: 'resolveConfig: defaultRetry.multiplier below 1', call: () => resolveConfig({ defaultRetry: { multiplier: -1 } }), code: 'E_CONFIG', field: /defaultRetry\.multiplier/ },
  { label: 'resolveConfig: unknown defaultOverlap', call: () => resolveConfig(any({ defaultOverlap: 'sometimes' })), code: 'E_CONFIG', field: /defaultOverlap/ },
  { label: 'configFromEnv: not a number', call: () => configFromEnv({ SCHEDKIT_MAX_CONCURRENT: 'ten' }), code: 'E_CONFIG', field: /SCHEDKIT_MAX_CONCURRENT/ },
  { label: 'configFromEnv: Infinity', call: () => configFromEnv({ SCHEDKIT_LOCK_TTL_MS: 'Infinity' }), code: 'E_CONFIG', field: /SCHEDKIT_LOCK_TTL_MS/ },
  { label: 'configFromEnv: 400 digits, Infinity as a double (regression)', call: () => configFromEnv({ SCHEDKIT_MAX_CONCURRENT: '9'.repeat(400) }), code: 'E_CONFIG', field: /SCHEDKIT_MAX_CONCURRENT/ },
  { label: 'configFromEnv: env not an object (regression)', call: () => configFromEnv(any(null)), code: 'E_CONFIG', field: /environment variables/ },
  { label: 'configFromEnv: negative TTL, reported once (regression)', call: () => resolveConfig(configFromEnv({ SCHEDKIT_LOCK_TTL_MS: '-5' })), code: 'E_CONFIG', field: /lockTtlMs/, check: onlyProblem(/^lockTtlMs /) },
  { label: 'configFromEnv: redis URL without scheme', call: () => resolveConfig(configFromEnv({ SCHEDKIT_REDIS_URL: 'localhost:6379' })), code: 'E_CONFIG', field: /redisUrl/ },
];

const moduleRows: Array<Row<void>> = [
  { label: 'schedulerModule: maxConcurrent 0', call: () => schedulerModule({ maxConcurrent: 0 }), code: 'E_CONFIG', field: /schedulerModule: maxConcurrent/ },
  { label: 'schedulerModule: lockTtlMs NaN', call: () => schedulerModule({ lockTtlMs: NaN }), code: 'E_CONFIG', field: /schedulerModule: lockTtlMs/ },
  { label: 'schedulerModule: not an object', call: () => schedulerModule(any(null)), code: 'E_CONFIG', field: /schedulerModule: expected an object/ },
  { label: 'redisBackendModule: url and connection', call: () => redisBackendModule({ url: 'redis://a', connection: { url: 'redis://b' } }), code: 'E_CONFIG', field: /either url or connection/ },
  { label: 'redisBackendModule: url a number (regression)', call: () => redisBackendModule(any({ url: 6379 })), code: 'E_CONFIG', field: /url must be a redis:\/\/ or rediss:\/\/ URL, got 6379/ },
  { label: 'redisBackendModule: http url (regression)', call: () => redisBackendModule({ url: 'http://127.0.0.1:6379' }), code: 'E_CONFIG', field: /url must be a redis:\/\/ or rediss:\/\/ URL/ },
  { label: 'redisBackendModule: empty url (regression)', call: () => redisBackendModule({ url: '' }), code: 'E_CONFIG', field: /url must be/ },
  { label: 'redisBackendModule: prefix with braces (regression)', call: () => redisBackendModule({ url: 'redis://127.0.0.1:6379', prefix: 'a{b}' }), code: 'E_CONFIG', field: /prefix/ },
  { label: 'redisBackendModule: empty prefix (regression)', call: () => redisBackendModule({ url: 'redis://127.0.0.1:6379', prefix: '' }), code: 'E_CONFIG', field: /prefix/ },
  { label: 'redisBackendModule: prefix of 101 characters (regression)', call: () => redisBackendModule({ url: 'redis://127.0.0.1:6379', prefix: 'p'.repeat(101) }), code: 'E_CONFIG', field: /prefix/ },
  { label: 'redisBackendModule: empty lockMasters', call: () => redisBackendModule({ url: 'redis://127.0.0.1:6379', lockMasters: [] }), code: 'E_CONFIG', field: /lockMasters/ },
  { label: 'redisBackendModule: a lock master that is no connection (regression)', call: () => redisBackendModule({ url: 'redis://127.0.0.1:6379', lockMasters: [any({})] }), code: 'E_CONFIG', field: /lockMasters\[0\]/ },
  { label: 'redisBackendModule: a lock master with an http url (regression)', call: () => redisBackendModule({ url: 'redis://127.0.0.1:6379', lockMasters: [{ url: 'redis://a' }, { url: 'http://b' }] }), code: 'E_CONFIG', field: /lockMasters\[1\] url/ },
  { label: 'redisBackendModule: connection a string (regression)', call: () => redisBackendModule({ connection: any('redis://127.0.0.1:6379') }), code: 'E_CONFIG', field: /connection must be/ },
  { label: 'redisBackendModule: unknown option (regression)', call: () => redisBackendModule(any({ uri: 'redis://127.0.0.1:6379' })), code: 'E_CONFIG', field: /unknown option "uri"/ },
  { label: 'redisBackendModule: not an object (regression)', call: () => redisBackendModule(any(null)), code: 'E_CONFIG', field: /redisBackendModule: expected an object/ },
  { label: 'memoryBackendModule: historyLimit 0', call: () => memoryBackendModule({ historyLimit: 0 }), code: 'E_CONFIG', field: /historyLimit/ },
  { label: 'memoryBackendModule: historyLimit NaN', call: () => memoryBackendModule({ historyLimit: NaN }), code: 'E_CONFIG', field: /historyLimit .*NaN/ },
  { label: 'memoryBackendModule: not an object (regression)', call: () => memoryBackendModule(any(null)), code: 'E_CONFIG', field: /memoryBackendModule: expected an object/ },
];

const lockRows: Array<Row<DistributedLock>> = [
  { label: 'acquire: empty resource', call: (l) => l.acquire('', { ttlMs: 1_000 }), code: 'E_INVALID_ARGUMENT', field: /resource/ },
  { label: 'acquire: resource not a string', call: (l) => l.acquire(any(7), { ttlMs: 1_000 }), code: 'E_INVALID_ARGUMENT', field: /resource/ },
  { label: 'acquire: resource of 1 MB', call: (l) => l.acquire(HUGE, { ttlMs: 1_000 }), code: 'E_INVALID_ARGUMENT', field: /resource/ },
  { label: 'acquire: options null', call: (l) => l.acquire('held', any(null)), code: 'E_INVALID_ARGUMENT', field: /options/ },
  { label: 'acquire: ttlMs NaN', call: (l) => l.acquire('r', { ttlMs: NaN }), code: 'E_INVALID_ARGUMENT', field: /ttlMs/ },
  { label: 'acquire: ttlMs Infinity', call: (l) => l.acquire('r', { ttlMs: Infinity }), code: 'E_INVALID_ARGUMENT', field: /ttlMs/ },
  { label: 'acquire: ttlMs 0', call: (l) => l.acquire('r', { ttlMs: 0 }), code: 'E_INVALID_ARGUMENT', field: /ttlMs/ },
  { label: 'acquire: negative ttlMs', call: (l) => l.acquire('r', { ttlMs: -1 }), code: 'E_INVALID_ARGUMENT', field: /ttlMs/ },
  { label: 'acquire: fractional ttlMs', call: (l) => l.acquire('r', { ttlMs: 1.5 }), code: 'E_INVALID_ARGUMENT', field: /ttlMs/ },
  { label: 'acquire: ttlMs a string', call: (l) => l.acquire('r', any({ ttlMs: '1000' })), code: 'E_INVALID_ARGUMENT', field: /ttlMs/ },
  { label: 'acquire: negative waitMs', call: (l) => l.acquire('held', { ttlMs: 1_000, waitMs: -1 }), code: 'E_INVALID_ARGUMENT', field: /waitMs/ },
  { label: 'acquire: waitMs NaN', call: (l) => l.acquire('held', { ttlMs: 1_000, waitMs: NaN }), code: 'E_INVALID_ARGUMENT', field: /waitMs/ },
  { label: 'using: refreshMs 0', call: (l) => l.using('r', { ttlMs: 1_000, refreshMs: 0 }, () => 1), code: 'E_INVALID_ARGUMENT', field: /refreshMs/ },
  { label: 'using: refreshMs above ttlMs', call: (l) => l.using('r', { ttlMs: 1_000, refreshMs: 5_000 }, () => 1), code: 'E_INVALID_ARGUMENT', field: /refreshMs/ },
  { label: 'using: empty resource', call: (l) => l.using('', { ttlMs: 1_000 }, () => 1), code: 'E_INVALID_ARGUMENT', field: /resource/ },
  { label: 'using: negative waitMs', call: (l) => l.using('held', { ttlMs: 1_000, waitMs: -5 }, () => 1), code: 'E_INVALID_ARGUMENT', field: /waitMs/ },
  { label: 'acquire: signal not an AbortSignal (regression)', call: (l) => l.acquire('held', any({ ttlMs: 1_000, waitMs: 50, signal: 'x' })), code: 'E_INVALID_ARGUMENT', field: /lock\.acquire: invalid signal/ },
  { label: 'using: options null (regression)', call: (l) => l.using('r', any(null), () => 1), code: 'E_INVALID_ARGUMENT', field: /lock\.using: invalid options/ },
  { label: 'using: ttlMs NaN blames ttlMs (regression)', call: (l) => l.using('r', { ttlMs: NaN }, () => 1), code: 'E_INVALID_ARGUMENT', field: /lock\.using: invalid ttlMs/ },
  { label: 'using: ttlMs 0 blames ttlMs (regression)', call: (l) => l.using('r', { ttlMs: 0 }, () => 1), code: 'E_INVALID_ARGUMENT', field: /lock\.using: invalid ttlMs/ },
  { label: 'using: fn not a function, refused before locking (regression)', call: (l) => l.using('r', { ttlMs: 1_000 }, any('notAFunction')), code: 'E_INVALID_ARGUMENT', field: /lock\.using: invalid fn/ },
];

// A client (no handlers) on the same store: it refuses jobs the store has never seen and changes no definition.
const clientRows: Array<Row<SchedulerClient>> = [
  { label: 'client trigger: a job no scheduler stored', call: (c) => c.trigger('publish', { tenantId: 'globex' }), code: 'E_JOB_NOT_FOUND', field: /globex\/publish/ },
  { label: 'client pause: a job no scheduler stored', call: (c) => c.pause('nope'), code: 'E_JOB_NOT_FOUND', field: /nope/ },
  { label: 'client resume: a job no scheduler stored', call: (c) => c.resume('nope', { tenantId: 'acme' }), code: 'E_JOB_NOT_FOUND', field: /acme\/nope/ },
  { label: 'client trigger: params too large', call: (c) => c.trigger('publish', { tenantId: 'acme', params: MB_PARAMS }), code: 'E_INVALID_PARAMS', field: /params/ },
  { label: 'client cancel: a finished run', call: (c) => c.cancel('post-0', { tenantId: 'acme' }), code: 'E_RUN_FINISHED', field: /post-0/ },
  { label: 'client reschedule: into the past', call: (c) => c.reschedule('post-1', { tenantId: 'acme', at: '2020-01-01T00:00:00Z' }), code: 'E_INVALID_ARGUMENT', field: /reschedule: invalid at/ },
  { label: 'client getRun: id not a string', call: (c) => c.getRun(any(42)), code: 'E_INVALID_ARGUMENT', field: /getRun id 42/ },
];

// Duplicates that are not errors (SPEC §2.3): they return the existing run and change nothing.
const idempotentRows: Array<{ label: string; call: (s: Scheduler) => Promise<unknown>; expected: Record<string, unknown> }> = [
  {
    label: 'trigger: a second trigger with the same id (other params and time) returns the existing run',
    call: (s) => s.trigger('publish', { tenantId: 'acme', id: 'post-1', params: { postId: 999 }, at: '2099-01-01T00:00:00Z' }),
    expected: { id: 'post-1', created: false, state: 'pending', dueAt: new Date(FAR) },
  },
  {
    label: 'trigger: a trigger with the id of a finished run returns that run',
    call: (s) => s.trigger('publish', { tenantId: 'acme', id: 'post-0', params: { postId: 7 } }),
    expected: { id: 'post-0', created: false, state: 'done' },
  },
];

// ------------------------------------------------------------------ helpers

async function errorOf(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  return undefined;
}

function expectRejected<T>(row: Row<T>, error: unknown): void {
  expect(error, `${row.label}: the call was accepted`).toBeDefined();
  if (!SchedkitError.is(error)) throw new Error(`${row.label}: expected a SchedkitError, got ${String((error as Error)?.stack ?? error)}`);
  expect(error.code).toBe(row.code);
  expect(error.message).toMatch(row.field);
  row.check?.(error);
}

/** Everything the backend and the scheduler report about stored state. */
async function backendSnapshot(backend: Backend, scheduler: Scheduler): Promise<unknown> {
  const jobs = await backend.listJobs();
  const histories = await Promise.all(jobs.map(async (job) => [job.key, await backend.history(job.key, 1_000)] as const));
  return {
    jobs,
    histories,
    nextDueAt: await backend.nextDueAt(),
    publicJobs: await scheduler.listJobs(),
    publicJob: await Promise.all([scheduler.getJob('report', { tenantId: 'acme' }), scheduler.getJob('publish', { tenantId: 'acme' }), scheduler.getJob('cleanup')]),
    publicHistory: await scheduler.history('publish', { tenantId: 'acme' }),
  };
}

/**
 * Every key under `{prefix}:` with its type and contents. `{prefix}:instances`
 * (liveness, rewritten by every heartbeat) is left out: it is not job state.
 */
async function redisDump(admin: Redis, prefix: string): Promise<Record<string, unknown>> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await admin.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  const dump: Record<string, unknown> = {};
  for (const key of keys.sort()) {
    // Liveness records: every heartbeat rewrites them, whatever the test calls.
    if (key === `{${prefix}}:instances` || key === `{${prefix}}:heard`) continue;
    const type = await admin.type(key);
    let value: unknown;
    if (type === 'string') value = await admin.get(key);
    else if (type === 'hash') value = await admin.hgetall(key);
    else if (type === 'list') value = await admin.lrange(key, 0, -1);
    else if (type === 'set') value = (await admin.smembers(key)).sort();
    else if (type === 'zset') value = await admin.zrange(key, '0', '-1', 'WITHSCORES');
    else value = `(${type})`;
    dump[key] = { type, value };
  }
  return dump;
}

/** The state every scheduler table starts from: two tenants' jobs, a paused job, a pending trigger and a finished one. */
async function seed(scheduler: Scheduler, runPending: () => Promise<void>): Promise<void> {
  await scheduler.register({ name: 'report', tenantId: 'acme', schedule: '0 0 1 1 *', params: { a: 1 }, handler });
  await scheduler.register({ name: 'publish', tenantId: 'acme', handler });
  await scheduler.register({ name: 'cleanup', schedule: { every: '1h', startAt: FAR }, handler });
  await scheduler.start();
  await scheduler.pause('cleanup');
  await scheduler.trigger('publish', { tenantId: 'acme', id: 'post-1', at: FAR, params: { postId: 1 } });
  await scheduler.trigger('publish', { tenantId: 'acme', id: 'post-0', params: { postId: 0 } });
  await runPending();
}

// ------------------------------------------------------------------ tables

interface SchedulerTarget {
  scheduler: Scheduler;
  client: SchedulerClient;
  snapshot(): Promise<unknown>;
}

function describeSchedulerTable(name: string, setup: () => Promise<{ target: SchedulerTarget; close: () => Promise<void> }>): void {
  describe(`bad scheduler calls on the ${name} backend`, () => {
    let target: SchedulerTarget;
    let close: (() => Promise<void>) | undefined;
    beforeAll(async () => {
      ({ target, close } = await setup());
    });
    afterAll(async () => close?.());

    it('the snapshot is stable when nothing is called (control)', async () => {
      const before = await target.snapshot();
      expect(await target.snapshot()).toEqual(before);
      expect(JSON.stringify(before)).toContain('post-0');
    });

    it.each(schedulerRows)('$label', async (row) => {
      const before = await target.snapshot();
      expectRejected(row, await errorOf(() => row.call(target.scheduler)));
      expect(await target.snapshot()).toEqual(before);
    });

    it.each(clientRows)('$label', async (row) => {
      const before = await target.snapshot();
      expectRejected(row, await errorOf(() => row.call(target.client)));
      expect(await target.snapshot()).toEqual(before);
    });

    it.each(idempotentRows)('$label', async (row) => {
      const before = await target.snapshot();
      expect(await row.call(target.scheduler)).toMatchObject(row.expected);
      expect(await target.snapshot()).toEqual(before);
    });
  });
}

describeSchedulerTable('memory', async () => {
  const world: World = createWorld();
  const { scheduler } = world.instance();
  await seed(scheduler, () => world.clock.advance(1));
  return {
    target: { scheduler, client: new SchedulerClient({ backend: world.backend, clock: world.clock }), snapshot: () => backendSnapshot(world.backend, scheduler) },
    close: () => world.stopAll(),
  };
});

let server: RedisServer | undefined;
let admin: Redis | undefined;
beforeAll(async () => {
  server = await startRedis();
  admin = new Redis({ host: server.host, port: server.port, lazyConnect: true });
  await admin.connect();
});
afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});

describeSchedulerTable('redis', async () => {
  const prefix = randomPrefix('bad');
  const instance = await redisInstance({ url: server!.url, prefix });
  const backend = instance.backend;
  await seed(instance.scheduler, async () => {
    const deadline = Date.now() + 10_000;
    while ((await backend.history('acme/publish', 10)).length === 0) {
      if (Date.now() > deadline) throw new Error('the seeded run was not recorded within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
  return {
    target: {
      scheduler: instance.scheduler,
      client: new SchedulerClient({ backend }),
      snapshot: async () => ({ state: await backendSnapshot(backend, instance.scheduler), keys: await redisDump(admin!, prefix) }),
    },
    close: () => instance.close(),
  };
});

describe('bad configuration', () => {
  it.each(configRows)('$label', async (row) => {
    expectRejected(row, await errorOf(() => row.call()));
  });
});

describe('bad module options (rejected when the module is created)', () => {
  it.each(moduleRows)('$label', async (row) => {
    expectRejected(row, await errorOf(() => row.call()));
  });
});

function describeLockTable(name: string, setup: () => Promise<{ lock: DistributedLock; snapshot: () => Promise<unknown>; close: () => Promise<void> }>): void {
  describe(`bad lock calls on ${name}`, () => {
    let lock: DistributedLock;
    let held: LockLease | null;
    let snapshot: () => Promise<unknown>;
    let close: (() => Promise<void>) | undefined;
    beforeAll(async () => {
      ({ lock, snapshot, close } = await setup());
      held = await lock.acquire('held', { ttlMs: 60_000 });
    });
    afterAll(async () => {
      await held?.release();
      await close?.();
    });

    it.each(lockRows)('$label', async (row) => {
      const before = await snapshot();
      expectRejected(row, await errorOf(() => row.call(lock)));
      expect(await snapshot()).toEqual(before);
      // The lease taken before is untouched: still ours, still held.
      expect(held?.isReleased).toBe(false);
      expect(await lock.acquire('held', { ttlMs: 1_000 })).toBeNull();
    });
  });
}

describeLockTable('MemoryLock', async () => {
  const lock = new MemoryLock();
  return { lock, snapshot: async () => null, close: async () => {} };
});

describeLockTable('RedlockLock', async () => {
  const prefix = randomPrefix('badlock');
  const lock = new RedlockLock({ masters: [{ url: server!.url }], prefix });
  await lock.connect();
  return { lock, snapshot: () => redisDump(admin!, prefix), close: () => lock.close() };
});
