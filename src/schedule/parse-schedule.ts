import { createHash } from 'node:crypto';
import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';
import { messages, show } from '../errors/messages.js';
import { CronSchedule } from './cron-schedule.js';
import { internSchedule } from './intern-schedule.js';
import { IntervalSchedule } from './interval-schedule.js';
import { OnceSchedule } from './once-schedule.js';
import type { Schedule, ScheduleDescriptor, ScheduleInput } from './schedule.js';

/** A validated schedule and the job's run limit. */
export interface ParsedSchedule {
  schedule: Schedule;
  /** Maximum number of runs over the job's life; null = unlimited. */
  limit: number | null;
}

const CRON_KEYS = ['cron', 'tz', 'startAt', 'endAt', 'limit'];
const INTERVAL_KEYS = ['every', 'startAt', 'endAt', 'limit'];
const ONCE_KEYS = ['at'];

/**
 * Validates what `register({ schedule })` was given and builds the schedule.
 *
 * Accepts a cron string, `{ cron, tz?, startAt?, endAt?, limit? }`,
 * `{ every, startAt?, endAt?, limit? }`, `{ at }`, or an object that already
 * implements `Schedule` (used as is). `undefined` means a trigger-only job and
 * gives null.
 *
 * @param job how errors name the job, from `jobLabel()`.
 * @throws SchedkitError `E_INVALID_SCHEDULE`, message `<job>: invalid schedule.<field>: <why>`,
 *   `details.field` = `schedule`, `schedule.cron`, `schedule.tz`, `schedule.every`, `schedule.at`,
 *   `schedule.startAt`, `schedule.endAt` or `schedule.limit`.
 */
export function parseSchedule(input: ScheduleInput | undefined, job: string): ParsedSchedule | null {
  if (input === undefined) return null;
  if (typeof input === 'string') {
    if (input.trim() === '') throw invalid(job, 'schedule', 'the cron expression is empty');
    return { schedule: internSchedule(relabel(job, () => new CronSchedule(input))), limit: null };
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input) || input instanceof Date) {
    const hint = input instanceof Date ? ' (for a one-off run write { at: date })' : '';
    throw invalid(job, 'schedule', `expected a cron string, { cron }, { every }, { at } or a Schedule, got ${show(input)}${hint}`);
  }
  if (isSchedule(input)) return { schedule: input, limit: null };

  const spec = input as unknown as Record<string, unknown>;
  const kinds = ['cron', 'every', 'at'].filter((key) => spec[key] !== undefined);
  if (kinds.length !== 1) {
    const why = kinds.length === 0 ? 'expected one of cron, every or at' : `give only one of cron, every and at, got ${kinds.join(' and ')}`;
    throw invalid(job, 'schedule', `${why}${kinds.length === 0 ? `, got an object with keys ${describeKeys(spec)}` : ''}`);
  }
  const kind = kinds[0] as 'cron' | 'every' | 'at';
  const allowed = kind === 'cron' ? CRON_KEYS : kind === 'every' ? INTERVAL_KEYS : ONCE_KEYS;
  const unknown = Object.keys(spec).filter((key) => !allowed.includes(key) && spec[key] !== undefined);
  if (unknown.length > 0) {
    throw invalid(job, 'schedule', `unknown option(s) ${unknown.map((k) => `"${k}"`).join(', ')} for { ${kind} }; allowed: ${allowed.join(', ')}`);
  }

  if (kind === 'cron' && typeof spec.cron !== 'string') throw invalid(job, 'schedule.cron', `expected a cron expression string, got ${show(spec.cron)}`);
  if (kind === 'every' && typeof spec.every !== 'number' && typeof spec.every !== 'string') {
    throw invalid(job, 'schedule.every', `expected milliseconds or a duration such as "15m", got ${show(spec.every)}`);
  }
  const limit = parseLimit(spec.limit, job);
  const window = { startAt: spec.startAt as Date | string | undefined, endAt: spec.endAt as Date | string | undefined };
  const schedule = relabel(job, (): Schedule => {
    if (kind === 'cron') return new CronSchedule(spec.cron as string, { ...window, tz: spec.tz as string | undefined });
    if (kind === 'every') return new IntervalSchedule(spec.every as number | string, window);
    return new OnceSchedule(spec.at as Date | string);
  });
  return { schedule: internSchedule(schedule), limit };
}

/**
 * Rebuilds a schedule from its stored JSON form (`Schedule.descriptor`).
 *
 * @throws SchedkitError `E_INVALID_SCHEDULE` when the descriptor is not valid.
 */
export function scheduleFromDescriptor(d: ScheduleDescriptor): Schedule {
  const where = 'stored schedule';
  return internSchedule(relabel(where, (): Schedule => {
    switch (d.kind) {
      case 'cron':
        return new CronSchedule(d.cron, { tz: d.tz, startAt: d.startAt, endAt: d.endAt });
      case 'interval':
        return new IntervalSchedule(d.everyMs, { anchor: d.anchor, startAt: d.startAt, endAt: d.endAt });
      case 'once':
        return new OnceSchedule(d.at);
      default:
        throw invalid(where, 'schedule', `unknown kind ${show((d as { kind?: unknown }).kind)}`);
    }
  }));
}

const hashes = new WeakMap<ScheduleDescriptor, Map<number | null, string>>();

/**
 * A short, stable fingerprint of a schedule definition (descriptor + limit):
 * the first 16 hex digits of the SHA-1 of its canonical JSON (keys sorted,
 * undefined left out). Instances compare it to detect a changed definition.
 */
export function scheduleHash(d: ScheduleDescriptor, limit: number | null): string {
  // Shared (interned) schedules have one frozen descriptor: their hash is
  // computed once and the text shared by every job, not a SHA-1 and a string
  // per job.
  const byLimit = Object.isFrozen(d) ? hashes.get(d) : undefined;
  const known = byLimit?.get(limit);
  if (known !== undefined) return known;
  const hash = createHash('sha1').update(canonicalJson({ schedule: d, limit })).digest('hex').slice(0, 16);
  if (Object.isFrozen(d)) {
    if (byLimit === undefined) hashes.set(d, new Map([[limit, hash]]));
    else byLimit.set(limit, hash);
  }
  return hash;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function isSchedule(value: object): value is Schedule {
  const candidate = value as Partial<Schedule>;
  return typeof candidate.next === 'function' && typeof candidate.prev === 'function' && typeof candidate.descriptor === 'object' && candidate.descriptor !== null;
}

function parseLimit(limit: unknown, job: string): number | null {
  if (limit === undefined) return null;
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1) {
    throw invalid(job, 'schedule.limit', `must be a positive integer, got ${show(limit)}`);
  }
  return limit;
}

function describeKeys(spec: Record<string, unknown>): string {
  const keys = Object.keys(spec);
  return keys.length === 0 ? '(none)' : keys.slice(0, 5).map((k) => `"${k}"`).join(', ');
}

function invalid(job: string, field: string, why: string, cause?: unknown, extra?: Record<string, unknown>): SchedkitError {
  return new SchedkitError(ErrorCode.InvalidSchedule, messages.invalidSchedule(job, field, why), { cause, details: { ...extra, field } });
}

/**
 * Runs a schedule constructor and re-labels its error: `cronSchedule(): invalid tz`
 * becomes `job "x": invalid schedule.tz`.
 */
function relabel<T>(job: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (!SchedkitError.is(error, ErrorCode.InvalidSchedule)) throw error;
    const field = error.details.field;
    const reason = error.details.reason;
    if (typeof field !== 'string' || typeof reason !== 'string') throw error;
    throw invalid(job, `schedule.${field}`, reason, error.cause, error.details.cronField === undefined ? undefined : { cronField: error.details.cronField });
  }
}
