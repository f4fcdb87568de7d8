import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ConfigError } from '../errors/schedkit-error.js';
import { show } from '../errors/messages.js';
import type { RunEvent, SchedulerEvents } from '../scheduler/events.js';
import type { JobInfo } from '../scheduler/types.js';

/**
 * Prometheus metrics of one scheduler, on prom-client (an optional peer
 * dependency: pass its module, so schedkit never loads it for apps that do
 * not use it). Fed by the scheduler's events, so a scheduler without them
 * attached pays nothing; the next-run gauge reads the jobs registered here
 * from the backend when scraped.
 *
 * Labels are bounded: `job` (the name), `tenant` (`""` without one),
 * `outcome`, `reason`, `backend`; never a run id or an instance id (one
 * process is one Prometheus target: its `instance` label says which).
 * Durations and timestamps are in seconds.
 */

/** The part of the scheduler the metrics read: its events, and its jobs for the next-run gauge. */
export interface MetricsSource {
  on<E extends keyof SchedulerEvents>(event: E, listener: (payload: SchedulerEvents[E]) => void): () => void;
  listJobs(): Promise<JobInfo[]>;
}

/** Options of `PrometheusMetrics`. */
export interface PrometheusMetricsOptions {
  /** Where the metrics are registered (once per registry: make one `PrometheusMetrics` per registry). @default prom-client's global `register` */
  registry?: Registry;
}

/** Seconds: a run of a cron job takes from milliseconds to an hour. */
const DURATION_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];
/** Seconds: a healthy start is milliseconds late; a backlog, seconds to minutes. */
const DELAY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

type JobLabels = 'job' | 'tenant';

/**
 * The metrics of SPEC §15 in one prom-client registry, counted from the
 * events of the schedulers attached to it (`attach`).
 *
 * @example
 * const metrics = new PrometheusMetrics(promClient, { registry });
 * metrics.attach(scheduler, 'redis');
 * // GET /metrics → await registry.metrics()
 */
export class PrometheusMetrics {
  readonly registry: Registry;
  private readonly runs: Counter<JobLabels | 'outcome'>;
  private readonly duration: Histogram<JobLabels>;
  private readonly delay: Histogram<JobLabels>;
  private readonly inProgress: Gauge<JobLabels>;
  private readonly skipped: Counter<JobLabels | 'reason'>;
  private readonly retries: Counter<JobLabels>;
  private readonly lockLost: Counter<JobLabels>;
  private readonly lastSuccess: Gauge<JobLabels>;
  private readonly backendErrors: Counter<'backend'>;
  /** Runs started here and not ended, by attempt id: the in-progress gauge goes down once per run whatever event ends it. */
  private readonly running = new Map<string, { job: string; tenant: string }>();
  private readonly sources: MetricsSource[] = [];

  /** `promClient`: the prom-client module (`import * as promClient from 'prom-client'`). */
  constructor(promClient: typeof import('prom-client'), options: PrometheusMetricsOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new ConfigError([`expected an object, got ${show(options)}`], 'PrometheusMetrics');
    const { Counter, Gauge, Histogram } = promClient;
    this.registry = options.registry ?? promClient.register;
    const registers = [this.registry];
    const job: JobLabels[] = ['job', 'tenant'];
    const sources = this.sources;
    this.runs = new Counter({ name: 'schedkit_runs_total', help: 'Attempts ended, by outcome (success, failed, timeout, lock-lost, interrupted, cancelled).', labelNames: [...job, 'outcome'], registers });
    this.duration = new Histogram({ name: 'schedkit_run_duration_seconds', help: 'Time from a handler start to its end, every attempt.', labelNames: job, buckets: DURATION_BUCKETS, registers });
    this.delay = new Histogram({ name: 'schedkit_schedule_delay_seconds', help: "First attempts' start minus their slot or due time.", labelNames: job, buckets: DELAY_BUCKETS, registers });
    this.inProgress = new Gauge({ name: 'schedkit_runs_in_progress', help: 'Handlers running on this instance.', labelNames: job, registers });
    this.skipped = new Counter({ name: 'schedkit_skipped_runs_total', help: 'Slots passed without a run, by reason (overlap, paused, excluded, rate-limited).', labelNames: [...job, 'reason'], registers });
    this.retries = new Counter({ name: 'schedkit_retries_total', help: 'Failed attempts put back for another attempt.', labelNames: job, registers });
    this.lockLost = new Counter({ name: 'schedkit_lock_lost_total', help: 'Runs aborted because their lease could not be kept.', labelNames: job, registers });
    this.lastSuccess = new Gauge({ name: 'schedkit_last_success_timestamp_seconds', help: 'When a run of the job last succeeded on this instance (Unix time).', labelNames: job, registers });
    new Gauge({
      name: 'schedkit_next_run_timestamp_seconds',
      help: 'When the job is next due (Unix time), for jobs registered on this instance; read from the backend when scraped.',
      labelNames: job,
      registers,
      async collect() {
        this.reset();
        for (const source of sources) {
          // A backend that is down leaves the gauge empty for this scrape (the outage shows in
          // schedkit_backend_errors_total) rather than failing the whole scrape.
          const jobs = await source.listJobs().catch(() => []);
          for (const info of jobs) {
            if (info.registeredHere && info.nextRunAt !== null) this.set(labelsOf(info.name, info.tenantId), info.nextRunAt.getTime() / 1000);
          }
        }
      },
    });
    this.backendErrors = new Counter({ name: 'schedkit_backend_errors_total', help: 'Times the backend became unreachable (each outage once).', labelNames: ['backend'], registers });
  }

  /**
   * Starts counting `scheduler`'s runs; `backend` labels its outages
   * (`'redis'`, `'postgres'`, `'memory'`: the backend's `kind`). Returns the
   * function that stops it.
   */
  attach(scheduler: MetricsSource, backend: string): () => void {
    if (typeof backend !== 'string' || backend === '') throw new ConfigError([`backend must be a non-empty string, got ${show(backend)}`], 'PrometheusMetrics.attach');
    this.sources.push(scheduler);
    // Present from the start, so an alert on its increase has a series to compare with.
    this.backendErrors.inc({ backend }, 0);
    const offs = [
      scheduler.on('run:start', (e) => {
        const labels = labelsOf(e.name, e.tenantId);
        this.running.set(e.runId, labels);
        this.inProgress.inc(labels);
        if (e.attempt === 1) this.delay.observe(labels, Math.max(0, e.latenessMs) / 1000);
      }),
      scheduler.on('run:success', (e) => {
        const labels = this.ended(e);
        this.runs.inc({ ...labels, outcome: 'success' });
        this.duration.observe(labels, e.durationMs / 1000);
        this.lastSuccess.set(labels, Date.now() / 1000);
      }),
      scheduler.on('run:failure', (e) => {
        const labels = this.ended(e);
        this.runs.inc({ ...labels, outcome: e.outcome });
        this.duration.observe(labels, e.durationMs / 1000);
      }),
      scheduler.on('run:cancelled', (e) => {
        if (e.while !== 'running' || e.runId === null) return;
        const labels = this.ended({ ...e, runId: e.runId });
        this.runs.inc({ ...labels, outcome: 'cancelled' });
      }),
      scheduler.on('run:retry', (e) => this.retries.inc(labelsOf(e.name, e.tenantId))),
      scheduler.on('lock:lost', (e) => this.lockLost.inc(labelsOf(e.name, e.tenantId))),
      scheduler.on('run:skipped', (e) => this.skipped.inc({ ...labelsOf(e.name, e.tenantId), reason: e.reason })),
      scheduler.on('backend:down', () => this.backendErrors.inc({ backend })),
    ];
    return () => {
      for (const off of offs) off();
      const at = this.sources.indexOf(scheduler);
      if (at >= 0) this.sources.splice(at, 1);
    };
  }

  /** The run's labels, its in-progress count taken down once. */
  private ended(e: Pick<RunEvent, 'name' | 'tenantId' | 'runId'>): { job: string; tenant: string } {
    const labels = this.running.get(e.runId);
    if (labels === undefined) return labelsOf(e.name, e.tenantId);
    this.running.delete(e.runId);
    this.inProgress.dec(labels);
    return labels;
  }
}

function labelsOf(name: string, tenantId: string | undefined): { job: string; tenant: string } {
  return { job: name, tenant: tenantId ?? '' };
}
