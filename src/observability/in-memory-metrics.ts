import type { MetricsCollector } from './metrics.js';

/** The `MetricsCollector` methods, each counted by `InMemoryMetrics`. */
export type MetricName = keyof MetricsCollector;

/** The methods that name a job, so they are also counted per job. */
export type JobMetricName =
  | 'runStarted'
  | 'runCompleted'
  | 'runFailed'
  | 'runRetried'
  | 'runTimedOut'
  | 'runSkipped'
  | 'runStalled'
  | 'runAbandoned'
  | 'fireLateness';

const METRIC_NAMES: readonly MetricName[] = [
  'runStarted',
  'runCompleted',
  'runFailed',
  'runRetried',
  'runTimedOut',
  'runSkipped',
  'runStalled',
  'runAbandoned',
  'lockAcquired',
  'lockContended',
  'lockLost',
  'fireLateness',
];

/** Count, extremes, mean and percentiles of a set of samples; all 0 when there are none. */
export interface SampleSummary {
  count: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
}

/** Plain numbers only: safe to `JSON.stringify`, compare with `toEqual`, or print. */
export interface MetricsSnapshot {
  /** Calls of each method (all jobs together) since construction or `reset()`. */
  counters: Record<MetricName, number>;
  /** Per job (the string metrics were called with): calls of each job method, only those seen. */
  jobs: Record<string, Partial<Record<JobMetricName, number>>>;
  /** Summary of the retained `fireLateness` samples (ms). */
  lateness: SampleSummary;
  /** Summary of the retained `runCompleted` durations (ms). */
  durations: SampleSummary;
  /** Summary of the retained `lockAcquired` waits (ms). */
  lockWaits: SampleSummary;
}

/**
 * A fixed-capacity ring of numbers: keeps the newest `capacity` samples, so
 * memory stays bounded however long the process runs.
 */
export class SampleRing {
  /** Most samples kept. */
  readonly capacity: number;
  private readonly buffer: Float64Array;
  private next = 0;
  private length = 0;
  private pushed = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`SampleRing: capacity must be an integer >= 1, got ${String(capacity)}`);
    }
    this.capacity = capacity;
    this.buffer = new Float64Array(capacity);
  }

  /** Adds a sample, evicting the oldest when full. */
  push(value: number): void {
    this.buffer[this.next] = value;
    this.next = this.next + 1 === this.capacity ? 0 : this.next + 1;
    if (this.length < this.capacity) this.length++;
    this.pushed++;
  }

  /** Samples currently kept. */
  get size(): number {
    return this.length;
  }

  /** Samples ever pushed since construction or `clear()` (including evicted ones). */
  get total(): number {
    return this.pushed;
  }

  /** The kept samples, oldest first (a copy). */
  values(): number[] {
    const out = new Array<number>(this.length);
    const start = this.length < this.capacity ? 0 : this.next;
    for (let i = 0; i < this.length; i++) out[i] = this.buffer[(start + i) % this.capacity]!;
    return out;
  }

  clear(): void {
    this.next = 0;
    this.length = 0;
    this.pushed = 0;
  }
}

/** Options of `InMemoryMetrics`. */
export interface InMemoryMetricsOptions {
  /** Samples kept per series (lateness, durations, lock waits). @default 10000 */
  maxSamples?: number;
}

/**
 * Keeps every metric in memory, for tests and inspection: a counter per
 * method (in total and per job) and the newest samples of lateness, run
 * durations and lock waits. Non-finite samples are counted but not kept.
 *
 * @example
 * const metrics = new InMemoryMetrics();
 * // ... run the scheduler with it ...
 * expect(metrics.count('runFailed', 'acme/report')).toBe(1);
 * console.log(metrics.snapshot().lateness.p99);
 */
export class InMemoryMetrics implements MetricsCollector {
  /** `fireLateness` samples (ms), newest `maxSamples` kept. */
  readonly lateness: SampleRing;
  /** `runCompleted` durations (ms), newest `maxSamples` kept. */
  readonly durations: SampleRing;
  /** `lockAcquired` waits (ms), newest `maxSamples` kept. */
  readonly lockWaits: SampleRing;
  private totals: Record<MetricName, number> = zeroTotals();
  private perJob = new Map<string, Partial<Record<JobMetricName, number>>>();

  constructor(options: InMemoryMetricsOptions = {}) {
    const capacity = options.maxSamples ?? 10_000;
    this.lateness = new SampleRing(capacity);
    this.durations = new SampleRing(capacity);
    this.lockWaits = new SampleRing(capacity);
  }

  runStarted(job: string): void {
    this.countJob('runStarted', job);
  }
  runCompleted(job: string, durationMs: number): void {
    this.countJob('runCompleted', job);
    if (Number.isFinite(durationMs)) this.durations.push(durationMs);
  }
  runFailed(job: string): void {
    this.countJob('runFailed', job);
  }
  runRetried(job: string): void {
    this.countJob('runRetried', job);
  }
  runTimedOut(job: string): void {
    this.countJob('runTimedOut', job);
  }
  runSkipped(job: string): void {
    this.countJob('runSkipped', job);
  }
  runStalled(job: string): void {
    this.countJob('runStalled', job);
  }
  runAbandoned(job: string): void {
    this.countJob('runAbandoned', job);
  }
  lockAcquired(waitMs: number): void {
    this.totals.lockAcquired++;
    if (Number.isFinite(waitMs)) this.lockWaits.push(waitMs);
  }
  lockContended(): void {
    this.totals.lockContended++;
  }
  lockLost(): void {
    this.totals.lockLost++;
  }
  fireLateness(job: string, ms: number): void {
    this.countJob('fireLateness', job);
    if (Number.isFinite(ms)) this.lateness.push(ms);
  }

  /** Calls of `metric` in total, or for one job when `job` is given. */
  count(metric: MetricName, job?: string): number {
    if (job === undefined) return this.totals[metric];
    return this.perJob.get(job)?.[metric as JobMetricName] ?? 0;
  }

  /** Jobs seen so far, in first-seen order. */
  jobs(): string[] {
    return [...this.perJob.keys()];
  }

  /** Every counter and a summary of every sample series, as plain numbers. */
  snapshot(): MetricsSnapshot {
    const jobs: Record<string, Partial<Record<JobMetricName, number>>> = {};
    for (const [job, counters] of this.perJob) {
      // defineProperty: a job called "__proto__" must be data, not a prototype change.
      Object.defineProperty(jobs, job, { value: { ...counters }, enumerable: true, writable: true, configurable: true });
    }
    return {
      counters: { ...this.totals },
      jobs,
      lateness: summarize(this.lateness.values()),
      durations: summarize(this.durations.values()),
      lockWaits: summarize(this.lockWaits.values()),
    };
  }

  /** Clears every counter and sample. */
  reset(): void {
    this.totals = zeroTotals();
    this.perJob.clear();
    this.lateness.clear();
    this.durations.clear();
    this.lockWaits.clear();
  }

  private countJob(metric: JobMetricName, job: string): void {
    this.totals[metric]++;
    let counters = this.perJob.get(job);
    if (counters === undefined) this.perJob.set(job, (counters = {}));
    counters[metric] = (counters[metric] ?? 0) + 1;
  }
}

/**
 * The `p`-th percentile (0-100) of `samples` by the nearest-rank method: the
 * smallest sample with at least `p`% of the samples at or below it, so the
 * result is always one of the samples. `NaN` for no samples. Does not modify
 * `samples`.
 *
 * @example
 * percentile([5, 1, 4, 2, 3], 50); // 3
 */
export function percentile(samples: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile: p must be from 0 to 100, got ${String(p)}`);
  if (samples.length === 0) return Number.NaN;
  return rankOf([...samples].sort(ascending), p);
}

function rankOf(sorted: readonly number[], p: number): number {
  const index = Math.max(0, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[index]!;
}

function ascending(a: number, b: number): number {
  return a - b;
}

function summarize(samples: number[]): SampleSummary {
  if (samples.length === 0) return { count: 0, min: 0, max: 0, mean: 0, p50: 0, p90: 0, p99: 0 };
  samples.sort(ascending);
  let sum = 0;
  for (const s of samples) sum += s;
  return {
    count: samples.length,
    min: samples[0]!,
    max: samples[samples.length - 1]!,
    mean: sum / samples.length,
    p50: rankOf(samples, 50),
    p90: rankOf(samples, 90),
    p99: rankOf(samples, 99),
  };
}

function zeroTotals(): Record<MetricName, number> {
  const totals = {} as Record<MetricName, number>;
  for (const name of METRIC_NAMES) totals[name] = 0;
  return totals;
}
