// The end-of-run summary: one table row per VM, then what each VM printed, then the hash of the
// event log (the fingerprint of the run: same scenario and seed, same hash, wherever it ran).

import { SimResult, VmResult } from '@vsim/control';

const ms = (ns: number) => (ns / 1e6).toFixed(3);
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** `cause×n [route/exit|translated]` per kind, handler and route (VmResult.exitRoutes), most frequent first. */
function exitsLine(v: VmResult): string {
  const entries = Object.entries(v.exitRoutes).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  if (entries.length === 0) return '-';
  return entries
    .map(([k, n]) => {
      const [kind, cause, how] = k.split(' ');
      return `${cause}×${n} [${kind === 'hypercall' ? 'hypercall, ' : ''}${how}]`;
    })
    .join(', ');
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === 0 || i === 2 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/**
 * Scheduling metrics, compactly: per VM (only figures that are not zero) preemptions, migrations,
 * deadline misses, offline time and the wake-up latency distribution; per host the pCPUs'
 * utilization, idle time while a vCPU was runnable, and Jain's fairness index against the weights.
 */
function schedLines(r: SimResult): string[] {
  if (!r.vms.some((v) => v.sched)) return [];
  const out = ['scheduling:'];
  for (const v of r.vms) {
    const s = v.sched;
    if (!s) continue;
    const parts = [`preemptions ${s.preemptions}`, `migrations ${s.migrations}`];
    if (s.deadlineMisses > 0) parts.push(`deadline misses ${s.deadlineMisses}`);
    if (s.offlineNs > 0) parts.push(`offline ${ms(s.offlineNs)} ms`);
    const l = s.wakeLatency;
    if (l.count > 0) {
      parts.push(`wake-up latency ms (${l.count}): mean ${ms(l.meanNs)} p50 ${ms(l.p50Ns)} p90 ${ms(l.p90Ns)} p99 ${ms(l.p99Ns)} max ${ms(l.maxNs)}`);
    }
    out.push(`  ${v.id}: ${parts.join(', ')}`);
  }
  for (const h of r.hosts) {
    if (!h.sched) continue;
    const util = h.sched.pcpus.map((p) => pct(p.utilization)).join(' ');
    out.push(
      `  ${h.id}: pCPU utilization ${util}, idle while runnable ${ms(h.sched.idleWaitingNs)} ms, Jain's index ${h.sched.jainIndex.toFixed(4)}`,
    );
  }
  out.push('');
  return out;
}

/** VMs whose ISA is not their host's: emulated, each guest cycle charged × the engine's expansion factor. */
function emulationLines(r: SimResult): string[] {
  const emulated = r.vms.filter((v) => v.expansion !== 1);
  if (emulated.length === 0) return [];
  const isaOf = new Map(r.hosts.map((h) => [h.id, h.isa]));
  return [
    'emulated (another ISA than its host’s, or technique emulation; guest cycles × the engine’s expansion factor):',
    ...emulated.map((v) => `  ${v.id}: ${v.isa} on host ${v.host} (${isaOf.get(v.host)}), ×${v.expansion}`),
    '',
  ];
}

export interface SummaryNotes {
  /**
   * Per VM, why its run is not equivalent to native (e.g. diagnoseRing32's report for a ring32
   * kernel under plain trap-and-emulate): printed under "equivalence with native".
   */
  readonly diagnoses?: ReadonlyMap<string, string>;
}

export function formatSummary(r: SimResult, wallSeconds: number, notes: SummaryNotes = {}): string {
  const out: string[] = [];
  const hosts = r.hosts
    .map((h) => `${h.id} (${h.pcpus} pCPU${h.pcpus > 1 ? 's' : ''}, reached ${ms(h.endNs)} ms in ${h.iterations} iterations)`)
    .join(', ');
  out.push(`${r.name}: seed ${r.seed}, ${ms(r.durationNs)} ms of virtual time, trap path ${r.trapPath}; hosts ${hosts}`);
  out.push('');
  const rows = [['vm', 'host', 'state', 'cpu ms', 'share', 'waiting ms', 'blocked ms', 'instructions']];
  for (const v of r.vms) {
    const state = v.state === 'faulted' ? 'faulted' : v.state === 'halted' ? `halted(${v.exitStatus ?? 0})` : v.state;
    rows.push([v.id, v.host, state, ms(v.cpuNs), pct(v.hostShare), ms(v.waitingNs), ms(v.blockedNs), String(v.instructions)]);
  }
  out.push(table(rows));
  out.push('');
  if (r.migrations && r.migrations.length > 0) {
    // Live migrations (pre-copy): virtual-time figures from their migrate-resume events.
    const m = [['migration', 'start ms', 'rounds', 'pages', 'MiB', 'total ms', 'downtime ms', 'stopped by']];
    for (const x of r.migrations)
      m.push([
        `${x.vm} ${x.from}->${x.to}`,
        ms(x.startNs),
        String(x.rounds),
        String(x.pages),
        (x.bytes / (1 << 20)).toFixed(2),
        ms(x.totalNs),
        ms(x.downtimeNs),
        x.stoppedBy,
      ]);
    out.push(table(m));
    out.push('');
  }
  out.push(...schedLines(r));
  out.push('traps and hypercalls by cause [route/exit or translated call]:');
  for (const v of r.vms) out.push(`  ${v.id}: ${exitsLine(v)}`);
  for (const v of r.vms) if (v.fault) out.push(`  ${v.id} faulted: ${v.fault}`);
  out.push('');
  out.push(...emulationLines(r));
  if (notes.diagnoses && notes.diagnoses.size > 0) {
    out.push('equivalence with native (Popek–Goldberg):');
    for (const [vm, report] of notes.diagnoses) for (const l of report.split('\n')) out.push(`  ${vm}: ${l}`);
    out.push('');
  }
  for (const v of r.vms) {
    if (!v.console) continue;
    out.push(`console of ${v.id}:`);
    const lines = v.console.replace(/\n$/, '').split('\n');
    const shown = lines.length > 12 ? [...lines.slice(0, 5), `… (${lines.length - 10} more lines)`, ...lines.slice(-5)] : lines;
    for (const l of shown) out.push(`  | ${l}`);
  }
  out.push('');
  out.push(`events: ${r.events}   wall time: ${wallSeconds.toFixed(2)} s`);
  out.push(`event-log hash: ${r.eventLogHash}`);
  return out.join('\n') + '\n';
}
