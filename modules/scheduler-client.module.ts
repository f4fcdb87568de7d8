import { ContainerModule, type BindToFluentSyntax, type ContainerModuleLoadOptions } from 'inversify';
import type { Backend } from '../src/backend/backend.js';
import { SchedulerClient } from '../src/client/scheduler-client.js';
import type { Clock } from '../src/clock/clock.js';
import type { SchedulerConfig } from '../src/config/config.js';
import type { Logger } from '../src/observability/logger.js';
import { bindDefault, bindOrRebind } from './binding.js';
import { TOKENS } from './tokens.js';

/**
 * Binds `SchedulerClient` (a singleton), replacing any binding, to a client
 * built from the bound `Backend`, `SchedulerConfig`, `Clock` and `Logger`.
 * `schedulerModule()` already binds this as a default (in both modes); load
 * this module to say it explicitly, or to bind the client in a container
 * whose other tokens you bound yourself. The client shares the bound
 * backend and appends no lifecycle hook of its own (it holds no timers). A
 * process that only schedules and never runs jobs loads
 * `schedulerModule({ client: true })`, which binds the client and no
 * scheduler.
 *
 * @example
 * container.load(schedulerModule(), redisBackendModule({ url }), schedulerClientModule());
 * const client = container.get(TOKENS.SchedulerClient); // for an HTTP handler, say
 */
export function schedulerClientModule(): ContainerModule {
  return new ContainerModule((load) => {
    bindSchedulerClient(load, 'replace');
  });
}

/**
 * @internal Shared with `schedulerModule`, which binds the client as a
 * default (`mode: 'default'`: only when nothing is bound yet).
 */
export function bindSchedulerClient(load: ContainerModuleLoadOptions, mode: 'replace' | 'default'): void {
  const bind = (to: BindToFluentSyntax<SchedulerClient>): void => {
    to.toResolvedValue(
      (logger: Logger, config: SchedulerConfig, clock: Clock, backend: Backend) => new SchedulerClient({ backend, config, clock, logger }),
      // Logger first, as for the scheduler: its hook is first and stops last.
      [TOKENS.Logger, TOKENS.SchedulerConfig, TOKENS.Clock, TOKENS.Backend],
    ).inSingletonScope();
  };
  if (mode === 'replace') bind(bindOrRebind<SchedulerClient>(load, TOKENS.SchedulerClient));
  else bindDefault<SchedulerClient>(load, TOKENS.SchedulerClient, bind);
}
