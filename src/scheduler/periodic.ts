import type { Clock, TimerHandle } from '../clock/clock.js';

/**
 * Runs `task` again `everyMs` after each run ends (never two at once), until
 * stopped. `runSoon` runs it after `ms` instead of the regular wait.
 */
export class Periodic {
  private timer: TimerHandle | undefined;
  private running = false;

  constructor(
    private readonly clock: Clock,
    private readonly task: () => Promise<number | void>,
    private readonly everyMs: number,
  ) {}

  start(firstInMs = this.everyMs): void {
    this.running = true;
    this.arm(firstInMs);
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Re-arms the timer for `ms` from now (the task may return its own next wait too). */
  arm(ms: number): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.running) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.task().then((next) => this.arm(typeof next === 'number' ? next : this.everyMs));
    }, ms);
  }
}
