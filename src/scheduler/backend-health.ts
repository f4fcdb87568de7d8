import type { Clock, TimerHandle } from '../clock/clock.js';
import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';
import type { Logger } from '../observability/logger.js';
import type { SchedulerEventEmitter } from './events.js';

/**
 * Tracks whether the backend and the lock store are reachable. The first failure is logged once
 * and emitted as `backend:down`; while down, a probe runs every `probeEveryMs`
 * instead of every tick failing loudly; the first successful probe emits
 * `backend:up` and calls `onRecovered` so the scheduler can apply the misfire
 * policy to what was missed.
 */
export class BackendHealth {
  private downSince: number | null = null;
  private timer: TimerHandle | undefined;
  private running = false;

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly events: SchedulerEventEmitter,
    private readonly probe: () => Promise<unknown>,
    private readonly probeEveryMs: number,
    /** Called with the instant the outage began (this instance's clock). */
    private readonly onRecovered: (downSince: number) => Promise<void>,
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
    if (this.downSince !== null) return;
    this.downSince = this.clock.now();
    this.logger.error('backend or lock unreachable: no run starts until both are back', { err: error });
    this.events.emit('backend:down', { error: error instanceof Error ? error : new Error(String(error)) });
    this.armProbe();
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
    try {
      await this.onRecovered(downSince);
    } catch (error) {
      this.report(error);
    }
  }
}
