/**
 * One scheduler instance for the soak and the process-level fault tests:
 * built by hand from src/ (RedisBackend + RedlockLock, no container), as a
 * real process. Configured by the JSON in SOAK_INSTANCE (`InstanceSpec`).
 *
 * stdout: one compact JSON line per thing the ledger counts (`m` = message):
 *   ready, start (handler began), done (handler returned), ok (run:success,
 *   i.e. recorded), fail (run:failure), stalled, triggered, heap, wrote,
 *   skipped (run:skipped), dropped (the misfire policy dropped slots: the
 *   "missed slots" log line), err (an error logged), down (backend:down).
 * stdin: one JSON command a line: {"cmd":"trigger","id":...,"job"?:...} or {"cmd":"heap"}.
 * SIGTERM stops it gracefully (exit 0); the runner also kills it with -9.
 * Lines are written with process.stdout.write, synchronous on a Linux pipe,
 * so a line is out before a kill -9 can land.
 */
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import {
  DefaultJobExecutor,
  NoopMetrics,
  RedisBackend,
  RedlockLock,
  Scheduler,
  SystemClock,
  createWinstonLogger,
  resolveConfig,
  type SchedulerConfigInput,
} from 'schedkit';
import { OffsetClock } from 'schedkit/testing';
import { IncidentLogger } from '../../benchmarks/lib/incidents.js';

export interface InstanceSpec {
  /** Unique per process (an incarnation: `node-2.3`). */
  instanceId: string;
  redisUrl: string;
  prefix: string;
  /** This process's clock is this far off real time (an injected `OffsetClock`). */
  clockOffsetMs?: number;
  config?: SchedulerConfigInput;
  /** `tick-0` ... `tick-<count-1>`, each on `schedule`; handlers take durationMs[0..1] ms. */
  recurring?: { count: number; schedule: string; misfire?: 'skip' | 'run-once' | 'run-all'; overlap?: 'skip' | 'buffer-one' | 'allow'; durationMs: [number, number] };
  /** Job `oneoff` (triggered only); handlers take durationMs[0..1] ms. */
  oneoff?: { durationMs: [number, number] };
  /**
   * Job `fenced` (triggered only): attempt 1 blocks the event loop for
   * `stallMs` (a busy loop), then every attempt writes its fencing token to
   * the Redis hash `key` through a compare-on-token Lua script, ignoring its
   * abort signal (a naive handler), and prints `wrote` with the verdict.
   */
  fenced?: { key: string; stallMs: number; lockTtlMs: number };
}

const spec = JSON.parse(process.env.SOAK_INSTANCE ?? '{}') as InstanceSpec;
const realNow = (): number => Date.now();
const emit = (m: string, fields: Record<string, unknown> = {}): void => {
  // `at`: real time (the machine's clock, which is also Redis's clock: same host).
  process.stdout.write(`${JSON.stringify({ m, i: spec.instanceId, at: realNow(), ...fields })}\n`);
};

const between = ([min, max]: [number, number]): number => min + Math.floor(Math.random() * (max - min + 1));
const wait = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

const clock = new OffsetClock(new SystemClock(), spec.clockOffsetMs ?? 0);
// Errors and misfire drops also go to stdout as ledger lines (the ledger counts them); everything at warn and above to stderr.
const logger = new IncidentLogger(
  {
    count: (name) => {
      if (name.startsWith('error:')) emit('err', { msg: name.slice('error: '.length) });
    },
    dropped: (drop) => emit('dropped', { job: drop.job, missed: drop.missed, dropped: drop.dropped, misfire: drop.misfire, after: drop.after, before: drop.before }),
  },
  createWinstonLogger({ stream: process.stderr, format: 'json', level: 'warn' }),
);
const metrics = new NoopMetrics();
const config = resolveConfig({ instanceId: spec.instanceId, ...spec.config });
const backend = new RedisBackend({ connection: { url: spec.redisUrl }, prefix: spec.prefix, historyLimit: config.historyLimit });
const lock = new RedlockLock({ masters: [{ url: spec.redisUrl }], prefix: spec.prefix, clock });
const scheduler = new Scheduler({ config, backend, lock, executor: new DefaultJobExecutor({ clock, logger, metrics }), clock, logger, metrics });

// The fenced resource: the highest fencing token seen wins; older writers are refused.
const storage = spec.fenced === undefined ? undefined : new Redis(spec.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
const FENCED_WRITE = `
local current = tonumber(redis.call('HGET', KEYS[1], 'token') or '-1')
if tonumber(ARGV[1]) > current then
  redis.call('HSET', KEYS[1], 'token', ARGV[1], 'writer', ARGV[2])
  return 1
end
return 0`;

await backend.connect();
await lock.connect();
await storage?.connect();

if (spec.recurring !== undefined) {
  const r = spec.recurring;
  for (let n = 0; n < r.count; n++) {
    const name = `tick-${n}`;
    await scheduler.register({
      name,
      schedule: r.schedule,
      ...(r.misfire === undefined ? {} : { misfire: r.misfire }),
      ...(r.overlap === undefined ? {} : { overlap: r.overlap }),
      handler: async (ctx) => {
        const slot = ctx.scheduledAt.getTime();
        emit('start', { job: name, slot, id: ctx.id, a: ctx.attempt, token: ctx.fencingToken });
        await wait(between(r.durationMs), ctx.signal);
        emit('done', { job: name, slot, id: ctx.id, a: ctx.attempt });
      },
    });
  }
}
if (spec.oneoff !== undefined) {
  const o = spec.oneoff;
  await scheduler.register({
    name: 'oneoff',
    handler: async (ctx) => {
      emit('start', { job: 'oneoff', id: ctx.id, a: ctx.attempt, token: ctx.fencingToken });
      await wait(between(o.durationMs), ctx.signal);
      emit('done', { job: 'oneoff', id: ctx.id, a: ctx.attempt });
    },
  });
}
if (spec.fenced !== undefined) {
  const f = spec.fenced;
  await scheduler.register({
    name: 'fenced',
    lockTtlMs: f.lockTtlMs,
    retry: { maxRetries: 0 },
    handler: async (ctx) => {
      emit('start', { job: 'fenced', id: ctx.id, a: ctx.attempt, token: ctx.fencingToken });
      if (ctx.attempt === 1) {
        // The stall: nothing else runs in this process meanwhile (no heartbeat, no timers).
        const until = Date.now() + f.stallMs;
        while (Date.now() < until) {
          // busy
        }
        emit('stall-over', { job: 'fenced', id: ctx.id, a: ctx.attempt, aborted: ctx.signal.aborted });
      }
      const accepted = (await storage!.eval(FENCED_WRITE, 1, f.key, String(ctx.fencingToken), spec.instanceId)) === 1;
      emit('wrote', { job: 'fenced', id: ctx.id, a: ctx.attempt, token: ctx.fencingToken, accepted });
    },
  });
}

scheduler.on('run:success', (e) => emit('ok', { job: e.name, slot: e.scheduledAt.getTime(), id: e.id, a: e.attempt }));
scheduler.on('run:failure', (e) => emit('fail', { job: e.name, id: e.id, a: e.attempt, outcome: e.outcome, error: e.error.message }));
scheduler.on('run:stalled', (e) => emit('stalled', { job: e.name, id: e.id, a: e.attempt, dead: e.instanceId, requeued: e.requeued }));
scheduler.on('run:skipped', (e) => emit('skipped', { job: e.name, slot: e.scheduledAt.getTime(), reason: e.reason }));
scheduler.on('backend:down', (e) => emit('down', { error: e.error.message }));

await scheduler.start();

const commands = createInterface({ input: process.stdin, crlfDelay: Infinity });
commands.on('line', (text) => {
  let command: { cmd?: string; id?: string; job?: string };
  try {
    command = JSON.parse(text) as typeof command;
  } catch {
    return;
  }
  if (command.cmd === 'trigger' && typeof command.id === 'string') {
    const id = command.id;
    scheduler.trigger(command.job ?? 'oneoff', { id }).then(
      (run) => emit('triggered', { id, created: run.created }),
      (error: unknown) => emit('trigger-failed', { id, error: error instanceof Error ? error.message : String(error) }),
    );
  } else if (command.cmd === 'heap') {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    emit('heap', { heapUsed: process.memoryUsage().heapUsed, gc: gc !== undefined });
  }
});
// The runner going away (its end of stdin closed) must not leave this process behind.
commands.once('close', () => void shutdown());

let stopping: Promise<void> | undefined;
function shutdown(): Promise<void> {
  stopping ??= (async () => {
    const forced = setTimeout(() => process.exit(2), 15_000);
    forced.unref();
    await scheduler.stop();
    await lock.close();
    await backend.close();
    storage?.disconnect();
    emit('stopped');
    process.exit(0);
  })();
  return stopping;
}
process.once('SIGTERM', () => void shutdown());
process.once('SIGINT', () => void shutdown());
emit('ready', { pid: process.pid, offset: spec.clockOffsetMs ?? 0 });
