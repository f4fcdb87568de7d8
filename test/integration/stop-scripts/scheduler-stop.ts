// Run as a child process by stop-keeps-process-alive.test.ts: a script whose
// only live work is a handler that never settles, stopped with a top-level
// `await scheduler.stop()`. Prints one JSON line per milestone.
import { DefaultJobExecutor, MemoryBackend, MemoryLock, NoopLogger, NoopMetrics, Scheduler, SchedkitError, SystemClock, resolveConfig } from 'schedkit';

const print = (message: string, fields: Record<string, unknown> = {}): void => console.log(JSON.stringify({ message, ...fields }));

const clock = new SystemClock();
const logger = new NoopLogger();
const metrics = new NoopMetrics();
const scheduler = new Scheduler({
  config: resolveConfig({ shutdownTimeoutMs: 300, stopTimeoutMs: 2_000 }),
  backend: new MemoryBackend({ clock }),
  lock: new MemoryLock({ clock }),
  executor: new DefaultJobExecutor({ clock, logger, metrics }),
  clock,
  logger,
  metrics,
});

let handlerStarted!: () => void;
const started = new Promise<void>((resolve) => (handlerStarted = resolve));
await scheduler.register({
  name: 'never-settles',
  handler: (ctx) => {
    ctx.signal.addEventListener('abort', () => {
      const reason: unknown = ctx.signal.reason;
      print('handler aborted', { code: reason instanceof SchedkitError ? reason.code : String(reason) });
    });
    handlerStarted();
    return new Promise<void>(() => undefined);
  },
});
await scheduler.start();
await scheduler.trigger('never-settles');
// Until the handler runs, the script keeps itself alive: what is under test is the stop.
const untilStarted = setInterval(() => undefined, 1_000);
await started;
clearInterval(untilStarted);

print('stopping');
await scheduler.stop();
print('stopped');
