import { ContainerModule, type BindToFluentSyntax, type ContainerModuleLoadOptions } from 'inversify';
import type { Backend } from '../src/backend/backend.js';
import { MemoryBackend } from '../src/backend/memory/memory-backend.js';
import type { Clock } from '../src/clock/clock.js';
import type { SchedulerConfig } from '../src/config/config.js';
import { ConfigError } from '../src/errors/schedkit-error.js';
import { show } from '../src/errors/messages.js';
import type { HookRegistry } from '../src/lifecycle/hook.js';
import type { DistributedLock } from '../src/lock/distributed-lock.js';
import { MemoryLock } from '../src/lock/memory-lock.js';
import { bindDefault, bindOrRebind } from './binding.js';
import { TOKENS } from './tokens.js';

/** Options of `memoryBackendModule`. */
export interface MemoryBackendModuleOptions {
  /** History entries kept per job. @default the bound `SchedulerConfig`'s `historyLimit` (100) */
  historyLimit?: number;
}

/**
 * Binds `Backend` to `MemoryBackend` and `DistributedLock` to `MemoryLock`
 * (one process, no infrastructure), replacing whatever was bound before: load
 * it after `schedulerModule()` to say explicitly "in memory". Both are
 * singletons built from the bound `Clock`, and append the lifecycle hooks
 * `backend:memory` and `lock:memory` so the start/stop order shows in logs.
 *
 * @example
 * container.load(schedulerModule(), memoryBackendModule({ historyLimit: 20 }));
 */
export function memoryBackendModule(options: MemoryBackendModuleOptions = {}): ContainerModule {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ConfigError([`expected an object, got ${show(options)}`], 'memoryBackendModule');
  }
  const unknown = Object.keys(options).filter((key) => key !== 'historyLimit');
  if (unknown.length > 0) {
    throw new ConfigError(unknown.map((key) => `unknown option ${JSON.stringify(key)} (expected historyLimit)`), 'memoryBackendModule');
  }
  const historyLimit = options.historyLimit;
  if (historyLimit !== undefined && !(Number.isInteger(historyLimit) && historyLimit >= 1 && historyLimit <= 100_000)) {
    throw new ConfigError([`historyLimit must be an integer from 1 to 100000, got ${show(historyLimit)}`], 'memoryBackendModule');
  }
  return new ContainerModule((load) => {
    bindMemoryBackend(load, 'replace', historyLimit);
  });
}

/**
 * @internal Shared with `schedulerModule`, whose defaults use `mode: 'default'`
 * (bind only when nothing is bound yet).
 */
export function bindMemoryBackend(load: ContainerModuleLoadOptions, mode: 'replace' | 'default', historyLimit?: number): void {
  const backend = (clock: Clock, config: SchedulerConfig, lifecycle: HookRegistry): Backend => {
    const built = new MemoryBackend({ clock, historyLimit: historyLimit ?? config.historyLimit });
    // Nothing to connect or close; the hook exists so the order is visible in logs.
    lifecycle.append({ name: 'backend:memory', onStart: () => {}, onStop: () => {} });
    return built;
  };
  const lock = (clock: Clock, lifecycle: HookRegistry): DistributedLock => {
    const built = new MemoryLock({ clock });
    lifecycle.append({ name: 'lock:memory', onStart: () => {}, onStop: () => {} });
    return built;
  };
  const bindBackend = (to: BindToFluentSyntax<Backend>): void => {
    to.toResolvedValue(backend, [TOKENS.Clock, TOKENS.SchedulerConfig, TOKENS.Lifecycle]).inSingletonScope();
  };
  const bindLock = (to: BindToFluentSyntax<DistributedLock>): void => {
    to.toResolvedValue(lock, [TOKENS.Clock, TOKENS.Lifecycle]).inSingletonScope();
  };
  if (mode === 'replace') {
    bindBackend(bindOrRebind<Backend>(load, TOKENS.Backend));
    bindLock(bindOrRebind<DistributedLock>(load, TOKENS.DistributedLock));
  } else {
    bindDefault<Backend>(load, TOKENS.Backend, bindBackend);
    bindDefault<DistributedLock>(load, TOKENS.DistributedLock, bindLock);
  }
}
