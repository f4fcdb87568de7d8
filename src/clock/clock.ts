/** An opaque handle returned by `Clock.setTimeout`. */
export type TimerHandle = { readonly __timer: unique symbol } | object;

/**
 * Time as schedkit sees it. Everything that reads the time or waits goes
 * through a `Clock`, so tests drive time with a `FakeClock` instead of
 * sleeping, and an instance can be given a skewed clock to prove that slot
 * claims do not trust local time.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds. The timer must not keep the process alive by itself. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock: `Date.now()` and unref'd Node timers. */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = setTimeout(fn, Math.max(0, ms));
    // A scheduler's timer must not keep a process alive that has nothing
    // else to do: the app decides when to exit.
    timer.unref();
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    clearTimeout(handle as NodeJS.Timeout);
  }
}

/**
 * Keeps the Node process alive until the returned function is called.
 *
 * Clock timers are unref'd so that an idle scheduler never holds a process
 * open. A stop is different: the caller is waiting on it (often with a
 * top-level `await`), and its deadlines (`shutdownTimeoutMs`, the lock
 * release, the backend calls) are what end it. Without a ref'd handle, a
 * process with nothing else alive would exit in the middle of the stop
 * (code 13, "unsettled top-level await") instead of aborting the runs and
 * resolving. Independent of the `Clock` so it holds with a `FakeClock` too.
 */
export function keepProcessAlive(): () => void {
  const handle = setInterval(() => undefined, 2 ** 31 - 1);
  return () => clearInterval(handle);
}

/** A clock offset from another one; used to simulate an instance with a skewed clock. */
export class OffsetClock implements Clock {
  constructor(
    private readonly base: Clock,
    private readonly offsetMs: number,
  ) {}

  now(): number {
    return this.base.now() + this.offsetMs;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.base.setTimeout(fn, ms);
  }

  clearTimeout(handle: TimerHandle): void {
    this.base.clearTimeout(handle);
  }
}

/** Resolves after `ms` on `clock`, or rejects with the signal's reason when it aborts first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
