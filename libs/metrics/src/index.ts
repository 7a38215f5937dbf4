// @vsim/metrics: the Prometheus metrics of a vsim service (docs/metrics.md) and the /metrics
// listener the service shell (@vsim/service) starts in every process.
export { LATENCY_BUCKETS, ServiceMetrics } from './service-metrics';
export type { ServiceIdentity } from './service-metrics';
export { startMetricsServer } from './server';
export type { MetricsServer } from './server';
export { routeOf } from './subjects';
export type { SubjectKind, SubjectRoute } from './subjects';
