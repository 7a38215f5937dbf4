// Live migration and the load balancer at the control planes' edge: the domain values (a link and
// a rule, libs/scheduler/src/migration.ts; the balancer and the scenario's network,
// migration/params.ts) to the MigrationParams / BalancerParams messages that AddAction and MigrateVm
// carry, and back. The way back is where they are checked, once, with errors naming the message's
// field (`migration.rule.max_rounds`); inside the services they are only ever the domain types.

import {
  BalancerParams as BalancerParamsMsg,
  MigrationParams as MigrationParamsMsg,
  MigrationRule as MigrationRuleMsg,
  Network as NetworkMsg,
  NetworkLink as NetworkLinkMsg,
} from '@vsim/proto';
import type { MigrationRule, NetworkLink } from '@vsim/scheduler';
import { BalancerParams, DEFAULT_NETWORK, MigrationParams, NetworkSpec } from './migration/params';

type Plain = Readonly<Record<string, unknown>>;

const UINT32_MAX = 2 ** 32 - 1;

// ---- Domain -> message

export function linkMessage(l: NetworkLink): NetworkLinkMsg {
  return { bandwidthBytesPerS: l.bandwidthBytesPerSec, latencyNs: l.latencyNs };
}

export function ruleMessage(r: Partial<MigrationRule> | undefined): MigrationRuleMsg {
  return { stopPages: r?.stopPages, maxRounds: r?.maxRounds };
}

/** AddAction kind `migrate`'s `migration`, MigrateVm's `params`. */
export function migrationMessage(p: MigrationParams): MigrationParamsMsg {
  return { link: linkMessage(p.link), rule: ruleMessage(p.rule) };
}

export function networkMessage(n: NetworkSpec): NetworkMsg {
  return {
    defaultLink: { bandwidthBytesPerS: n.bandwidth, latencyNs: n.latency },
    links: n.links.map((l) => ({ from: l.from, to: l.to, link: { bandwidthBytesPerS: l.bandwidth, latencyNs: l.latency } })),
  };
}

/** AddAction kind `balance`'s `balancer`: the balancer and the network its migrations cross. */
export function balancerMessage(b: BalancerParams, network: NetworkSpec | undefined): BalancerParamsMsg {
  return {
    periodNs: b.periodNs,
    threshold: b.threshold,
    network: networkMessage(network ?? DEFAULT_NETWORK),
    rule: ruleMessage(b),
  };
}

/**
 * The gateway's MigrateVm: the caller's overrides (any field, or none) over the scenario's link
 * from the VM's host to the destination. Not checked here: the scheduler checks what it receives.
 */
export function withScenarioLink(overrides: MigrationParamsMsg | undefined, link: NetworkLink): MigrationParamsMsg {
  return {
    link: {
      bandwidthBytesPerS: overrides?.link?.bandwidthBytesPerS ?? link.bandwidthBytesPerSec,
      latencyNs: overrides?.link?.latencyNs ?? link.latencyNs,
    },
    rule: overrides?.rule ?? {},
  };
}

/**
 * The HTTP API's `POST …/migrate` body (besides vm and host): `{bandwidth?, latencyNs?,
 * stopPages?, maxRounds?}` as a MigrationParams of overrides. Checks only what the message must
 * hold (unsigned integers that fit its fields); the bounds are the receiver's (migrationParamsOf).
 */
export function migrationOverridesOfPlain(o: Plain, where: string): MigrationParamsMsg {
  const keys = ['bandwidth', 'latencyNs', 'stopPages', 'maxRounds'];
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new RangeError(`${where}.${k}: unknown field (${keys.join(', ')})`);
  const uint = (k: string, max: number): number | undefined => {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max)
      throw new RangeError(`${where}.${k} must be an integer from 0 to ${max}, got ${JSON.stringify(v)}`);
    return v;
  };
  const bandwidthBytesPerS = uint('bandwidth', Number.MAX_SAFE_INTEGER);
  const latencyNs = uint('latencyNs', Number.MAX_SAFE_INTEGER);
  return {
    link: bandwidthBytesPerS === undefined && latencyNs === undefined ? undefined : { bandwidthBytesPerS, latencyNs },
    rule: { stopPages: uint('stopPages', UINT32_MAX), maxRounds: uint('maxRounds', UINT32_MAX) },
  };
}

// ---- Message -> domain, checked

function required<T>(v: T | undefined, field: string): T {
  if (v === undefined || v === null) throw new RangeError(`${field} is required`);
  return v;
}

function integer(v: number, min: number, field: string): number {
  if (!(Number.isSafeInteger(v) && v >= min)) throw new RangeError(`${field} must be an integer ≥ ${min}, got ${v}`);
  return v;
}

/** A link received: both fields present, bandwidth > 0 bytes/s. */
export function linkOf(m: NetworkLinkMsg | undefined, field: string): NetworkLink {
  const l = required(m, field);
  return {
    bandwidthBytesPerSec: integer(required(l.bandwidthBytesPerS, `${field}.bandwidth_bytes_per_s`), 1, `${field}.bandwidth_bytes_per_s`),
    latencyNs: integer(required(l.latencyNs, `${field}.latency_ns`), 0, `${field}.latency_ns`),
  };
}

/** A rule received: only the fields given (the others keep DEFAULT_MIGRATION_RULE's); max_rounds ≥ 1. */
export function ruleOf(m: MigrationRuleMsg | undefined, field: string): Partial<MigrationRule> {
  const rule: { stopPages?: number; maxRounds?: number } = {};
  if (m?.stopPages !== undefined) rule.stopPages = integer(m.stopPages, 0, `${field}.stop_pages`);
  if (m?.maxRounds !== undefined) rule.maxRounds = integer(m.maxRounds, 1, `${field}.max_rounds`);
  return rule;
}

/** A migration's params received (`field`: where they sit, named in errors). */
export function migrationParamsOf(m: MigrationParamsMsg | undefined, field: string): MigrationParams {
  const p = required(m, field);
  return { link: linkOf(p.link, `${field}.link`), rule: ruleOf(p.rule, `${field}.rule`) };
}

export function networkOf(m: NetworkMsg | undefined, field: string): NetworkSpec {
  const n = required(m, field);
  const d = linkOf(n.defaultLink, `${field}.default_link`);
  return {
    bandwidth: d.bandwidthBytesPerSec,
    latency: d.latencyNs,
    links: n.links.map((o, i) => {
      const at = `${field}.links[${i}]`;
      if (o.from === '' || o.to === '') throw new RangeError(`${at}: from and to must be host ids`);
      const l = linkOf(o.link, `${at}.link`);
      return { from: o.from, to: o.to, bandwidth: l.bandwidthBytesPerSec, latency: l.latencyNs };
    }),
  };
}

/** The balancer received, with the network its migrations cross. */
export function balancerParamsOf(m: BalancerParamsMsg | undefined, field: string): BalancerParams & { readonly network: NetworkSpec } {
  const b = required(m, field);
  if (!(Number.isFinite(b.threshold) && b.threshold > 0)) throw new RangeError(`${field}.threshold must be a positive number, got ${b.threshold}`);
  return {
    periodNs: integer(b.periodNs, 1, `${field}.period_ns`),
    threshold: b.threshold,
    ...ruleOf(b.rule, `${field}.rule`),
    network: networkOf(b.network, `${field}.network`),
  };
}
