/**
 * What the fire-accuracy suite and its contender processes say to each other:
 * the config a contender process is started with (BENCH_CONFIG) and the
 * result line it prints at the end.
 */

/**
 * The settings both schedkit contenders change from the defaults (named in
 * the suite's tables and beside its figures in the README): with the
 * default `maxConcurrent` of 10, 1,000 runs due at once would wait for
 * permits and measure the queue, not the scheduler.
 */
export const FIRE_SCHEDKIT_SETTINGS = { maxConcurrent: 20_000 } as const;

/** The contenders, in the order they run. */
export const CONTENDERS = ['setTimeout', 'croner', 'node-cron', 'schedkit-memory', 'schedkit-redis', 'bullmq'] as const;
export type ContenderName = (typeof CONTENDERS)[number];

/** One measured phase: `jobs` jobs every second, measured over the slots of [start, start + windowMs). */
export interface PhasePlan {
  jobs: number;
  /** Warm-up before the window: firing, not measured (a whole number of seconds; 0 = measure from the first slot). */
  warmMs: number;
  /** Length of the measured window (a whole number of seconds). */
  windowMs: number;
}

export interface ContenderConfig {
  contender: ContenderName;
  /** Phases run one after the other in the same process; jobs are added between them (never removed). */
  phases: PhasePlan[];
  /** After the last window, how long to wait at most for late fires of its slots. */
  drainMs: number;
  /** The process gives up (exit 2) when its turn has not come by then (ms after it started). */
  maxWaitMs: number;
  /** ... or when it has not finished by then (ms after its turn came). */
  maxRunMs: number;
  /** Redis contenders: the suite's redis-server and a key prefix of their own. */
  redisUrl?: string;
  prefix?: string;
}

/** Lateness buckets of the histogram: a fire counts in the first bucket with lateness <= upToMs. */
export const HISTOGRAM_BUCKETS_MS = [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, Number.POSITIVE_INFINITY] as const;

export interface RedisCost {
  /** Redis server CPU (user + sys) over the CPU window, ms. */
  cpuMs: number;
  /** Script calls (evalsha/eval/fcall) seen by Redis over the CPU window (`commandDelta().sent`). */
  sent: number;
  /** Every command Redis executed over the CPU window, commands run inside scripts included. */
  executed: number;
  /** Commands the client process wrote to its connections over the CPU window (counted in ioredis), plain commands included. */
  clientCommands: number;
  byCommand: Record<string, number>;
  clientByCommand: Record<string, number>;
}

export interface PhaseResult {
  jobs: number;
  windowStart: number;
  windowMs: number;
  /** jobs × slots in the window. */
  expected: number;
  /** Fires whose slot is in the window (duplicates included). */
  fires: number;
  /** (job, slot) pairs of the window that fired more than once, and the extra fires. */
  duplicatePairs: number;
  duplicateFires: number;
  /** (job, slot) pairs of the window that never fired before the process stopped: skipped + dropped + pending + lost. */
  missed: number;
  /** ... of which the overlap policy skipped (`run:skipped`): deliberate, counted, not lost. */
  skipped: number;
  /** ... of which the misfire policy dropped (logged "missed slots": dispatched later than misfireGraceMs). */
  dropped: number;
  /** ... of which were still pending in the store when the process stopped (put back, or handed back by the stop): not run yet, not lost. */
  pending: number;
  /** ... of which nothing accounts for: never ran, not recorded as skipped or dropped, not in the store. Must be 0. */
  lost: number;
  /** Fires that came more than 1 s after their slot (late, but they ran). */
  lateRan: number;
  /** Fires whose slot was not a whole second, or whose job is not part of the phase: never expected. */
  unexpected: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  minMs: number;
  meanMs: number;
  histogram: Array<{ upToMs: number; count: number }>;
  /** The CPU window (from mid-second before the first slot to mid-second before the end) and what happened in it. */
  cpuWindowMs: number;
  firesInCpuWindow: number;
  cpuMs: number;
  redis?: RedisCost;
}

export interface ContenderResult {
  contender: ContenderName;
  phases: PhaseResult[];
  /**
   * What the contender logged or emitted besides runs over its whole turn
   * (schedkit only): `error: <message>`, `warn: <message>`, `backend:down`,
   * `run:retry`, `run:stalled`, `run:skipped overlap`, `misfire dropped` ... -> count.
   */
  incidents?: Record<string, number>;
  /** Time from the go signal to the end of the last window. */
  runMs: number;
}
