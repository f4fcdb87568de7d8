// The composition layer's public API. Explicit named exports only.
export { App, type AppOptions, type SignalSource } from './app.js';
export { bindDefault, bindOrRebind } from './binding.js';
export {
  Scheduled,
  getScheduledMethods,
  scheduledClasses,
  type ScheduledMethod,
  type ScheduledOptions,
} from './decorators/scheduled.js';
export { exploreScheduled, registerScheduled, type FoundScheduled } from './explorer/scheduled-explorer.js';
export { memoryBackendModule, type MemoryBackendModuleOptions } from './memory-backend.module.js';
export { redisBackendModule, type RedisBackendModuleOptions } from './redis-backend.module.js';
export { schedulerModule } from './scheduler.module.js';
export { TOKENS, type JobRegistrar, type TokenName } from './tokens.js';
export { winstonLoggerModule, type WinstonLoggerModuleOptions } from './winston-logger.module.js';
