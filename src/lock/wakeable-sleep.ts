import type { Clock, TimerHandle } from '../clock/clock.js';

/** No timer is armed longer than this (suspended machines drift): a longer sleep ends early and its caller re-checks. */
const MAX_ARM_MS = 30_000;

/**
 * A lock waiter's sleep, which a wake-up (a release, an abort, close) ends
 * early. A wake-up that comes while the waiter is awake (a call to the
 * server is out) ends its next sleep at once, so none is lost between a
 * check and the sleep that follows it.
 */
export class WakeableSleep {
  #pending = false;
  #interrupt: (() => void) | undefined;

  constructor(private readonly clock: Clock) {}

  /** Ends the current sleep, or else the next one. */
  wake(): void {
    this.#pending = true;
    this.#interrupt?.();
  }

  /** Sleeps up to `ms` (at most 30 s); a wake-up ends it early. */
  sleep(ms: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let timer: TimerHandle | undefined;
      const done = (): void => {
        this.#interrupt = undefined;
        this.#pending = false;
        if (timer !== undefined) this.clock.clearTimeout(timer);
        resolve();
      };
      this.#interrupt = done;
      timer = this.clock.setTimeout(done, Math.min(Math.max(0, ms), MAX_ARM_MS));
    });
  }
}
