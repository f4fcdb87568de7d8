import { ContainerModule, type ResolutionContext } from 'inversify';
import type { Backend } from '../src/backend/backend.js';
import { SystemClock, type Clock } from '../src/clock/clock.js';
import { resolveConfig, type SchedulerConfig, type SchedulerConfigInput } from '../src/config/config.js';
import { show } from '../src/errors/messages.js';
import { ConfigError } from '../src/errors/schedkit-error.js';
import { DefaultJobExecutor } from '../src/executor/default-job-executor.js';
import type { JobExecutor } from '../src/executor/job-executor.js';
import type { HookRegistry } from '../src/lifecycle/hook.js';
import { Lifecycle } from '../src/lifecycle/lifecycle.js';
import type { DistributedLock } from '../src/lock/distributed-lock.js';
import type { Logger } from '../src/observability/logger.js';
import { NoopMetrics, type MetricsCollector } from '../src/observability/metrics.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { bindDefault, bindOrRebind } from './binding.js';
import { bindMemoryBackend } from './memory-backend.module.js';
import { bindSchedulerClient } from './scheduler-client.module.js';
import { TOKENS } from './tokens.js';
import { bindDefaultWinstonLogger } from './winston-logger.module.js';

/**
 * The core module: a scheduler and everything it is built from, as
 * singletons built by explicit factories (no decorator metadata needed).
 *
 * `config` is validated when this function is called: a bad config throws a
 * `ConfigError` (`E_CONFIG`) here, not at the first `get`.
 *
 * | token | binding |
 * |---|---|
 * | `SchedulerConfig` | `resolveConfig(config)` |
 * | `Lifecycle` | `new Lifecycle({ clock, logger, startTimeoutMs, stopTimeoutMs })` from the config |
 * | `Clock` | `SystemClock` * |
 * | `Logger` | `createWinstonLogger()`; appends hook `logger` (flush on stop) * |
 * | `MetricsCollector` | `NoopMetrics` * |
 * | `Backend` | `MemoryBackend` (clock, `historyLimit`); appends hook `backend:memory` * |
 * | `DistributedLock` | `MemoryLock`; appends hook `lock:memory` * |
 * | `JobExecutor` | `DefaultJobExecutor`; appends hook `executor` * |
 * | `Scheduler` | `new Scheduler({ config, backend, lock, executor, clock, logger, metrics })`; appends no hook (the `App` does) |
 * | `SchedulerClient` | `new SchedulerClient({ backend, config, clock, logger })`; appends no hook * |
 *
 * **Client mode** (`schedulerModule({ client: true, ...config })`): for a
 * process that schedules and manages runs but never runs jobs (a web
 * process). It binds neither `Scheduler` nor `JobExecutor` (and nothing
 * resolves the `DistributedLock`); the config, lifecycle, clock, logger,
 * metrics, backend and `SchedulerClient` are bound as above. An `App`
 * over such a container starts and stops the backend and logger only, runs
 * no registrars, and offers the client as `app.client`.
 *
 * Defaults marked * are bound only when the token is not bound yet, so a
 * module loaded before this one (or your own binding) is kept; modules such
 * as `memoryBackendModule()` or `winstonLoggerModule()` loaded after it
 * replace the default. Any binding can also be replaced after loading with
 * `container.rebind(TOKENS.X)` (synchronous in inversify 8), before the first
 * `get` that needs it.
 *
 * Hooks are appended as components are built, so they run in dependency
 * order. The scheduler's factory asks for the logger first, so the logger's
 * hook comes first and stops last.
 *
 * @example
 * const container = new Container();
 * container.load(schedulerModule({ maxConcurrent: 20 }));
 * container.rebind(TOKENS.MetricsCollector).toConstantValue(new InMemoryMetrics());
 * await new App(container).run();
 */
export function schedulerModule(options: SchedulerModuleOptions = {}): ContainerModule {
  const { client, config } = splitMode(options);
  const resolved = resolveConfig(config, 'schedulerModule');
  if (typeof client !== 'boolean') throw new ConfigError([`client must be true or false, got ${show(client)}`], 'schedulerModule');
  return new ContainerModule((load) => {
    bindOrRebind<SchedulerConfig>(load, TOKENS.SchedulerConfig).toConstantValue(resolved);

    bindOrRebind<Lifecycle>(load, TOKENS.Lifecycle)
      .toDynamicValue((context) => {
        const settings = context.get(TOKENS.SchedulerConfig);
        return new Lifecycle({
          clock: context.get(TOKENS.Clock),
          // The logger's own factory appends a hook to this lifecycle, so it
          // cannot be resolved here (a cycle): it is resolved at the first line logged.
          logger: lazyLogger(context),
          startTimeoutMs: settings.startTimeoutMs,
          stopTimeoutMs: settings.stopTimeoutMs,
        });
      })
      .inSingletonScope();

    bindDefault<Clock>(load, TOKENS.Clock, (to) => to.toResolvedValue((): Clock => new SystemClock()).inSingletonScope());
    bindDefaultWinstonLogger(load);
    bindDefault<MetricsCollector>(load, TOKENS.MetricsCollector, (to) =>
      to.toResolvedValue((): MetricsCollector => new NoopMetrics()).inSingletonScope(),
    );
    bindMemoryBackend(load, 'default');
    bindSchedulerClient(load, 'default');
    if (client) return;
    bindDefault<JobExecutor>(load, TOKENS.JobExecutor, (to) =>
      to
        .toResolvedValue(
          (clock: Clock, logger: Logger, metrics: MetricsCollector, lifecycle: HookRegistry): JobExecutor => {
            const executor = new DefaultJobExecutor({ clock, logger, metrics });
            // Nothing to start or stop; the hook exists so the order is visible in logs.
            lifecycle.append({ name: 'executor', onStart: () => {}, onStop: () => {} });
            return executor;
          },
          [TOKENS.Clock, TOKENS.Logger, TOKENS.MetricsCollector, TOKENS.Lifecycle],
        )
        .inSingletonScope(),
    );

    bindOrRebind<Scheduler>(load, TOKENS.Scheduler)
      .toResolvedValue(
        (
          logger: Logger,
          config: SchedulerConfig,
          clock: Clock,
          metrics: MetricsCollector,
          backend: Backend,
          lock: DistributedLock,
          executor: JobExecutor,
        ) => new Scheduler({ config, backend, lock, executor, clock, logger, metrics }),
        // Resolved in this order: logger first (its hook stops last), then backend, lock, executor.
        [
          TOKENS.Logger,
          TOKENS.SchedulerConfig,
          TOKENS.Clock,
          TOKENS.MetricsCollector,
          TOKENS.Backend,
          TOKENS.DistributedLock,
          TOKENS.JobExecutor,
        ],
      )
      .inSingletonScope();
  });
}

/** `schedulerModule`'s argument: the scheduler's config, and the mode. */
export type SchedulerModuleOptions = SchedulerConfigInput & {
  /** Bind a `SchedulerClient` and no `Scheduler`: this process never runs jobs. @default false */
  client?: boolean;
};

/** The mode switch apart from the config (anything that is not an object is left to `resolveConfig` to refuse). */
function splitMode(options: SchedulerModuleOptions): { client: unknown; config: SchedulerConfigInput } {
  if (typeof options !== 'object' || options === null || !('client' in options)) return { client: false, config: options };
  const { client, ...config } = options;
  return { client, config };
}

/** A `Logger` that resolves `TOKENS.Logger` from the container at its first use. */
function lazyLogger(context: ResolutionContext): Logger {
  let logger: Logger | undefined;
  const get = (): Logger => {
    logger ??= context.get(TOKENS.Logger);
    return logger;
  };
  return {
    debug: (message, extra) => get().debug(message, extra),
    info: (message, extra) => get().info(message, extra),
    warn: (message, extra) => get().warn(message, extra),
    error: (message, extra) => get().error(message, extra),
    child: (fields) => get().child(fields),
  };
}
