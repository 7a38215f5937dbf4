// A migration's network link and stop-and-copy rule as they cross the control plane (the
// `params_json` of AddAction kind `migrate`, and of the MigrateVm call): one JSON object
// {bandwidth (bytes/s), latencyNs, stopPages?, maxRounds?}, checked here with errors naming the field.

import { MigrationRule, NetworkLink, checkLink } from '@vsim/scheduler';

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
