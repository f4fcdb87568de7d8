/**
 * Durations as schedules and options accept them (`'1h30m'`, `'500ms'`, or a
 * number of milliseconds). Kept apart from the schedule kinds so that every
 * kind parses a duration the same way.
 */
import { show } from '../errors/messages.js';

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;
// Descending order: '1h30m' is accepted, '30m1h' and '1m1m' are not.
const UNIT_RANK: Record<Unit, number> = { d: 5, h: 4, m: 3, s: 2, ms: 1 };
// 'ms' must come before 'm' and 's' in the alternation.
const COMPONENT = /(\d+(?:\.\d+)?)(ms|d|h|m|s)\s*/y;

/**
 * Parses a duration into milliseconds.
 *
 * - a number is milliseconds: a finite, non-negative whole number;
 * - a string is one or more `<number><unit>` parts in descending unit order,
 *   units `d`, `h`, `m`, `s`, `ms` (`'500ms'`, `'15m'`, `'1h30m'`, `'1h 30m'`,
 *   `'1.5h'`); a bare number such as `'5'` is rejected because its unit is a guess.
 *
 * `'0m'` parses to 0: callers decide whether zero is allowed.
 *
 * @throws Error (plain) with the reason; callers wrap it with their context.
 * @example parseDuration('1h30m') // 5_400_000
 */
export function parseDuration(value: number | string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${show(value)} is not a finite number of milliseconds`);
    if (value < 0) throw new Error(`${show(value)} is negative`);
    if (!Number.isInteger(value)) throw new Error(`${show(value)} is not a whole number of milliseconds`);
    return value;
  }
  if (typeof value !== 'string') throw new Error(`expected a number of milliseconds or a duration string, got ${show(value)}`);
  const text = value.trim();
  if (text === '') throw new Error('the duration is empty');
  if (/^[+-]?\d+(\.\d+)?$/.test(text)) {
    throw new Error(`${show(value)} has no unit: write e.g. "${text}ms" or "${text}s", or pass a number of milliseconds`);
  }
  let total = 0;
  let lastRank = Number.POSITIVE_INFINITY;
  COMPONENT.lastIndex = 0;
  while (COMPONENT.lastIndex < text.length) {
    const at = COMPONENT.lastIndex;
    const match = COMPONENT.exec(text);
    if (match === null) {
      throw new Error(`${show(value)} is not a duration: unexpected ${show(text.slice(at, at + 10))}; expected parts like "1h30m", "15m", "500ms"`);
    }
    const unit = match[2] as Unit;
    const rank = UNIT_RANK[unit];
    if (rank >= lastRank) throw new Error(`${show(value)} is not a duration: units must appear once each, largest first (d h m s ms)`);
    lastRank = rank;
    total += Number(match[1]) * UNIT_MS[unit];
  }
  if (!Number.isInteger(total)) throw new Error(`${show(value)} is not a whole number of milliseconds`);
  if (!Number.isSafeInteger(total)) throw new Error(`${show(value)} is too large`);
  return total;
}
