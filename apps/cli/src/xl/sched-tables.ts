// What `vsim sched-credit`, `sched-credit2`, `sched-rtds`, `sched-sedf` and `vsim sched show` print:
// xl's tables (tools/xl/xl_sched.c). For each cpupool its scheduler runs, a line with the pool's
// scheduler-wide parameters in xl's units ("Cpupool default: tslice=30ms ratelimit=1000us ..."),
// then a row per domain of the pool. The policies keep times in ns; these tables never show ns.

import { DomainList, SchedParams } from '@vsim/proto';
import { schedulerSpecOf, vmSchedParamsOf } from '@vsim/control';
import { RTDS, SEDF } from '@vsim/vocabulary';
import { col, poolName } from './format';

// Xen's defaults, which xl shows for what was never set (credit.c, credit2.c, rt.c, sedf.c of Xen
// 4.5; libs/scheduler uses the same values).
const CREDIT_TSLICE_NS = 30_000_000;
const RATELIMIT_NS = 1_000_000;
const CREDIT_WEIGHT = 256;
// The per-VM ones come from the policy registry's descriptors, as the schedulers' own do.
const RTDS_PERIOD_NS = RTDS.vmDefaults.period;
const RTDS_BUDGET_NS = RTDS.vmDefaults.budget;
const SEDF_PERIOD_NS = SEDF.vmDefaults.period;
const SEDF_SLICE_NS = SEDF.vmDefaults.slice;

type Params = Readonly<Record<string, unknown>>;

interface PolicyTable {
  /** The pool line after "Cpupool NAME: ". */
  pool(p: Params): string;
  header: string;
  row(vm: string, id: number, p: Params): string;
}

const num = (p: Params, key: string, dflt: number): number => (typeof p[key] === 'number' ? (p[key] as number) : dflt);
const flag = (p: Params, key: string, dflt: boolean): boolean => (typeof p[key] === 'boolean' ? (p[key] as boolean) : dflt);
const us = (ns: number) => Math.round(ns / 1_000);
const ms = (ns: number) => Math.round(ns / 1_000_000);

const WEIGHT_CAP: Pick<PolicyTable, 'header' | 'row'> = {
  header: `${col('Name', 33, 'left')} ${col('ID', 4)} ${col('Weight', 6)} ${col('Cap', 4)}`,
  row: (vm, id, p) => `${col(vm, 33, 'left')} ${col(id, 4)} ${col(num(p, 'weight', CREDIT_WEIGHT), 6)} ${col(num(p, 'cap', 0), 4)}`,
};

/** Per policy (the name the scheduler reports): xl's pool line and domain table. */
export const POLICY_TABLES: Readonly<Record<string, PolicyTable>> = {
  credit: {
    pool: (p) => `tslice=${ms(num(p, 'tslice', CREDIT_TSLICE_NS))}ms ratelimit=${us(num(p, 'ratelimit', RATELIMIT_NS))}us migration-delay=0us`,
    ...WEIGHT_CAP,
  },
  credit2: { pool: (p) => `ratelimit=${us(num(p, 'ratelimit', RATELIMIT_NS))}us`, ...WEIGHT_CAP },
  rtds: {
    pool: () => 'sched=RTDS',
    header: `${col('Name', 33, 'left')} ${col('ID', 4)} ${col('Period', 9)} ${col('Budget', 9)} ${col('Extratime', 10)}`,
    row: (vm, id, p) =>
      `${col(vm, 33, 'left')} ${col(id, 4)} ${col(us(num(p, 'period', RTDS_PERIOD_NS)), 9)} ${col(us(num(p, 'budget', RTDS_BUDGET_NS)), 9)} ${col(flag(p, 'extratime', true) ? 'yes' : 'no', 10)}`,
  },
  // xl sched-sedf (Xen 4.5) also had Latency and Weight columns, which vsim's SEDF does not model.
  sedf: {
    pool: () => 'sched=SEDF',
    header: `${col('Name', 33, 'left')} ${col('ID', 4)} ${col('Period', 6)} ${col('Slice', 6)} ${col('Extra', 5)}`,
    row: (vm, id, p) =>
      `${col(vm, 33, 'left')} ${col(id, 4)} ${col(ms(num(p, 'period', SEDF_PERIOD_NS)), 6)} ${col(ms(num(p, 'slice', SEDF_SLICE_NS)), 6)} ${col(flag(p, 'extra', true) ? 1 : 0, 5)}`,
  },
  'round-robin': {
    pool: (p) => `timeslice=${ms(num(p, 'timeslice', 10_000_000))}ms`,
    header: `${col('Name', 33, 'left')} ${col('ID', 4)}`,
    row: (vm, id) => `${col(vm, 33, 'left')} ${col(id, 4)}`,
  },
};

/** The scheduler-wide parameters of one pool, from its host's (a split host carries every pool's). */
function poolParams(hostPolicy: string, hostParams: Params, pool: string): Params {
  if (hostPolicy !== 'cpupools') return hostParams;
  const p = hostParams as { default?: { params?: Params }; pools?: { id: string; scheduler?: { params?: Params } }[] };
  return (pool === 'default' ? p.default?.params : p.pools?.find((q) => q.id === pool)?.scheduler?.params) ?? {};
}

export interface TableChoice {
  /** Only pools run by this policy (a sched-POLICY command); all pools (sched show) when absent. */
  readonly policy?: string;
  /** Only this domain: its table row without pool line (xl sched-* -d). */
  readonly domain?: string;
  /** Only the pool lines (xl sched-* -s). */
  readonly poolsOnly?: boolean;
}

/** xl's sched_domain_output: per pool, its line, the header, its domains. */
export function schedTables(params: SchedParams, list: DomainList, choice: TableChoice = {}): string {
  const lines: string[] = [];
  const vmParams = new Map(params.vms.map((v) => [v.vm, vmSchedParamsOf(v.params) as Params]));
  const hostOf = new Map(
    params.hosts.map((h) => [h.host, { policy: h.policy, params: (h.scheduler ? schedulerSpecOf(h.scheduler).params : {}) as Params }]),
  );
  if (choice.domain !== undefined) {
    const d = list.domains.find((x) => x.vm === choice.domain);
    const table = d && POLICY_TABLES[d.scheduler];
    if (!d || !table) return '';
    return [table.header, table.row(d.vm, d.id, vmParams.get(d.vm) ?? {})].join('\n') + '\n';
  }
  for (const pool of list.pools) {
    if (choice.policy !== undefined && pool.scheduler !== choice.policy) continue;
    const table = POLICY_TABLES[pool.scheduler];
    const host = hostOf.get(pool.host);
    const name = poolName(pool, list);
    if (!table || !host) {
      lines.push(`Cpupool ${name}: [sched params unavailable]`);
      continue;
    }
    lines.push(`Cpupool ${name}: ${table.pool(poolParams(host.policy, host.params, pool.pool))}`);
    if (choice.poolsOnly) continue;
    lines.push(table.header);
    for (const d of list.domains) {
      if (d.host === pool.host && d.pool === pool.pool && d.shutdown === '') lines.push(table.row(d.vm, d.id, vmParams.get(d.vm) ?? {}));
    }
  }
  return lines.length > 0 ? lines.join('\n') + '\n' : '';
}
