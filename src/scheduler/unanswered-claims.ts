import type { Backend } from '../backend/backend.js';
import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';
import type { Logger } from '../observability/logger.js';

/** Attempt ids per `releaseClaims` call (the call reads every active run once). */
const RELEASE_BATCH = 5_000;

/**
 * Attempt ids this instance offered in claims whose call failed with an
 * outage. A call that timed out may still have run in Redis (sent to a
 * frozen server, it runs at the thaw): the run is then active under this
 * instance, which never heard of it. Left alone it would wait for its lease
 * to run out and be reaped as `stalled`: a lease late, a false failure in
 * the history, an attempt spent (on its last attempt, never run). After the
 * outage they are given back (`Backend.releaseClaims`), before the reapers'
 * grace ends.
 *
 * Bounded by the claims in flight when the outage began: none is sent while
 * it lasts.
 */
export class UnansweredClaims {
  private runIds: string[] = [];

  constructor(
    private readonly backend: Backend,
    private readonly instanceId: string,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.runIds.length;
  }

  /** A claim offering `runIds` failed with `error`; only outages are kept (any other failure never ran). */
  failed(runIds: readonly string[], error: unknown): void {
    if (SchedkitError.is(error, ErrorCode.BackendUnavailable)) for (const id of runIds) this.runIds.push(id);
  }

  /** Gives back whatever those claims took. On a failure the ids stay kept and the error is thrown. */
  async release(): Promise<void> {
    let released = 0;
    while (this.runIds.length > 0) {
      const batch = this.runIds.slice(0, RELEASE_BATCH);
      released += await this.backend.releaseClaims(this.instanceId, batch);
      this.runIds.splice(0, batch.length);
    }
    if (released > 0) {
      this.logger.warn('gave back runs claimed by calls that failed here but ran in the backend', { runs: released });
    }
  }
}
