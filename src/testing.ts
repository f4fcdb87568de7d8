/**
 * Helpers for testing code that uses schedkit: `import { FakeClock } from 'schedkit/testing'`.
 */
export { FakeClock, settle } from './clock/fake-clock.js';
export { RecordingLogger, type LogEntry } from './observability/recording-logger.js';
export { InMemoryMetrics } from './observability/in-memory-metrics.js';
