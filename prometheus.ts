/**
 * `schedkit/prometheus`: the scheduler's runs as Prometheus metrics, through
 * prom-client (an optional peer dependency: install it to use this entry
 * point). Every name is listed on purpose; `api/prometheus.api.md` records them.
 */
export { PrometheusMetrics, type PrometheusMetricsOptions, type MetricsSource } from './src/observability/prometheus-metrics.js';
export { prometheusMetricsModule, type PrometheusMetricsModuleOptions } from './modules/prometheus-metrics.module.js';
