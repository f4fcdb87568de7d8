import type { BindToFluentSyntax, ContainerModuleLoadOptions, ServiceIdentifier } from 'inversify';

/**
 * Binds `id`, or replaces its binding when one exists. Use it in modules that
 * choose an implementation explicitly (`memoryBackendModule`,
 * `winstonLoggerModule`, `redisBackendModule`): loaded after
 * `schedulerModule()`, they replace its default instead of adding a second,
 * ambiguous binding.
 *
 * @example
 * new ContainerModule((options) => {
 *   bindOrRebind<Backend>(options, TOKENS.Backend).toResolvedValue(makeBackend, [TOKENS.Clock]).inSingletonScope();
 * });
 */
export function bindOrRebind<T>(options: ContainerModuleLoadOptions, id: ServiceIdentifier<T>): BindToFluentSyntax<T> {
  return options.isBound(id) ? options.rebind<T>(id) : options.bind<T>(id);
}

/**
 * Binds `id` unless it is already bound, and returns whether it did. Used by
 * `schedulerModule` for its replaceable defaults, so an implementation bound
 * before it (a module loaded first, or a user binding) is kept.
 *
 * @example
 * bindDefault<Clock>(options, TOKENS.Clock, (to) => to.toConstantValue(new SystemClock()));
 */
export function bindDefault<T>(
  options: ContainerModuleLoadOptions,
  id: ServiceIdentifier<T>,
  bind: (to: BindToFluentSyntax<T>) => void,
): boolean {
  if (options.isBound(id)) return false;
  bind(options.bind<T>(id));
  return true;
}
