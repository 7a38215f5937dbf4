// What a simulation's migrations and load balancer are given, in domain terms: the scenario's
// network (and the link a migration between two hosts crosses), a migration's link and rule, the
// balancer's parameters. Their messages and the checks on receipt: proto-migration.ts.

import { MigrationRule, NetworkLink } from '@vsim/scheduler';

/** The scenario's network (`network:`): a default link and per-pair overrides, from → to. */
export interface NetworkSpec {
  /** Bytes per second of virtual time. */
  readonly bandwidth: number;
  readonly latency: number;
  readonly links: readonly { readonly from: string; readonly to: string; readonly bandwidth: number; readonly latency: number }[];
}

/** The scenario format's defaults: 128 MiB/s (≈ 1 Gbit/s), 50 µs. */
export const DEFAULT_NETWORK: NetworkSpec = { bandwidth: 128 << 20, latency: 50_000, links: [] };

/** The link a migration from `from` to `to` crosses. */
export function linkFor(net: NetworkSpec | undefined, from: string, to: string): NetworkLink {
  const n = net ?? DEFAULT_NETWORK;
  const l = n.links.find((x) => x.from === from && x.to === to) ?? n;
  return { bandwidthBytesPerSec: l.bandwidth, latencyNs: l.latency };
}

export interface MigrationParams {
  readonly link: NetworkLink;
  readonly rule: Partial<MigrationRule>;
}

/** The load balancer of a simulation (`balancer:` in the scenario; libs/scheduler/src/balancer.ts). */
export interface BalancerParams {
  readonly periodNs: number;
  readonly threshold: number;
  readonly stopPages?: number;
  readonly maxRounds?: number;
}
