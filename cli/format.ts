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
