// A migration's network link and stop-and-copy rule as they cross the control plane (the
// `params_json` of AddAction kind `migrate`, and of the MigrateVm call): one JSON object
// {bandwidth (bytes/s), latencyNs, stopPages?, maxRounds?}, checked here with errors naming the field.

import { MigrationRule, NetworkLink, checkLink } from '@vsim/scheduler';

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

export function migrationParamsJson(p: MigrationParams): string {
  return JSON.stringify({ bandwidth: p.link.bandwidthBytesPerSec, latencyNs: p.link.latencyNs, ...p.rule });
}

/** The load balancer of a simulation (`balancer:` in the scenario; libs/scheduler/src/balancer.ts). */
export interface BalancerParams {
  readonly periodNs: number;
  readonly threshold: number;
  readonly stopPages?: number;
  readonly maxRounds?: number;
}

/** AddAction kind `balance`'s params_json: the balancer and the network its migrations cross. */
export function balancerParamsJson(b: BalancerParams, network: NetworkSpec | undefined): string {
  return JSON.stringify({ ...b, network: network ?? DEFAULT_NETWORK });
}

export function parseBalancerParams(o: Readonly<Record<string, unknown>>): BalancerParams & { network: NetworkSpec } {
  const num = (k: string): number => {
    if (typeof o[k] !== 'number') throw new RangeError(`params_json.${k} must be a number, got ${JSON.stringify(o[k])}`);
    return o[k] as number;
  };
  const n = o.network as NetworkSpec | undefined;
  if (typeof n !== 'object' || n === null || !Array.isArray(n.links)) throw new RangeError('params_json.network must be {bandwidth, latency, links}');
  checkLink({ bandwidthBytesPerSec: n.bandwidth, latencyNs: n.latency }, 'params_json.network');
  n.links.forEach((l, i) => checkLink({ bandwidthBytesPerSec: l.bandwidth, latencyNs: l.latency }, `params_json.network.links[${i}]`));
  const rule = parseMigrationParams({
    bandwidth: n.bandwidth,
    latencyNs: n.latency,
    ...(o.stopPages !== undefined ? { stopPages: o.stopPages } : {}),
    ...(o.maxRounds !== undefined ? { maxRounds: o.maxRounds } : {}),
  }).rule;
  return { periodNs: num('periodNs'), threshold: num('threshold'), ...rule, network: n };
}

/** Parses and checks params_json; throws a RangeError naming the field at fault. */
export function parseMigrationParams(o: Readonly<Record<string, unknown>>): MigrationParams {
  for (const k of Object.keys(o))
    if (!['bandwidth', 'latencyNs', 'stopPages', 'maxRounds'].includes(k))
      throw new RangeError(`params_json.${k}: unknown field (bandwidth, latencyNs, stopPages, maxRounds)`);
  const num = (k: string): number => {
    const v = o[k];
    if (typeof v !== 'number') throw new RangeError(`params_json.${k} must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const link = { bandwidthBytesPerSec: num('bandwidth'), latencyNs: num('latencyNs') };
  checkLink(link, 'params_json');
  const rule: { stopPages?: number; maxRounds?: number } = {};
  for (const k of ['stopPages', 'maxRounds'] as const) {
    if (o[k] === undefined) continue;
    const v = num(k);
    if (!(Number.isSafeInteger(v) && v >= (k === 'maxRounds' ? 1 : 0)))
      throw new RangeError(`params_json.${k} must be an integer ≥ ${k === 'maxRounds' ? 1 : 0}, got ${v}`);
    rule[k] = v;
  }
  return { link, rule };
}
