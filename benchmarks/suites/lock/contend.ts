import { setMaxListeners } from 'node:events';
import type { BenchLock } from './locks.js';

/**
 * The contender loop of the lock benchmark and the checks run on what it
 * records. Used in the suite's own process and in each contender process,
 * so one process or four measure exactly the same thing.
 *
 * Time is `monoMs()`: CLOCK_MONOTONIC, one clock for every process on the
 * machine, so holding intervals recorded by different processes can be
 * compared with each other.
 */

/** Monotonic milliseconds, shared by every process on this machine. */
export function monoMs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Upper bound on the acquisitions of one contender in one run (a window ends it long before). */
const MAX_CYCLES = 5_000_000;

export interface ContendSpec {
  /** Contenders in this process. */
  contenders: number;
  /** Resources: `k0` .. `k<keys-1>`; each acquisition picks one at random. */
  keys: number;
  /** Time in the critical section: 0 = one event-loop turn (setImmediate), else setTimeout(holdMs). */
  holdMs: number;
  warmupMs: number;
  windowMs: number;
  /** After the window, how long contenders get to finish what they are doing. */
  drainMs: number;
}

/** Holding intervals, one entry per acquisition (parallel arrays, so they travel as JSON cheaply). */
export interface Intervals {
  key: number[];
  /** monoMs() when the acquire resolved (holding). */
  enter: number[];
  /** monoMs() when the critical section ended, before the release was sent. */
  leave: number[];
  /** Fencing token, -1 when the lock has none. */
  token: number[];
  /** 1 when the in-process holder counter of the key was already non-zero on entry. */
  flag: number[];
}

export interface ContendOutcome {
  /** Acquisitions per contender that started holding inside the window. */
  counts: number[];
  /** Wait (asked → holding, ms) of every acquisition counted. */
  waits: number[];
  /** Waits still going on at the end of the window (ms so far): contenders left waiting. */
  pendingWaits: number[];
  intervals: Intervals;
  /** Times the in-process holder counter found another holder inside (also flagged per interval). */
  counterViolations: number;
  acquireErrors: number;
  /** Times the implementation gave up without the signal aborting (redlock: its retries ran out, "no lock granted"). */
  gaveUp: number;
  releaseErrors: number;
  firstError: string | undefined;
  /** Contenders still running when the drain time ran out. */
  stuck: number;
  /** CPU time (user + system) of this process from the start to the end of the drain, ms. */
  cpuMs: number;
}

export function emptyIntervals(): Intervals {
  return { key: [], enter: [], leave: [], token: [], flag: [] };
}

/**
 * Runs `spec.contenders` contenders on `lock` from `startAt` (monoMs):
 * warm-up, measured window, then an abort and a bounded drain. Each
 * contender loops: ask → hold (holder counter checked) → release.
 */
export async function contend(lock: BenchLock, spec: ContendSpec, startAt: number): Promise<ContendOutcome> {
  const warmupEnd = startAt + spec.warmupMs;
  const windowEnd = warmupEnd + spec.windowMs;
  const counts = new Array<number>(spec.contenders).fill(0);
  const waits: number[] = [];
  const pendingWaits: number[] = [];
  const intervals = emptyIntervals();
  const holders = new Int32Array(spec.keys);
  const controller = new AbortController();
  setMaxListeners(spec.contenders * 4 + 10, controller.signal);
  const { signal } = controller;
  let counterViolations = 0;
  let acquireErrors = 0;
  let gaveUp = 0;
  let releaseErrors = 0;
  let firstError: string | undefined;
  const noteError = (error: unknown): void => {
    firstError ??= error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  };

  const contender = async (index: number): Promise<void> => {
    // Set when the contender starts wanting a lock; kept while it asks again
    // (an implementation that gave up, an error), so the wait counts from the first ask.
    let askedAt: number | undefined;
    let keyIndex = 0;
    for (let cycle = 0; cycle < MAX_CYCLES && !signal.aborted; cycle++) {
      if (askedAt === undefined) {
        keyIndex = spec.keys === 1 ? 0 : Math.floor(Math.random() * spec.keys);
        askedAt = monoMs();
      }
      let holding;
      try {
        holding = await lock.acquire(`k${keyIndex}`, signal);
      } catch (error) {
        acquireErrors++;
        noteError(error);
        await sleep(5);
        continue;
      }
      const heldAt = monoMs();
      if (holding === null) {
        // Aborted (the loop ends), or the implementation gave up: ask again.
        if (!signal.aborted) gaveUp++;
        continue;
      }
      const asked = askedAt;
      askedAt = undefined;
      // The critical section: a holder counter per key, with a yield inside so
      // another holder in this process would be seen.
      let flag = 0;
      if (++holders[keyIndex]! !== 1) {
        flag = 1;
        counterViolations++;
      }
      if (spec.holdMs > 0) await sleep(spec.holdMs);
      else await nextTurn();
      holders[keyIndex]!--;
      const leftAt = monoMs();
      intervals.key.push(keyIndex);
      intervals.enter.push(heldAt);
      intervals.leave.push(leftAt);
      intervals.token.push(holding.token);
      intervals.flag.push(flag);
      if (heldAt >= warmupEnd && heldAt < windowEnd) {
        counts[index]!++;
        waits.push(heldAt - asked);
      } else if (heldAt >= windowEnd && asked < windowEnd) {
        pendingWaits.push(windowEnd - asked);
      }
      try {
        await holding.release();
      } catch (error) {
        releaseErrors++;
        noteError(error);
      }
    }
    // Still wanting the lock when the window closed: left waiting.
    if (askedAt !== undefined && askedAt < windowEnd) pendingWaits.push(windowEnd - askedAt);
  };

  const delay = startAt - monoMs();
  if (delay > 0) await sleep(delay);
  const cpuStart = process.cpuUsage();
  const running = new Set<Promise<void>>();
  for (let i = 0; i < spec.contenders; i++) {
    const run: Promise<void> = contender(i).finally(() => running.delete(run));
    running.add(run);
  }
  const end = windowEnd - monoMs();
  if (end > 0) await sleep(end);
  controller.abort();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled([...running]),
    new Promise((resolve) => (timer = setTimeout(resolve, spec.drainMs))),
  ]);
  clearTimeout(timer);
  const cpu = process.cpuUsage(cpuStart);
  return {
    counts,
    waits,
    pendingWaits,
    intervals,
    counterViolations,
    acquireErrors,
    gaveUp,
    releaseErrors,
    firstError,
    stuck: running.size,
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
}

export interface SequentialOutcome {
  cycles: number;
  /** CPU time of this process during the run, ms. */
  cpuMs: number;
  elapsedMs: number;
  /** acquire + release, ms. */
  latencies: number[];
  errors: number;
  firstError: string | undefined;
}

/** One client, nobody else: acquire + release back to back for `durationMs` (at most `maxCycles`). */
export async function sequential(lock: BenchLock, resource: string, durationMs: number, maxCycles: number): Promise<SequentialOutcome> {
  const signal = new AbortController().signal;
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const cpuStart = process.cpuUsage();
  const started = monoMs();
  const end = started + durationMs;
  let now = started;
  while (now < end && latencies.length < maxCycles) {
    const t0 = now;
    try {
      const held = await lock.acquire(resource, signal);
      if (held === null) throw new Error('a free lock was not acquired');
      await held.release();
    } catch (error) {
      errors++;
      firstError ??= error instanceof Error ? error.message : String(error);
      if (errors > 100) break;
    }
    now = monoMs();
    latencies.push(now - t0);
  }
  const cpu = process.cpuUsage(cpuStart);
  return { cycles: latencies.length, cpuMs: (cpu.user + cpu.system) / 1000, elapsedMs: now - started, latencies, errors, firstError };
}

export interface ExclusionReport {
  /** Holding intervals checked. */
  records: number;
  /** Acquisitions that overlapped another holder of the same key, or found the holder counter non-zero. */
  violations: number;
  overlaps: number;
  counterFlags: number;
  /** Holdings whose fencing token was not above the previous holder's of the same key. */
  fenceInversions: number;
}

/**
 * Mutual exclusion across every process: per key, sorted by entry, no
 * holding may start before an earlier one has ended; fencing tokens (where
 * there are any) must strictly increase in that order.
 */
export function checkExclusion(parts: readonly Intervals[]): ExclusionReport {
  let n = 0;
  for (const part of parts) n += part.key.length;
  const key = new Int32Array(n);
  const enter = new Float64Array(n);
  const leave = new Float64Array(n);
  const token = new Float64Array(n);
  const flag = new Uint8Array(n);
  let at = 0;
  for (const part of parts) {
    for (let i = 0; i < part.key.length; i++, at++) {
      key[at] = part.key[i]!;
      enter[at] = part.enter[i]!;
      leave[at] = part.leave[i]!;
      token[at] = part.token[i]!;
      flag[at] = part.flag[i]!;
    }
  }
  const order = Array.from({ length: n }, (_v, i) => i);
  order.sort((a, b) => key[a]! - key[b]! || enter[a]! - enter[b]!);
  let overlaps = 0;
  let counterFlags = 0;
  let violations = 0;
  let fenceInversions = 0;
  let currentKey = -1;
  let lastLeave = -Infinity;
  let lastToken = -Infinity;
  for (const i of order) {
    if (key[i] !== currentKey) {
      currentKey = key[i]!;
      lastLeave = -Infinity;
      lastToken = -Infinity;
    }
    const overlap = enter[i]! < lastLeave;
    if (overlap) overlaps++;
    if (flag[i] === 1) counterFlags++;
    if (overlap || flag[i] === 1) violations++;
    if (token[i]! >= 0) {
      if (token[i]! <= lastToken) fenceInversions++;
      lastToken = token[i]!;
    }
    lastLeave = Math.max(lastLeave, leave[i]!);
  }
  return { records: n, violations, overlaps, counterFlags, fenceInversions };
}
