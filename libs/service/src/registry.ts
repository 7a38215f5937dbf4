// Services find each other through NATS, never through fixed ports: each registers with the NATS
// service API (@nats-io/services), which answers $SRV.PING|INFO|STATS[.<name>[.<id>]] for it, with
// its gRPC address and instance name in the metadata. discover() asks $SRV.INFO.<name> and gathers
// the answers.

import { NatsConnection } from '@nats-io/nats-core';
import { Service, ServiceInfo, Svcm } from '@nats-io/services';
import { NatsBus } from '@vsim/bus';

export interface ServiceRegistration {
  /** e.g. "vsim-cpu-node". */
  readonly name: string;
  /** Semantic version. */
  readonly version: string;
  readonly description?: string;
  /** `grpc` ("host:port") and `instance` are required; anything else (e.g. `node`, `http`) may follow. */
  readonly metadata: { readonly grpc: string; readonly instance: string; readonly [key: string]: string };
}

/** Registers on NATS; `stop()` the returned service to deregister. */
export async function registerService(nc: NatsConnection, reg: ServiceRegistration): Promise<Service> {
  return new Svcm(nc).add({
    name: reg.name,
    version: reg.version,
    description: reg.description ?? '',
    metadata: { ...reg.metadata },
    // No endpoints are added: the service API is used for discovery only; work goes over gRPC
    // (control) and vsim's own subjects (data plane).
  });
}

export interface DiscoveredService {
  readonly name: string;
  /** The NATS service API's id of the registration. */
  readonly id: string;
  readonly version: string;
  readonly instance: string;
  readonly grpc: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * Every registered instance of `name` that answers within `timeoutMs` (after the first answer, the
 * wait ends once no further answer comes for `stallMs`), sorted by instance name. Registrations
 * without a `grpc` address are ignored.
 */
export async function discover(via: NatsBus | NatsConnection, name: string, timeoutMs = 1000, stallMs = 250): Promise<DiscoveredService[]> {
  const nc = via instanceof NatsBus ? via.nc : via;
  const found: DiscoveredService[] = [];
  let infos: AsyncIterable<ServiceInfo>;
  try {
    infos = await new Svcm(nc).client({ strategy: 'stall', maxWait: timeoutMs, stall: stallMs }).info(name);
    for await (const info of infos) {
      const md = info.metadata ?? {};
      if (!md.grpc) continue;
      found.push({ name: info.name, id: info.id, version: info.version, instance: md.instance ?? info.id, grpc: md.grpc, metadata: md });
    }
  } catch (err) {
    // Nobody registered under that name: the server answers "no responders" at once.
    if (!isNoResponders(err)) throw err;
  }
  return found.sort((a, b) => (a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : a.id < b.id ? -1 : 1));
}

function isNoResponders(err: unknown): boolean {
  for (let e: unknown = err, i = 0; e instanceof Error && i < 4; e = e.cause, i++) {
    if (e.name === 'NoRespondersError' || /no responders/i.test(e.message)) return true;
  }
  return false;
}
