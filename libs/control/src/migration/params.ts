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
