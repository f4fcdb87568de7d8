import { createRequire } from 'node:module';
import { ContainerModule } from 'inversify';
import type { Registry } from 'prom-client';
import type { Backend } from '../src/backend/backend.js';
import { ConfigError, ErrorCode, SchedkitError } from '../src/errors/schedkit-error.js';
import { show } from '../src/errors/messages.js';
import { PrometheusMetrics } from '../src/observability/prometheus-metrics.js';
import type { Scheduler } from '../src/scheduler/scheduler.js';
import { TOKENS } from './tokens.js';

/** Options of `prometheusMetricsModule`. */
export interface PrometheusMetricsModuleOptions {
  /** Where the metrics are registered; serve `registry.metrics()` on `/metrics`. @default prom-client's global `register` */
  registry?: Registry;
}

/**
 * Counts the scheduler's runs into Prometheus metrics (prom-client, an
 * optional peer dependency: `npm install prom-client`): the metrics of
 * `PrometheusMetrics`, attached when the scheduler is built. Serving them is
 * the app's part (an HTTP route returning `await registry.metrics()` with
 * `registry.contentType`): see examples/prometheus.
 *
 * @example
 * const registry = new Registry();
 * container.load(schedulerModule(), prometheusMetricsModule({ registry }));
 */
export function prometheusMetricsModule(options: PrometheusMetricsModuleOptions = {}): ContainerModule {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ConfigError([`expected an object, got ${show(options)}`], 'prometheusMetricsModule');
  }
  const unknown = Object.keys(options).filter((key) => key !== 'registry');
  const registry = options.registry as { metrics?: unknown; registerMetric?: unknown } | undefined;
  const problems = unknown.map((key) => `unknown option ${JSON.stringify(key)} (expected registry)`);
  if (registry !== undefined && (typeof registry !== 'object' || registry === null || typeof registry.metrics !== 'function' || typeof registry.registerMetric !== 'function')) {
    problems.push(`registry must be a prom-client Registry, got ${show(options.registry)}`);
  }
  if (problems.length > 0) throw new ConfigError(problems, 'prometheusMetricsModule');

  return new ContainerModule(({ onActivation }) => {
    onActivation<Scheduler>(TOKENS.Scheduler, (context, scheduler) => {
      const backend = context.get<Backend>(TOKENS.Backend);
      metricsOf(options.registry).attach(scheduler, backend.kind);
      return scheduler;
    });
  });
}

/** One `PrometheusMetrics` per registry: its metric names can be registered once. */
const byRegistry = new WeakMap<Registry, PrometheusMetrics>();

function metricsOf(registry: Registry | undefined): PrometheusMetrics {
  const promClient = loadPromClient();
  const target = registry ?? promClient.register;
  let metrics = byRegistry.get(target);
  if (metrics === undefined) byRegistry.set(target, (metrics = new PrometheusMetrics(promClient, { registry: target })));
  return metrics;
}

/** prom-client, loaded when the scheduler is built: a missing one is an `E_CONFIG` naming it. */
function loadPromClient(): typeof import('prom-client') {
  try {
    return createRequire(import.meta.url)('prom-client') as typeof import('prom-client');
  } catch (error) {
    throw new SchedkitError(ErrorCode.Config, 'prometheusMetricsModule needs the "prom-client" package: npm install prom-client', { cause: error });
  }
}
