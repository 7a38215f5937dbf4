// What `vsim top` prints for one frame of the gateway's live stream (GET /v1/simulations/:id/live;
// apps/gateway/src/dashboard/live-frames.ts): a header with each host's virtual time, then one row
// per VM as xentop has one per domain. CPU(%) is the VM's CPU time over the virtual time its host
// advanced since the last frame (above 100 for several vCPUs); SHARE(%) is its CPU time over its
// host's capacity so far (pCPUs x virtual time).

export interface TopFrame {
  readonly sim: string;
  readonly name: string;
  readonly state: string;
  readonly durationNs: number;
  readonly hosts: readonly { host: string; pcpus: number; nowNs: number }[];
  readonly vms: readonly { vm: string; host: string; vcpus: number; cpuNs: number; state: string }[];
  readonly traps: Readonly<Record<string, number>>;
  readonly wallMs: number;
}

const ms = (ns: number) => (ns / 1e6).toFixed(3);

/** The lines of one frame; `prev` is the frame before (for CPU(%)). */
export function renderFrame(f: TopFrame, prev: TopFrame | undefined): string[] {
  const hostNow = new Map(f.hosts.map((h) => [h.host, h]));
  const prevHost = new Map((prev?.hosts ?? []).map((h) => [h.host, h.nowNs]));
  const prevCpu = new Map((prev?.vms ?? []).map((v) => [v.vm, v.cpuNs]));
  const traps = Object.values(f.traps).reduce((a, b) => a + b, 0);
  const lines = [
    `vsim top - ${f.sim} ${f.name} ${f.state}  ` +
      f.hosts.map((h) => `${h.host} ${ms(h.nowNs)}/${ms(f.durationNs)} ms`).join('  ') +
      `  traps/s ${Math.round((traps * 1000) / f.wallMs)}`,
    `${'VM'.padEnd(16)} ${'HOST'.padEnd(8)} ${'STATE'.padEnd(9)} ${'VCPUS'.padStart(5)} ${'CPU(ms)'.padStart(12)} ${'CPU(%)'.padStart(7)} ${'SHARE(%)'.padStart(8)}`,
  ];
  for (const v of f.vms) {
    const h = hostNow.get(v.host);
    const advanced = h ? h.nowNs - (prevHost.get(v.host) ?? 0) : 0;
    const cpuPct = advanced > 0 ? (100 * (v.cpuNs - (prevCpu.get(v.vm) ?? 0))) / advanced : 0;
    const share = h && h.nowNs > 0 ? (100 * v.cpuNs) / (h.nowNs * h.pcpus) : 0;
    lines.push(
      `${v.vm.padEnd(16)} ${(v.host || '-').padEnd(8)} ${v.state.padEnd(9)} ${String(v.vcpus).padStart(5)} ${ms(v.cpuNs).padStart(12)} ${cpuPct.toFixed(1).padStart(7)} ${share.toFixed(1).padStart(8)}`,
    );
  }
  return lines;
}
