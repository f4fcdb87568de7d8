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
  | 'runCancelled'
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
  'runCancelled',
  'lockAcquired',
  'lockContended',
  'lockLost',
  'fireLateness',
  'rateLimitWait',
];

type JobCounters = Partial<Record<JobMetricName, number>>;

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
  /** Per job, keyed by its label (`report`, or `acme/report` with a tenant): calls of each job method, only those seen. */
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
 * A job is labelled by its name alone when it has no tenant (`report`) and
 * by `tenant/name` when it has one (`acme/report`): the keys of
 * `snapshot().jobs`, of `jobs()` and the `job` argument of `count`. Neither
 * part can contain `/`, so a label is never ambiguous.
 *
 * @example
 * const metrics = new InMemoryMetrics();
 * // ... run the scheduler with it ...
 * expect(metrics.count('runFailed', 'acme/report')).toBe(1);
 * expect(metrics.count('runFailed', 'cleanup')).toBe(0); // a job without a tenant
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
  /** Counters by tenant, then by name: found without building the label on every call. */
  private perTenant = new Map<string | undefined, Map<string, JobCounters>>();
  /** The same counters by label, in first-seen order. */
  private perLabel = new Map<string, JobCounters>();

  constructor(options: InMemoryMetricsOptions = {}) {
    const capacity = options.maxSamples ?? 10_000;
    this.lateness = new SampleRing(capacity);
    this.durations = new SampleRing(capacity);
    this.lockWaits = new SampleRing(capacity);
  }

  runStarted(job: string, tenantId: string | undefined): void {
    this.countJob('runStarted', job, tenantId);
  }
  runCompleted(job: string, tenantId: string | undefined, durationMs: number): void {
    this.countJob('runCompleted', job, tenantId);
    if (Number.isFinite(durationMs)) this.durations.push(durationMs);
  }
  runFailed(job: string, tenantId: string | undefined): void {
    this.countJob('runFailed', job, tenantId);
  }
  runRetried(job: string, tenantId: string | undefined): void {
    this.countJob('runRetried', job, tenantId);
  }
  runTimedOut(job: string, tenantId: string | undefined): void {
    this.countJob('runTimedOut', job, tenantId);
  }
  runSkipped(job: string, tenantId: string | undefined): void {
    this.countJob('runSkipped', job, tenantId);
  }
  runStalled(job: string, tenantId: string | undefined): void {
    this.countJob('runStalled', job, tenantId);
  }
  runAbandoned(job: string, tenantId: string | undefined): void {
    this.countJob('runAbandoned', job, tenantId);
  }
  runCancelled(job: string, tenantId: string | undefined): void {
    this.countJob('runCancelled', job, tenantId);
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
  fireLateness(job: string, tenantId: string | undefined, ms: number): void {
    this.countJob('fireLateness', job, tenantId);
    if (Number.isFinite(ms)) this.lateness.push(ms);
  }
  rateLimitWait(): void {
    this.totals.rateLimitWait++;
  }

  /** Calls of `metric` in total, or for one job when `job` (its label: `report` or `acme/report`) is given. */
  count(metric: MetricName, job?: string): number {
    if (job === undefined) return this.totals[metric];
    return this.perLabel.get(job)?.[metric as JobMetricName] ?? 0;
  }

  /** Labels of the jobs seen so far, in first-seen order. */
  jobs(): string[] {
    return [...this.perLabel.keys()];
  }

  /** Every counter and a summary of every sample series, as plain numbers. */
  snapshot(): MetricsSnapshot {
    const jobs: Record<string, Partial<Record<JobMetricName, number>>> = {};
    for (const [job, counters] of this.perLabel) {
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
    this.perTenant.clear();
    this.perLabel.clear();
    this.lateness.clear();
    this.durations.clear();
    this.lockWaits.clear();
  }

  private countJob(metric: JobMetricName, name: string, tenantId: string | undefined): void {
    this.totals[metric]++;
    let byName = this.perTenant.get(tenantId);
    if (byName === undefined) this.perTenant.set(tenantId, (byName = new Map()));
    let counters = byName.get(name);
    if (counters === undefined) {
      byName.set(name, (counters = {}));
      this.perLabel.set(tenantId === undefined ? name : `${tenantId}/${name}`, counters);
    }
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
