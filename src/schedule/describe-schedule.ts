import type { ScheduleDescriptor } from './schedule.js';

/**
 * A stored schedule in a few words, for people reading a list of jobs:
 * `cron 0 3 * * * (Europe/Paris)`, `every 30s`, `once at 2026-03-01T15:00:00.000Z`,
 * `on trigger only`. A zone is named unless it is UTC.
 */
export function describeSchedule(schedule: ScheduleDescriptor | null): string {
  if (schedule === null) return 'on trigger only';
  if (schedule.kind === 'once') return `once at ${schedule.at}`;
  if (schedule.kind === 'interval') return `every ${duration(schedule.everyMs)}`;
  return schedule.tz === undefined || schedule.tz === 'UTC' ? `cron ${schedule.cron}` : `cron ${schedule.cron} (${schedule.tz})`;
}

/** The largest whole unit: `90s` → `90s`, `120000` ms → `2m`. */
function duration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
