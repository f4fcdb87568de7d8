import type { RunFinish } from '../backend/backend.js';
import type { Clock } from '../clock/clock.js';
import type { Logger } from '../observability/logger.js';

interface Kept {
  finish: RunFinish;
  /** When the attempt ended, on `clock`. */
  endedAt: number;
}

/**
 * Run outcomes the backend did not take: out of reach (an outage, a call
 * that timed out) or a failed call of another kind (a bad reply, a replica
 * turned read-only). Dropping them would let the run's lease run out and
 * another instance reap it as `stalled` (and run a success again, or retry a
 * failure without its delay); they are sent again, in order, once the
 * backend answers (the runner resends the second kind itself). Bounded by
 * what was in flight when the failure came: no run starts during an outage.
 *
 * Sending twice is safe: the backend records an outcome only for a run still
 * active under the same fencing token, so a call that timed out here but ran
 * in Redis later makes the second one answer "not recorded", nothing more.
 *
 * Each is sent with how long ago its attempt ended, so the backend dates it
 * on its own clock at the time it ended, not at the time it was recorded.
 */
export class UnrecordedOutcomes {
  private kept: Kept[] = [];

  /** `record` sends one outcome (the runner's batcher: the kept ones go together, in calls of at most 500). */
  constructor(
    private readonly record: (finish: RunFinish) => Promise<boolean>,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.kept.length;
  }

  keep(finish: RunFinish, endedAt: number): void {
    this.kept.push({ finish, endedAt });
  }

  /** Sends every kept outcome. Those that fail stay kept (ahead of newer ones) and the first error is thrown. */
  async flush(): Promise<void> {
    if (this.kept.length === 0) return;
    const batch = this.kept;
    this.kept = [];
    const now = this.clock.now();
    const results = await Promise.allSettled(
      batch.map(({ finish, endedAt }) => this.record({ ...finish, endedMsAgo: Math.max(0, now - endedAt) })),
    );
    const failed = batch.filter((_, i) => results[i]!.status === 'rejected');
    this.kept = [...failed, ...this.kept];
    const sent = batch.length - failed.length;
    if (sent > 0) {
      const recorded = results.filter((r) => r.status === 'fulfilled' && r.value).length;
      // Not recorded: reaped as stalled meanwhile (this instance was cut off
      // while others went on), removed, or recorded by a call that timed out
      // here and still ran.
      this.logger.info('run outcomes kept during the outage sent', { runs: sent, recorded, notRecorded: sent - recorded });
    }
    const error = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (error !== undefined) throw error.reason;
  }
}
