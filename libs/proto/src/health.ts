// The standard gRPC health service (grpc.health.v1.Health) for vsim's gRPC servers: a table of
// serving statuses, one per service name ('' for the server as a whole), served as Check, List and
// Watch. Register it with `server.addService(HealthService, health.implementation)`.

import { ServerWritableStream, status } from '@grpc/grpc-js';
import {
  HealthCheckRequest,
  HealthCheckResponse,
  HealthCheckResponse_ServingStatus as ServingStatus,
  HealthServer,
} from './gen/grpc/health/v1/health';

/** List answers RESOURCE_EXHAUSTED beyond this many services (health.proto). */
const LIST_LIMIT = 100;

type Watch = ServerWritableStream<HealthCheckRequest, HealthCheckResponse>;

export class HealthStatus {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watches = new Set<Watch>();

  /** By default the server as a whole ('') is SERVING. */
  constructor(initial: Record<string, ServingStatus> = { '': ServingStatus.SERVING }) {
    for (const [service, s] of Object.entries(initial)) this.statuses.set(service, s);
  }

  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  /** Sets a service's status and tells its watchers when it changed. */
  set(service: string, s: ServingStatus): void {
    if (this.statuses.get(service) === s) return;
    this.statuses.set(service, s);
    for (const w of this.watches) if (w.request.service === service) w.write({ status: s });
  }

  /**
   * On graceful stop, before `server.tryShutdown`: every service becomes NOT_SERVING and Watch
   * streams end (open streams would keep tryShutdown waiting; clients retry elsewhere).
   */
  shutdown(): void {
    for (const service of this.statuses.keys()) this.set(service, ServingStatus.NOT_SERVING);
    for (const w of this.watches) w.end();
    this.watches.clear();
  }

  readonly implementation: HealthServer = {
    check: (call, callback) => {
      const s = this.statuses.get(call.request.service);
      if (s === undefined) callback({ code: status.NOT_FOUND, details: `unknown service ${JSON.stringify(call.request.service)}` });
      else callback(null, { status: s });
    },
    list: (_call, callback) => {
      if (this.statuses.size > LIST_LIMIT) {
        callback({ code: status.RESOURCE_EXHAUSTED, details: `more than ${LIST_LIMIT} services` });
        return;
      }
      const statuses: Record<string, HealthCheckResponse> = {};
      for (const [service, s] of this.statuses) statuses[service] = { status: s };
      callback(null, { statuses });
    },
    watch: (call) => {
      call.write({ status: this.statuses.get(call.request.service) ?? ServingStatus.SERVICE_UNKNOWN });
      this.watches.add(call);
      const forget = () => this.watches.delete(call);
      call.on('cancelled', forget);
      call.on('close', forget);
    },
  };
}
