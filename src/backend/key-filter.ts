/**
 * The job keys registered on one scheduler, as `claimDueRuns` sees them: a
 * membership test, plus a version and a change log so a backend that mirrors
 * the set elsewhere (Redis) sends only what changed since its last copy,
 * instead of walking every key on every poll.
 */
export interface KeyFilter {
  has(key: string): boolean;
  /** Bumped on every key added or removed. */
  readonly version: number;
  /** Keys added and removed after `version`; null when the log no longer reaches that far (send `all()`). */
  changesSince(version: number): { added: string[]; removed: string[] } | null;
  all(): Iterable<string>;
}
