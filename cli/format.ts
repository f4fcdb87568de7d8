import type { ScheduleDescriptor } from '../src/schedule/schedule.js';

/**
 * How the CLI prints: aligned text tables for people, one JSON document for
 * scripts (`--json`). Dates are ISO 8601 in UTC in both, so a table can be
 * pasted into a ticket and read the same in any zone.
 */

/** Cells are strings; `null` and `undefined` print as `-`. */
export type Cell = string | number | boolean | null | undefined;

export function table(headers: string[], rows: Cell[][]): string {
  const text = rows.map((row) => row.map(cell));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...text.map(line)].join('\n') + '\n';
}

/** `key: value` lines, keys aligned. */
export function fields(entries: Array<[string, Cell]>): string {
  const width = Math.max(...entries.map(([k]) => k.length));
  return entries.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${cell(v)}`).join('\n') + '\n';
}

export function cell(value: Cell): string {
  if (value === null || value === undefined || value === '') return '-';
  // A stored string may hold anything: never let one break the table or the terminal.
  return String(value).replace(/[\u0000-\u001f\u007f]/g, ' ');
}

export function iso(date: Date | null | undefined): string | null {
  return date === null || date === undefined ? null : date.toISOString();
}

/** JSON with dates as ISO text, two-space indented, ending with a newline. */
export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** A schedule in words: `cron 0 9 * * 1-5 (Europe/Paris)`, `every 30s`, `once at ...`. */
export function scheduleText(schedule: ScheduleDescriptor | null): string {
  if (schedule === null) return 'on trigger only';
  if (schedule.kind === 'once') return `once at ${schedule.at}`;
  if (schedule.kind === 'interval') return `every ${duration(schedule.everyMs)}`;
  return schedule.tz === undefined || schedule.tz === 'UTC' ? `cron ${schedule.cron}` : `cron ${schedule.cron} (${schedule.tz})`;
}

function duration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
