/**
 * `schedkit/testing`: fakes for testing code that uses schedkit, e.g.
 * `import { FakeClock } from 'schedkit/testing'`. Every name is listed on
 * purpose; `api/testing.api.md` records them.
 */
export { FakeClock, settle } from './src/clock/fake-clock.js';
export { OffsetClock } from './src/clock/clock.js';
export { RecordingLogger, type LogEntry } from './src/observability/recording-logger.js';
export {
  InMemoryMetrics,
  SampleRing,
  type InMemoryMetricsOptions,
  type MetricsSnapshot,
  type MetricName,
  type JobMetricName,
  type SampleSummary,
} from './src/observability/in-memory-metrics.js';
