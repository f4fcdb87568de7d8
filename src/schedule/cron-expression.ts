// The cron expression text: which forms schedkit accepts and their normal
// form. Separate from parsing into fields and from iteration because it is
// pure string validation, shared by the schedule and by anything that only
// needs to check or compare expressions.

import { show } from '../errors/messages.js';

/** The aliases cron-parser understands (matched case-insensitively). */
export const CRON_ALIASES = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@hourly', '@minutely', '@secondly', '@weekdays', '@weekends'] as const;

/**
 * Validates a cron expression and returns it normalised (single spaces,
 * lower-case alias). cron-parser alone is too lenient: it reads `''` as every
 * minute and pads 1-4 fields with wildcards.
 *
 * @throws Error (plain) with the reason.
 */
export function normaliseCron(expr: unknown): string {
  if (typeof expr !== 'string') throw new Error(`expected a cron expression string, got ${show(expr)}`);
  const parts = expr.trim().split(/\s+/);
  const first = parts[0] ?? '';
  if (first === '') throw new Error('the cron expression is empty');
  if (first.startsWith('@')) {
    const alias = first.toLowerCase();
    if (parts.length !== 1 || !(CRON_ALIASES as readonly string[]).includes(alias)) {
      throw new Error(`unknown alias ${show(expr.trim())}; expected one of ${CRON_ALIASES.join(' ')}`);
    }
    return alias;
  }
  if (parts.length !== 5 && parts.length !== 6) {
    throw new Error(`expected 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), got ${parts.length} in ${show(expr)}`);
  }
  return parts.join(' ');
}
