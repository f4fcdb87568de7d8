import type { RunFinish } from '../backend/backend.js';
import type { Logger } from '../observability/logger.js';
import { MAX_PER_CALL } from './call-batcher.js';

/**
 * Run outcomes the backend could not take because it was out of reach.
 * Dropping them would let the run's lease run out and another instance reap
 * it as `stalled` (and run a success again, or retry a failure without its
 * delay); they are sent again, in order, once the backend answers. Bounded by
 * what was in flight when the outage began: no run starts while it lasts.
 *
 * Sending twice is safe: the backend records an outcome only for a run still
 * active under the same fencing token, so a call that timed out here but ran
 * in Redis later makes the second one answer "not recorded", nothing more.
 */
export class OutcomeBacklog {
  private kept: RunFinish[] = [];

  constructor(
    private readonly send: (finishes: RunFinish[]) => Promise<boolean[]>,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.kept.length;
  }

  keep(finish: RunFinish): void {
    this.kept.push(finish);
  }

  /** Sends every kept outcome. On a failure the unsent ones stay kept (ahead of newer ones) and the error is thrown. */
  async flush(): Promise<void> {
    if (this.kept.length === 0) return;
    const batch = this.kept;
    this.kept = [];
    let sent = 0;
    let recorded = 0;
    try {
      while (sent < batch.length) {
        const part = batch.slice(sent, sent + MAX_PER_CALL);
        recorded += (await this.send(part)).filter(Boolean).length;
        sent += part.length;
      }
    } catch (error) {
      this.kept = [...batch.slice(sent), ...this.kept];
      throw error;
    } finally {
      if (sent > 0) {
        // Not recorded: reaped as stalled meanwhile (this instance was cut off
        // while others went on), removed, or recorded by a call that timed
        // out here and still ran.
        this.logger.info('run outcomes kept during the outage sent', { runs: sent, recorded, notRecorded: sent - recorded });
      }
    }
  }
}
