// What the child scripts of stop-keeps-process-alive.test.ts share: a
// scheduler built by hand on the memory backend, a job whose handler never
// settles (it reports when its signal aborts), and one JSON line per milestone.
import { DefaultJobExecutor, MemoryBackend, MemoryLock, NoopLogger, NoopMetrics, Scheduler, SchedkitError, SystemClock, resolveConfig, type JobDefinition, type SchedulerConfigInput } from 'schedkit';

export const print = (message: string, fields: Record<string, unknown> = {}): void => console.log(JSON.stringify({ message, ...fields }));

export function memoryScheduler(config: SchedulerConfigInput): Scheduler {
  const clock = new SystemClock();
  const logger = new NoopLogger();
  const metrics = new NoopMetrics();
  return new Scheduler({
    config: resolveConfig(config),
    backend: new MemoryBackend({ clock }),
    lock: new MemoryLock({ clock }),
    executor: new DefaultJobExecutor({ clock, logger, metrics }),
    clock,
    logger,
    metrics,
  });
}

/** The job `never-settles`, and a wait until its handler has started (the script keeps itself alive meanwhile: what is under test is the stop). */
export function neverSettlingJob(): { job: JobDefinition; untilStarted: () => Promise<void> } {
  let handlerStarted!: () => void;
  const started = new Promise<void>((resolve) => (handlerStarted = resolve));
  const job: JobDefinition = {
    name: 'never-settles',
    handler: (ctx) => {
      ctx.signal.addEventListener('abort', () => {
        const reason: unknown = ctx.signal.reason;
        print('handler aborted', { code: reason instanceof SchedkitError ? reason.code : String(reason) });
      });
      handlerStarted();
      return new Promise<void>(() => undefined);
    },
  };
  const untilStarted = async (): Promise<void> => {
    const alive = setInterval(() => undefined, 1_000);
    await started;
    clearInterval(alive);
  };
  return { job, untilStarted };
}
