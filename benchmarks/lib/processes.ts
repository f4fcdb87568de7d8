import { NodeProcess } from '../../test/helpers/node-process.js';

export { NodeProcess };

/**
 * Starts a TypeScript script as a child process (`node --import tsx`), with a
 * JSON config in the env var BENCH_CONFIG; it talks back in JSON lines on
 * stdout (each with a `message`). Stop it with `signal`/`kill` (by pid).
 */
export function startScript(label: string, script: string, config: unknown): NodeProcess {
  return new NodeProcess(label, script, { BENCH_CONFIG: JSON.stringify(config) });
}

/** The config a script started by `startScript` was given. */
export function scriptConfig<T>(): T {
  const raw = process.env.BENCH_CONFIG;
  if (raw === undefined) throw new Error('BENCH_CONFIG is not set: start this script with startScript()');
  return JSON.parse(raw) as T;
}

/** Writes one JSON line to stdout. */
export function report(message: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ message, ...fields })}\n`);
}

/**
 * Writes one JSON line, then exits once it has reached the pipe: a result
 * line of a few hundred kB does not fit the pipe's buffer, and exiting right
 * after `write` cut it short (the parent read half a line).
 */
export function reportThenExit(message: string, fields: Record<string, unknown>, code: number): void {
  process.stdout.write(`${JSON.stringify({ message, ...fields })}\n`, () => process.exit(code));
}
