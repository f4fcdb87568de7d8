import { Writable } from 'node:stream';
import { ContainerModule, type BindToFluentSyntax, type ContainerModuleLoadOptions } from 'inversify';
import type { HookRegistry } from '../src/lifecycle/hook.js';
import type { Logger } from '../src/observability/logger.js';
import { createWinstonLogger } from '../src/observability/winston-logger.js';
import { bindDefault, bindOrRebind } from './binding.js';
import { TOKENS } from './tokens.js';

/** Options of `winstonLoggerModule`: those of `createWinstonLogger`. */
export type WinstonLoggerModuleOptions = Parameters<typeof createWinstonLogger>[0];

/**
 * Binds `Logger` to a winston logger built with `options`, replacing whatever
 * was bound before (load it after `schedulerModule()`). The logger is a
 * singleton; building it appends the lifecycle hook `logger`, whose `onStop`
 * flushes it. It is built before the components that log, so it stops last.
 * The options are checked when the module is created (a bad `level` throws here).
 *
 * @example
 * container.load(schedulerModule(), winstonLoggerModule({ level: 'debug', format: 'json', fields: { service: 'billing' } }));
 */
export function winstonLoggerModule(options?: WinstonLoggerModuleOptions): ContainerModule {
  // Built once to validate eagerly; flushed at once since it is never used.
  void createWinstonLogger({ ...options, stream: devNull() }).flush();
  return new ContainerModule((load) => {
    bindWinstonLogger(bindOrRebind<Logger>(load, TOKENS.Logger), options);
  });
}

/** @internal `schedulerModule`'s default logger: bound only when no logger is bound yet. */
export function bindDefaultWinstonLogger(load: ContainerModuleLoadOptions): void {
  bindDefault<Logger>(load, TOKENS.Logger, (to) => bindWinstonLogger(to, undefined));
}

function bindWinstonLogger(to: BindToFluentSyntax<Logger>, options: WinstonLoggerModuleOptions): void {
  to.toResolvedValue(
    (lifecycle: HookRegistry): Logger => {
      const logger = createWinstonLogger(options);
      // Nothing to start (the hook is there so the order reads in the logs); flushed last on stop.
      lifecycle.append({ name: 'logger', onStart: () => {}, onStop: () => logger.flush() });
      return logger;
    },
    [TOKENS.Lifecycle],
  ).inSingletonScope();
}

function devNull(): NodeJS.WritableStream {
  return new Writable({ write: (_chunk, _encoding, callback) => callback() });
}
