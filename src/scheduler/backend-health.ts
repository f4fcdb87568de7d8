import { sleep, type Clock, type TimerHandle } from '../clock/clock.js';
import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';
import type { Logger } from '../observability/logger.js';
import type { SchedulerEventEmitter } from './events.js';

/**
 * Tracks whether the backend and the lock store are reachable.
 *
 * One failed call is not an outage: under load (a saturated Redis, an event
 * loop blocked past a client's command timeout) a single command times out
 * while the store still answers. A failure is confirmed by probes of both
 * stores, sent at once and again every 100 ms; only when they keep failing
 * for a second (`CONFIRM_WINDOW_MS`) is the outage logged once and emitted
 * as `backend:down`. While down, a probe runs every `probeEveryMs` instead of
 * every tick failing loudly; the first successful probe emits `backend:up`.
 *
 * Either way `onRecovered` is called once the probe answers, so what the
 * failure left behind is cleared: outcomes kept by the runner are recorded,
 * claims with no answer given back, and the misfire policy applied to slots
 * whose claim failed — after an outage to every job, after one slow call
 * only to the jobs whose claim failed (`outage` false): re-planning every
 * job of an overloaded instance would drop the slots it is only late on.
 */
/**
 * A failed call is an outage only when the probes sent after it keep failing
 * for this long: a load spike that makes a few calls time out (a saturated
 * Redis, lock clients' 500 ms command timeout) is absorbed; a store that is
 * gone is declared down about a second after the first failure.
 */
const CONFIRM_WINDOW_MS = 1_000;
const CONFIRM_RETRY_MS = 100;
const MAX_CONFIRM_PROBES = 20;

export class BackendHealth {
  private downSince: number | null = null;
  /** When the failure being confirmed happened; null when none is. */
  private suspectSince: number | null = null;
  private timer: TimerHandle | undefined;
  private running = false;

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly events: SchedulerEventEmitter,
    private readonly probe: () => Promise<unknown>,
    private readonly probeEveryMs: number,
    /** Called with the instant the outage (or the failed call) began (this instance's clock), and whether it was an outage. */
    private readonly onRecovered: (since: number, outage: boolean) => Promise<void>,
  ) {}

  get isDown(): boolean {
    return this.downSince !== null;
  }

  start(): void {
    this.running = true;
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Reports a failed backend call. Outages (`E_BACKEND_UNAVAILABLE`) switch
   * to the down state; anything else is a bug or a bad reply and is logged.
   */
  report(error: unknown): void {
    if (!SchedkitError.is(error, ErrorCode.BackendUnavailable)) {
      this.logger.error('backend call failed', { err: error });
      return;
    }
    if (this.downSince !== null || this.suspectSince !== null) return;
    const since = this.clock.now();
    // Stopped (or not started): nothing would act on the answer, so no probe.
    if (!this.running) {
      this.declareDown(since, error);
      return;
    }
    this.suspectSince = since;
    void this.confirm(since, error);
  }

  private async confirm(since: number, error: unknown): Promise<void> {
    // Bounded by time (CONFIRM_WINDOW_MS) and by count, whatever the clock does.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.probe();
        break;
      } catch {
        if (!this.running || attempt >= MAX_CONFIRM_PROBES || this.clock.now() - since >= CONFIRM_WINDOW_MS) {
          this.suspectSince = null;
          this.declareDown(since, error);
          return;
        }
        await sleep(this.clock, CONFIRM_RETRY_MS);
      }
    }
    this.suspectSince = null;
    if (!this.running) return;
    this.logger.warn('a backend call failed but the backend and the lock answer: slow, not down', {
      err: error,
      checkedInMs: this.clock.now() - since,
    });
    await this.runRecovery(since, false);
  }

  private declareDown(since: number, error: unknown): void {
    this.downSince = since;
    this.logger.error('backend or lock unreachable: no run starts until both are back', { err: error });
    this.events.emit('backend:down', { error: error instanceof Error ? error : new Error(String(error)) });
    this.armProbe();
  }

  private async runRecovery(since: number, outage: boolean): Promise<void> {
    try {
      await this.onRecovered(since, outage);
    } catch (error) {
      this.report(error);
    }
  }

  private armProbe(): void {
    if (!this.running) return;
    this.timer = this.clock.setTimeout(() => void this.runProbe(), this.probeEveryMs);
  }

  private async runProbe(): Promise<void> {
    this.timer = undefined;
    if (!this.running || this.downSince === null) return;
    try {
      await this.probe();
    } catch {
      this.armProbe();
      return;
    }
    const downSince = this.downSince;
    const downForMs = this.clock.now() - downSince;
    this.downSince = null;
    this.logger.info('backend reachable again', { downForMs });
    this.events.emit('backend:up', { downForMs });
    await this.runRecovery(downSince, true);
  }
}
