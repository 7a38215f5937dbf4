// @vsim/service: the process shell every vsim service shares (apps/hypervisor, cpu-node, scheduler,
// gateway): logging, the gRPC server with health, registration and discovery on NATS, flags, and
// a graceful stop.
export { createLogger, LOG_LEVELS } from './logger';
export type { Logger, LoggerOptions } from './logger';
export { startGrpcServer, serviceNameOf } from './grpc';
export type { GrpcServerHandle, GrpcServerOptions, GrpcServiceEntry } from './grpc';
export { registerService, discover } from './registry';
export type { DiscoveredService, ServiceRegistration } from './registry';
export { onShutdown } from './shutdown';
export type { ShutdownOptions } from './shutdown';
export { parseFlags, usage, FlagError } from './flags';
export type { CommonFlags, FlagSpec, ParsedFlags } from './flags';
export { runService, GRPC_GRACE_MS, SHUTDOWN_LIMIT_MS } from './run';
export { ALL_HEARTBEATS, HEARTBEAT_MS, LOST_AFTER_MS, LivenessMonitor, heartbeatSubject, startHeartbeat } from './heartbeat';
export type { Heartbeat, Lost, WatchedService } from './heartbeat';
export type { RunningService, ServiceContext, ServiceDefinition, ServiceParts } from './run';
export { BUILTIN_SCHEDULER, IMPLEMENTATION_KEY, isBuiltin } from './implementation';
