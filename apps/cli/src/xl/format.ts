// The pieces of xl's output the listing and sched-* commands share: printf-style columns, CPU sets
// as xl prints and parses them (print_bitmap, parse_cpurange in tools/xl/xl_utils.c, xl_parse.c),
// cpupool names, and finding a domain by name or ID as xl's find_domain does.

import { CpupoolInfo, DomainInfo, DomainList } from '@vsim/proto';
import { CallError } from '../gateway-call';
import { EXIT } from '../command';

/** printf's %-Ns (left) or %Ns (right): pads, never truncates. */
export function col(value: string | number, width: number, align: 'left' | 'right' = 'right'): string {
  const s = String(value);
  return align === 'left' ? s.padEnd(width) : s.padStart(width);
}

/**
 * Seconds of virtual time, as xl's Time(s) columns (%8.1f, %9.1f) but with three decimals: a
 * simulated run lasts milliseconds, so one decimal would show 0.0 everywhere. Widths are xl's.
 */
export function seconds(ns: number, width: number): string {
  return col((ns / 1e9).toFixed(3), width);
}

/** xl's print_bitmap: "all" when every one of `n` CPUs is in the set, "none" when none, else ranges "0-2,5". */
export function cpuSet(ids: readonly number[], n: number): string {
  const set = [...new Set(ids)].filter((c) => c >= 0 && c < n).sort((a, b) => a - b);
  if (set.length === 0) return ids.length === 0 ? 'all' : 'none';
  if (set.length === n) return 'all';
  const parts: string[] = [];
  for (let i = 0; i < set.length;) {
    let j = i;
    while (j + 1 < set.length && set[j + 1] === set[j] + 1) j++;
    parts.push(i === j ? `${set[i]}` : `${set[i]}-${set[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/**
 * xl's CPU list syntax (xl vcpu-pin, cpupool-cpu-add): "all", or comma-separated items, each a CPU
 * "3", a range "0-3", or an exclusion "^2" / "^0-1" applied after what precedes it. Returns the
 * CPU ids in order; throws an Error naming the item that is not one.
 */
export function parseCpuList(text: string, n: number): number[] {
  const set = new Set<number>();
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === 'all') {
      for (let c = 0; c < n; c++) set.add(c);
      continue;
    }
    const m = /^(\^?)(\d+)(?:-(\d+))?$/.exec(item);
    if (!m) throw new Error(`'${item}' is not a CPU, a range N-M, ^N or all`);
    const [lo, hi] = [Number(m[2]), Number(m[3] ?? m[2])];
    if (hi < lo) throw new Error(`'${item}': the range is empty`);
    if (hi >= n) throw new Error(`'${item}': the host has ${n === 1 ? 'only pCPU 0' : `pCPUs 0-${n - 1}`}`);
    for (let c = lo; c <= hi; c++) {
      if (m[1]) set.delete(c);
      else set.add(c);
    }
  }
  return [...set].sort((a, b) => a - b);
}

/**
 * A cpupool's name as the commands print and accept it: the scenario's pool id (`default` for the
 * pCPUs no pool claims, Xen's Pool-0) when the simulation has one host, `HOST/POOL` when it has more.
 */
export function poolName(p: Pick<CpupoolInfo, 'host' | 'pool'>, list: DomainList): string {
  return hostCount(list) > 1 ? `${p.host}/${p.pool}` : p.pool;
}

function hostCount(list: DomainList): number {
  return new Set(list.pools.map((p) => p.host)).size;
}

/** The pool a domain is in. */
export function poolOf(d: DomainInfo, list: DomainList): CpupoolInfo | undefined {
  return list.pools.find((p) => p.host === d.host && p.pool === d.pool);
}

/** The number of pCPUs of a host. */
export function hostPcpus(host: string, list: DomainList): number {
  return list.pools.filter((p) => p.host === host).reduce((n, p) => n + p.pcpus.length, 0);
}

/** xl's find_domain: a domain by name, or by its ID. */
export function findDomain(list: DomainList, nameOrId: string): DomainInfo {
  const d = list.domains.find((x) => x.vm === nameOrId) ?? (/^\d+$/.test(nameOrId) ? list.domains.find((x) => x.id === Number(nameOrId)) : undefined);
  if (!d) throw new CallError(`unknown domain '${nameOrId}' (the simulation has ${list.domains.map((x) => x.vm).join(', ')})`, EXIT.failure);
  return d;
}
