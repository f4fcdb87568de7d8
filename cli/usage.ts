/** A command line that does not make sense: printed with a hint to `--help`, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A positive integer option, or a usage error naming it. */
export function integer(value: string | boolean | undefined, option: string): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${option} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}
