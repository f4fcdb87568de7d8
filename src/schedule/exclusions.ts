/**
 * Exclusions: sets of slots a job does not run (Quartz calendars, Temporal's
 * skip rules). Validated and compiled once at registration; asked once per
 * slot, so matching is a cached cron lookup or a range comparison.
 */
import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';
import { messages, show } from '../errors/messages.js';
import { compileCron, type CronSlots } from './cron-slots.js';
import { parseInstant } from './instant.js';
import { resolveTimeZone } from './time-zone.js';

/** At most this many exclusions per job: each slot is checked against all of them. */
export const MAX_EXCLUSIONS = 100;

/** One compiled exclusion, in the normal form that joins the job's definition hash. */
export type ExclusionRule =
  | { readonly kind: 'cron'; readonly cron: string; readonly tz: string; readonly resolutionMs: number; readonly slots: CronSlots }
  | { readonly kind: 'range'; readonly from: number; readonly to: number };

/** Which slots a job does not run. */
export class Exclusions {
  constructor(readonly rules: readonly ExclusionRule[]) {}

  /**
   * Whether `slot` (epoch ms) is excluded: some cron has a slot in the same
   * second (6-field expressions, `@secondly`) or minute (5 fields, other
   * aliases) — read as a schedule in its zone, so DST is treated as the
   * job's own cron treats it — or some range has `from <= slot < to`.
   */
  matches(slot: number): boolean {
    for (const rule of this.rules) {
      if (rule.kind === 'range') {
        if (slot >= rule.from && slot < rule.to) return true;
        continue;
      }
      const start = Math.floor(slot / rule.resolutionMs) * rule.resolutionMs;
      const hit = rule.slots.prev(start + rule.resolutionMs - 1);
      if (hit !== null && hit >= start) return true;
    }
    return false;
  }

  /** The rules as plain JSON (cron text and resolved zone; ranges as ISO text), for the definition hash. */
  describe(): unknown[] {
    return this.rules.map((rule) =>
      rule.kind === 'cron' ? { cron: rule.cron, tz: rule.tz } : { from: new Date(rule.from).toISOString(), to: new Date(rule.to).toISOString() },
    );
  }
}

/**
 * Validates a job's `exclude` option and compiles it; null when it is left
 * out or empty.
 *
 * @param job how errors name the job (`jobLabel()`).
 * @param defaultTz the zone of the job's cron schedule, used by a cron exclusion without `tz` (else UTC).
 * @throws SchedkitError `E_INVALID_SCHEDULE` for a bad cron or zone (`exclude[i].cron`, `exclude[i].tz`);
 *   `E_INVALID_JOB` for anything else (`exclude`, `exclude[i]`, `exclude[i].from`, `exclude[i].to`).
 */
export function compileExclusions(input: unknown, job: string, defaultTz: string | undefined): Exclusions | null {
  if (input === undefined) return null;
  if (!Array.isArray(input)) throw invalidJob(job, 'exclude', `expected an array of { cron, tz? } or { from, to }, got ${show(input)}`);
  if (input.length > MAX_EXCLUSIONS) throw invalidJob(job, 'exclude', `at most ${MAX_EXCLUSIONS} exclusions, got ${input.length}`);
  if (input.length === 0) return null;
  const rules = input.map((entry: unknown, i) => compileOne(entry, `exclude[${i}]`, job, defaultTz));
  return new Exclusions(rules);
}

function compileOne(entry: unknown, field: string, job: string, defaultTz: string | undefined): ExclusionRule {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry) || entry instanceof Date) {
    throw invalidJob(job, field, `expected { cron, tz? } or { from, to }, got ${show(entry)}`);
  }
  const spec = entry as Record<string, unknown>;
  const keys = Object.keys(spec).filter((key) => spec[key] !== undefined);
  if ('cron' in spec && spec.cron !== undefined) {
    const unknown = keys.filter((key) => key !== 'cron' && key !== 'tz');
    if (unknown.length > 0) throw invalidJob(job, field, `unknown key(s) ${unknown.map((k) => `"${k}"`).join(', ')}; a cron exclusion takes cron and tz`);
    const tz = relabel(job, field, () => resolveTimeZone(spec.tz ?? defaultTz, 'exclude'));
    const { expression, slots } = relabel(job, field, () => compileCron(spec.cron, tz, 'exclude'));
    return { kind: 'cron', cron: expression, tz, resolutionMs: resolutionOf(expression), slots };
  }
  const unknown = keys.filter((key) => key !== 'from' && key !== 'to');
  if (unknown.length > 0 || spec.from === undefined || spec.to === undefined) {
    throw invalidJob(job, field, `expected { cron, tz? } or { from, to }, got an object with keys ${keys.length === 0 ? '(none)' : keys.map((k) => `"${k}"`).join(', ')}`);
  }
  const from = instant(spec.from, job, `${field}.from`);
  const to = instant(spec.to, job, `${field}.to`);
  if (to <= from) throw invalidJob(job, field, `to (${new Date(to).toISOString()}) must be after from (${new Date(from).toISOString()})`);
  return { kind: 'range', from, to };
}

/** A 6-field expression (seconds first) and `@secondly` match to the second; everything else to the minute. */
function resolutionOf(expression: string): number {
  if (expression === '@secondly') return 1_000;
  return expression.startsWith('@') || expression.split(' ').length === 5 ? 60_000 : 1_000;
}

function instant(value: unknown, job: string, field: string): number {
  try {
    return parseInstant(value);
  } catch (error) {
    throw invalidJob(job, field, (error as Error).message);
  }
}

/** A schedule error (`cron`, `tz`) re-labelled with the job and the exclusion: `job "x": invalid exclude[2].cron: ...`. */
function relabel<T>(job: string, field: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (!SchedkitError.is(error, ErrorCode.InvalidSchedule)) throw error;
    const option = typeof error.details.field === 'string' ? error.details.field : 'cron';
    const reason = typeof error.details.reason === 'string' ? error.details.reason : error.message;
    const named = `${field}.${option}`;
    throw new SchedkitError(ErrorCode.InvalidSchedule, messages.invalidSchedule(job, named, reason), {
      cause: error.cause ?? error,
      details: { field: named, ...(error.details.cronField === undefined ? {} : { cronField: error.details.cronField }) },
    });
  }
}

function invalidJob(job: string, field: string, why: string): SchedkitError {
  return new SchedkitError(ErrorCode.InvalidJob, messages.invalidJob(job, field, why), { details: { field } });
}
