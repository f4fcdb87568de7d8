import { ConfigError } from '../errors/schedkit-error.js';
import { show } from '../errors/messages.js';
import { defaultConfig, type SchedulerConfigInput } from './config.js';

const STRING_FIELDS = new Set(['instanceId', 'defaultOverlap', 'defaultMisfire', 'redisUrl', 'postgresUrl']);
const NOT_FROM_ENV = new Set(['defaultRetry']);
const BOOLEAN_FIELDS = new Set(['lockRuns']);

/** `maxConcurrent` → `SCHEDKIT_MAX_CONCURRENT`. */
export function envName(field: string): string {
  return `SCHEDKIT_${field.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/**
 * Reads `SCHEDKIT_*` variables into a config input (pass it to
 * `resolveConfig` or `schedulerModule`, which validate it). Numbers must be
 * plain decimal numbers; a variable that is not one is reported in a
 * `ConfigError` naming the variable; booleans are `true`, `false`, `1` or
 * `0`. Unset and empty variables are ignored.
 *
 * @example
 * // SCHEDKIT_MAX_CONCURRENT=20 SCHEDKIT_REDIS_URL=redis://127.0.0.1:6379
 * const config = resolveConfig(configFromEnv(process.env));
 */
export function configFromEnv(env: Record<string, string | undefined> = process.env): SchedulerConfigInput {
  if (typeof env !== 'object' || env === null) {
    throw new ConfigError([`expected an object of environment variables (process.env), got ${show(env)}`], 'configFromEnv');
  }
  const input: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const field of Object.keys(defaultConfig())) {
    if (NOT_FROM_ENV.has(field)) continue;
    const name = envName(field);
    const value: unknown = env[name];
    const raw = typeof value === 'string' ? value.trim() : value;
    if (raw === undefined || raw === '') continue;
    if (typeof raw !== 'string') {
      problems.push(`${name} must be a string, got ${show(env[name])}`);
    } else if (STRING_FIELDS.has(field)) {
      input[field] = raw;
    } else if (BOOLEAN_FIELDS.has(field)) {
      if (raw === 'true' || raw === '1') input[field] = true;
      else if (raw === 'false' || raw === '0') input[field] = false;
      else problems.push(`${name} must be true, false, 1 or 0, got ${JSON.stringify(raw.slice(0, 40))}`);
    } else if (/^-?\d+(\.\d+)?$/.test(raw) && Number.isFinite(Number(raw))) {
      // A run of 400 digits is "a decimal number" but Infinity as a double.
      input[field] = Number(raw);
    } else {
      problems.push(`${name} must be a number, got ${JSON.stringify(raw.slice(0, 40))}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems, 'configFromEnv');
  return input as SchedulerConfigInput;
}
