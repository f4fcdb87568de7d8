/**
 * One instance of a service, for the multi-process cluster tests: the real
 * container, App, and the Redis backend and Redlock lock (or, with
 * `postgres`, the PostgreSQL backend and lock), configured by the JSON in
 * SCHEDKIT_WORKER. It prints one JSON line per thing the tests count
 * (`ready`, `start`, `end`, `abort`, `stalled`, `failure`, `lost`, `backend`,
 * `refresh`, `cancelled`, `skipped`, `backfill`) on stdout; logs
 * go to stderr. SIGTERM stops it gracefully (exit 0); the tests also kill -9 it.
 * Every line's `at` is this machine's real clock, even with `clockOffsetMs`.
 */
import { Container } from 'inversify';
import {
  App,
  SystemClock,
  TOKENS,
  redisBackendModule,
  schedulerModule,
  winstonLoggerModule,
  type Backend,
  type Clock,
  type DistributedLock,
  type JobDefinition,
  type JobRegistrar,
  type Scheduler,
  type SchedulerConfigInput,
} from 'schedkit';
import { postgresBackendModule } from 'schedkit/postgres';
import { OffsetClock } from 'schedkit/testing';

export interface WorkerJob {
  name: string;
  /** Registers `name-0` ... `name-<count-1>` when given. */
  count?: number;
  schedule?: JobDefinition['schedule'];
  /** How long the handler works (it stops early when its signal aborts). */
  durationMs?: number;
  /** How long attempts after the first work (default: `durationMs`). */
  retryDurationMs?: number;
  overlap?: JobDefinition['overlap'];
  misfire?: JobDefinition['misfire'];
  lockTtlMs?: number;
  timeoutMs?: number;
  retry?: JobDefinition['retry'];
  lockKey?: JobDefinition['lockKey'];
  runOnStart?: JobDefinition['runOnStart'];
  rateLimit?: JobDefinition['rateLimit'];
  jitterMs?: JobDefinition['jitterMs'];
  /** Exclusions; `from`/`to` as ISO text or epoch ms. */
  exclude?: Array<{ cron: string; tz?: string } | { from: string | number; to: string | number }>;
}

/** A `backfill` this instance calls once started, at `atMs` (this machine's clock) when given, so several instances call at one instant. */
export interface WorkerBackfill {
  job: string;
  /** Epoch ms. */
  from: number;
  to: number;
  atMs?: number;
}

/** The PostgreSQL a worker runs on instead of Redis. */
export interface WorkerPostgres {
  url: string;
  schema: string;
  /** Most connections of the worker's pool (`pg`'s `max`). @default 10 */
  poolMax?: number;
  /** `pg`'s `query_timeout` of the worker's pool. @default schedkit's (5 s) */
  queryTimeoutMs?: number;
}

export interface WorkerSpec {
  instanceId: string;
  /** Redis the worker runs on; unused when `postgres` is given. */
  redisUrl: string;
  postgres?: WorkerPostgres;
  lockMasters?: string[];
  /** ioredis `commandTimeout` of the backend's connections (the lock keeps its own). */
  backendCommandTimeoutMs?: number;
  prefix: string;
  config?: SchedulerConfigInput;
  jobs: WorkerJob[];
  /** One-off runs this instance triggers once started. */
  triggers?: Array<{ job: string; id: string; params?: Record<string, string | number> }>;
  backfills?: WorkerBackfill[];
  /** This instance's clock is this far off the real one (an injected `OffsetClock`), as on a machine whose clock drifted. */
  clockOffsetMs?: number;
}

const spec = JSON.parse(process.env.SCHEDKIT_WORKER ?? '{}') as WorkerSpec;
const emit = (message: string, fields: Record<string, unknown>): void => {
  // Synchronous on a pipe (Linux): a line is out before a kill -9 can land.
  process.stdout.write(`${JSON.stringify({ message, instance: spec.instanceId, at: Date.now(), ...fields })}\n`);
};

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason as Error)), { once: true });
  });

function definitions(): JobDefinition[] {
  const out: JobDefinition[] = [];
  for (const job of spec.jobs) {
    const names = job.count === undefined ? [job.name] : Array.from({ length: job.count }, (_, i) => `${job.name}-${i}`);
    for (const name of names) {
      out.push({
        name,
        ...(job.schedule === undefined ? {} : { schedule: job.schedule }),
        ...(job.overlap === undefined ? {} : { overlap: job.overlap }),
        ...(job.misfire === undefined ? {} : { misfire: job.misfire }),
        ...(job.lockTtlMs === undefined ? {} : { lockTtlMs: job.lockTtlMs }),
        ...(job.timeoutMs === undefined ? {} : { timeoutMs: job.timeoutMs }),
        ...(job.retry === undefined ? {} : { retry: job.retry }),
        ...(job.lockKey === undefined ? {} : { lockKey: job.lockKey }),
        ...(job.runOnStart === undefined ? {} : { runOnStart: job.runOnStart }),
        ...(job.rateLimit === undefined ? {} : { rateLimit: job.rateLimit }),
        ...(job.jitterMs === undefined ? {} : { jitterMs: job.jitterMs }),
        ...(job.exclude === undefined
          ? {}
          : { exclude: job.exclude.map((e) => ('cron' in e ? e : { from: new Date(e.from), to: new Date(e.to) })) }),
        handler: async (ctx) => {
          const slot = ctx.scheduledAt.getTime();
          emit('start', { job: name, slot, id: ctx.id, attempt: ctx.attempt, token: ctx.fencingToken, params: ctx.params ?? null });
          // The instant (this machine's Date.now()) the handler saw its signal abort, and why.
          ctx.signal.addEventListener(
            'abort',
            () => {
              const reason = ctx.signal.reason as { code?: unknown; name?: unknown } | undefined;
              emit('abort', { job: name, slot, id: ctx.id, attempt: ctx.attempt, code: reason?.code ?? null, reason: reason?.name ?? null });
            },
            { once: true },
          );
          const durationMs = ctx.attempt > 1 ? (job.retryDurationMs ?? job.durationMs) : job.durationMs;
          if (durationMs !== undefined) await sleep(durationMs, ctx.signal);
          emit('end', { job: name, slot, id: ctx.id, attempt: ctx.attempt });
        },
      });
    }
  }
  return out;
}

const container = new Container();
// Bound before schedulerModule, whose SystemClock is only a default: the
// scheduler, executor, lifecycle and lock all read this skewed clock.
if (spec.clockOffsetMs !== undefined) container.bind<Clock>(TOKENS.Clock).toConstantValue(new OffsetClock(new SystemClock(), spec.clockOffsetMs));
container.load(
  schedulerModule({ instanceId: spec.instanceId, shutdownTimeoutMs: 3_000, stopTimeoutMs: 8_000, ...spec.config }),
  spec.postgres === undefined
    ? redisBackendModule({
        ...(spec.backendCommandTimeoutMs === undefined
          ? { url: spec.redisUrl }
          : { connection: { url: spec.redisUrl, options: { commandTimeout: spec.backendCommandTimeoutMs } } }),
        prefix: spec.prefix,
        lockMasters: (spec.lockMasters ?? [spec.redisUrl]).map((url) => ({ url })),
      })
    : postgresBackendModule({
        connectionString: spec.postgres.url,
        schema: spec.postgres.schema,
        poolOptions: {
          application_name: spec.instanceId,
          ...(spec.postgres.poolMax === undefined ? {} : { max: spec.postgres.poolMax }),
          ...(spec.postgres.queryTimeoutMs === undefined ? {} : { query_timeout: spec.postgres.queryTimeoutMs }),
        },
      }),
  winstonLoggerModule({ stream: process.stderr, format: 'json', level: 'info' }),
);
container.bind<JobRegistrar>(TOKENS.JobRegistrar).toConstantValue({
  async register(scheduler) {
    for (const definition of definitions()) await scheduler.register(definition);
  },
});

// Every refresh a run's lease sends (its claim's lease in the backend, and
// with lockRuns its lock), when it was sent and whether the store took it:
// the lease can expire no sooner than TTL after the last refresh it took,
// which is what the frozen-Redis test bounds the abort by.
container.onActivation<DistributedLock>(TOKENS.DistributedLock, (_context, lock) => watchRefreshes(lock));
container.onActivation<Backend>(TOKENS.Backend, (_context, backend) => watchHeartbeats(backend));

function watchHeartbeats(backend: Backend): Backend {
  return bound(backend, (prop) => {
    if (prop !== 'heartbeat') return undefined;
    return async (...[runs, leaseMs]: Parameters<Backend['heartbeat']>) => {
      const sentAt = Date.now();
      try {
        const replies = await backend.heartbeat(runs, leaseMs);
        runs.forEach((run, i) => emit('refresh', { resource: `run ${run.key}#${run.id}`, sentAt, ok: replies[i] !== false }));
        return replies;
      } catch (error) {
        for (const run of runs) emit('refresh', { resource: `run ${run.key}#${run.id}`, sentAt, ok: false, error: error instanceof Error ? error.message : String(error) });
        throw error;
      }
    };
  });
}

function bound<T extends object>(target: T, wrap: (prop: string | symbol) => unknown): T {
  // Methods are bound to the real object: lock classes keep #private state.
  return new Proxy(target, {
    get(object, prop) {
      const own = wrap(prop);
      if (own !== undefined) return own;
      const value: unknown = Reflect.get(object, prop);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
  });
}

function watchRefreshes(lock: DistributedLock): DistributedLock {
  return bound(lock, (prop) => {
    if (prop !== 'acquire') return undefined;
    return async (...[resource, options]: Parameters<DistributedLock['acquire']>) => {
      const lease = await lock.acquire(resource, options);
      if (lease === null) return null;
      return bound(lease, (leaseProp) => {
        if (leaseProp !== 'extend') return undefined;
        return async (ttlMs?: number) => {
          const sentAt = Date.now();
          try {
            const result = await lease.extend(ttlMs);
            emit('refresh', { resource, sentAt, ok: true });
            return result;
          } catch (error) {
            emit('refresh', { resource, sentAt, ok: false, error: error instanceof Error ? error.message : String(error) });
            throw error;
          }
        };
      });
    };
  });
}

const app = new App(container);
const scheduler = container.get<Scheduler>(TOKENS.Scheduler);
scheduler.on('run:stalled', (e) => emit('stalled', { job: e.name, id: e.id, deadInstance: e.instanceId, requeued: e.requeued, attempt: e.attempt }));
scheduler.on('run:failure', (e) => emit('failure', { job: e.name, id: e.id, attempt: e.attempt, outcome: e.outcome, willRetry: e.willRetry, error: e.error.message }));
scheduler.on('lock:lost', (e) => emit('lost', { job: e.name, id: e.id, attempt: e.attempt, code: (e.error as { code?: unknown }).code ?? null }));
scheduler.on('backend:down', (e) => emit('backend', { state: 'down', error: e.error.message }));
scheduler.on('backend:up', (e) => emit('backend', { state: 'up', downForMs: e.downForMs }));
scheduler.on('run:cancelled', (e) => emit('cancelled', { job: e.name, id: e.id, attempt: e.attempt, while: e.while }));
scheduler.on('run:skipped', (e) => emit('skipped', { job: e.name, slot: e.scheduledAt.getTime(), reason: e.reason }));

/** Calls `backfill` at `atMs` and prints what it did (or the error's code). */
async function backfillAt(b: WorkerBackfill): Promise<void> {
  const waitMs = (b.atMs ?? 0) - Date.now();
  if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
  const calledAt = Date.now();
  try {
    const result = await scheduler.backfill(b.job, { from: new Date(b.from), to: new Date(b.to) });
    emit('backfill', { job: b.job, calledAt, ...result });
  } catch (error) {
    emit('backfill', { job: b.job, calledAt, error: error instanceof Error ? error.message : String(error), code: (error as { code?: unknown }).code ?? null });
  }
}
app.lifecycle.append({
  name: 'worker',
  onStart: async () => {
    for (const t of spec.triggers ?? []) await scheduler.trigger(t.job, { id: t.id, ...(t.params === undefined ? {} : { params: t.params }) });
    emit('ready', { pid: process.pid });
    for (const b of spec.backfills ?? []) void backfillAt(b);
  },
});
await app.run();
