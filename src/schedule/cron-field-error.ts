// Which field of a cron expression is wrong, and why, in words a user can act
// on. cron-parser reports a bad field without naming it ("Constraint error,
// got value 61 expected range 0-59"); this reads each field on its own to
// find the culprit and rewrites the reason around the field's name. Runs only
// on the error path, so it never costs anything for a valid expression.

import { CronExpressionParser } from 'cron-parser';

/** The fields of a 5-field expression, minute first; a 6-field one has `second` in front. */
const FIVE_FIELDS = ['minute', 'hour', 'day of month', 'month', 'day of week'] as const;

/** A cron field's name as error texts write it. */
export type CronFieldName = 'second' | (typeof FIVE_FIELDS)[number];

/** Why an expression was refused, naming the field when one field alone is at fault. */
export interface CronFieldProblem {
  /** The field at fault, or undefined when only the fields together are wrong (`0 0 30 2 *`). */
  field: CronFieldName | undefined;
  /** `"61 * * * *": minute: 61 is not in 0-59`. */
  reason: string;
}

/**
 * Explains why cron-parser refused `expression` (already normalised: 5 or 6
 * fields separated by single spaces, or an alias), given the error it threw.
 */
export function describeCronError(expression: string, error: unknown): CronFieldProblem {
  const raw = error instanceof Error ? error.message : String(error);
  const parts = expression.split(' ');
  const names: readonly CronFieldName[] = parts.length === 6 ? ['second', ...FIVE_FIELDS] : FIVE_FIELDS;
  if (parts.length === names.length) {
    for (let i = 0; i < parts.length; i++) {
      const alone = parts.map((part, j) => (j === i ? part : '*')).join(' ');
      const message = parseError(alone);
      if (message !== undefined) return { field: names[i], reason: `"${expression}": ${names[i]}: ${explain(parts[i]!, message)}` };
    }
  }
  return { field: undefined, reason: `"${expression}": ${raw}` };
}

function parseError(expression: string): string | undefined {
  try {
    CronExpressionParser.parse(expression, { tz: 'UTC', currentDate: 0, hashSeed: expression });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** cron-parser's reason for one field, rewritten; its own text when the form is not one we know. */
function explain(text: string, message: string): string {
  let m = /got value (\S+) expected range (\d+)-(\d+)/.exec(message);
  if (m !== null) return `${m[1]} is not in ${m[2]}-${m[3]}`;
  m = /got range (\S+) expected range (\d+)-(\d+)/.exec(message);
  if (m !== null) return `range ${m[1]} is not within ${m[2]}-${m[3]}`;
  if (/cannot repeat at every 0 time/.test(message)) return `step 0 in "${text}": a step must be at least 1`;
  m = /Invalid range: (\S+), min\((\S+)\) > max\((\S+)\)/.exec(message);
  // `70/5` is read as the range 70-59: its start is past the field's last value.
  if (m !== null && !text.includes('-')) return `"${text}" starts at ${m[2]}, past the last value ${m[3]}`;
  if (m !== null) return `range ${m[1]} in "${text}" starts after it ends (${m[2]} > ${m[3]})`;
  if (/occurrence number/.test(message)) return `"${text}": the occurrence after # must be 1-5`;
  if (/Invalid characters/.test(message)) return `"${text}" is not a value, range, step or name this field accepts`;
  return `"${text}": ${message}`;
}
