import type { Clock, TimerHandle } from '../clock/clock.js';
import { LockLostError, SchedkitError } from '../errors/schedkit-error.js';
import { messages } from '../errors/messages.js';

/** One refresh of everything that must stay alive while work runs. Rejects when it is lost. */
export type Refresh = () => Promise<void>;

/**
 * Keeps a lease alive: calls `refresh` every `refreshMs` until stopped, and on
 * the first failure aborts `signal` with a `LockLostError` and stops.
 *
 * Schedkit owns this loop rather than using redlock's `using()`, which retries
 * a failed extension in a tight loop and masks the routine's result.
 */
export class LeaseKeeper {
  private timer: TimerHandle | undefined;
  private inFlight: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly refreshMs: number,
    private readonly refresh: Refresh,
    private readonly resource: string,
    /**
     * Aborted on loss. A caller that has other reasons to abort the same work
     * (shutdown) passes its own, saving an `AbortSignal.any` per lease.
     */
    private readonly controller = new AbortController(),
  ) {}

  /** Aborts (with `LockLostError`) when a refresh fails. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  start(): this {
    this.arm();
    return this;
  }

  /** Stops refreshing and waits for a refresh already in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.inFlight = this.tick();
    }, this.refreshMs);
  }

  private async tick(): Promise<void> {
    try {
      await this.refresh();
      this.arm();
    } catch (error) {
      if (this.stopped) return;
      this.stopped = true;
      const lost = SchedkitError.is(error, 'E_LOCK_LOST')
        ? error
        : new LockLostError(messages.lockLost(this.resource, error instanceof Error ? error.message : String(error)), {
            cause: error,
          });
      this.controller.abort(lost);
    }
  }
}
