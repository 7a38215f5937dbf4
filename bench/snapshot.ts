// The snapshot benchmark (issue 10, item 2): how big a VM snapshot is, full and incremental, for
// VMs of 1 MiB and 16 MiB, how long taking, encoding and restoring one takes, and what dirty-page
// logging costs a running guest (the same guest with and without the log armed, interleaved).
//
//   npm run bench:snapshot [-- --quick]

import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DirtyPages } from '@vsim/isa';
import { HostExecutor, VmSetup, restoreVm, snapshotVm } from '@vsim/executor';
import { VmRecord } from '@vsim/hypervisor';
import { VmSnapshot } from '@vsim/proto';
import { HostDriver, driverHostConfig, localTrapHandlers } from '@vsim/testkit';

const GUESTS = path.resolve(__dirname, '../guests');
const MiB = 1 << 20;

interface BenchVm {
  readonly name: string;
  readonly hostIsa: 'rv32' | 'ring32';
  readonly setup: VmSetup;
  /** When the full snapshot is taken, and how far apart the incremental ones (the ring32 kernel ends at ~1.9 ms). */
  readonly firstNs: number;
  readonly stepNs: number;
}

function vm(name: string, image: string, memoryBytes: number, extra: Partial<VmSetup>, firstNs = 1e6, stepNs = 1e6): BenchVm {
  const setup: VmSetup = {
    id: name,
    kind: 'kernel',
    vcpus: 1,
    memoryBytes,
    image: readFileSync(`${GUESTS}/${image}`),
    args: [],
    engine: 'bt',
    ...extra,
  };
  return { name, hostIsa: setup.isa === 'ring32' ? 'ring32' : 'rv32', setup, firstNs, stepNs };
}

// rv32 kernels load at 0x80200000 and a Linux program keeps a 1 MiB stack, so the 1 MiB VM is ring32's.
const VMS: readonly BenchVm[] = [
  vm('ring32 kernel, code patching, 1 MiB', 'ring32/bin/kernel.elf', MiB, { isa: 'ring32', technique: 'code-patching' }, 5e5, 3e5),
  vm('ring32 kernel, code patching, 16 MiB', 'ring32/bin/kernel.elf', 16 * MiB, { isa: 'ring32', technique: 'code-patching' }, 5e5, 3e5),
  vm('rv32 kernel (cpu), trap-and-emulate, 16 MiB', 'rv32/bin/kernel-cpu.elf', 16 * MiB, { technique: 'trap-and-emulate' }),
  vm('rv32 SMP kernel, binary translation, 16 MiB', 'rv32/bin/kernel-smp.elf', 16 * MiB, { technique: 'binary-translation', vcpus: 2 }, 2e5, 2e5),
  vm('rv32 Linux checksum, 16 MiB', 'rv32/bin/checksum.elf', 16 * MiB, { kind: 'linux', args: ['3'] }),
];

function start(b: BenchVm): { exec: HostExecutor; driver: HostDriver; allocators: Map<string, VmRecord> } {
  const allocators = new Map<string, VmRecord>();
  const exec = new HostExecutor(driverHostConfig(b.setup.vcpus, b.hostIsa), localTrapHandlers(allocators));
  const v = exec.createVm(b.setup);
  allocators.set(v.id, { id: v.id, kind: b.setup.kind, brkStart: v.brkStart, brk: v.brkStart, brkMax: v.brkMax });
  return { exec, driver: new HostDriver(exec), allocators };
}

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const REPEAT = 5;

function times(f: () => void): number[] {
  return Array.from({ length: REPEAT }, () => {
    const t0 = process.hrtime.bigint();
    f();
    return ms(t0);
  });
}

function median(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

/** Full snapshot at `firstNs`, incremental ones `stepNs` later (each since the one before). */
async function sizes(b: BenchVm, increments: number): Promise<string[]> {
  const { firstNs, stepNs } = b;
  const s = start(b);
  const vmId = b.setup.id;
  await s.driver.runUntil(firstNs, true);
  // Timings are medians of REPEAT: a full snapshot may be taken again and again (each begins a new generation).
  let full = snapshotVm(s.exec, vmId, { nowNs: s.driver.nowNs, allocator: s.allocators.get(vmId) });
  let fullBytes = VmSnapshot.encode(full).finish();
  const captureMs = median(
    times(() => {
      full = snapshotVm(s.exec, vmId, { nowNs: s.driver.nowNs, allocator: s.allocators.get(vmId) });
    }),
  );
  const encodeMs = median(
    times(() => {
      fullBytes = VmSnapshot.encode(full).finish();
    }),
  );
  const image = full.definition!.image.length;
  const rows = [
    `  full at ${firstNs / 1e6} ms: ${full.memory!.pages.length} non-zero pages of ${b.setup.memoryBytes / 4096}, ` +
      `${kib(fullBytes.length)} encoded (image ${kib(image)}), capture ${captureMs.toFixed(2)} ms, encode ${encodeMs.toFixed(2)} ms`,
  ];
  const chain = [fullBytes];
  let prev = full;
  for (let i = 1; i <= increments; i++) {
    await s.driver.runUntil(firstNs + i * stepNs, true);
    if (s.exec.vms.get(vmId)!.ended) {
      rows.push(`  (the guest ended before ${(firstNs + i * stepNs) / 1e6} ms)`);
      break;
    }
    const t0 = process.hrtime.bigint();
    const inc = snapshotVm(s.exec, vmId, { nowNs: s.driver.nowNs, since: prev, allocator: s.allocators.get(vmId) });
    const incMs = ms(t0); // once: an incremental snapshot is relative to the one before
    const bytes = VmSnapshot.encode(inc).finish();
    chain.push(bytes);
    rows.push(
      `  incremental +${stepNs / 1e6} ms (#${i}): ${inc.memory!.pages.length} dirty pages, ${kib(bytes.length)} ` +
        `(${((100 * bytes.length) / fullBytes.length).toFixed(0)}% of full), capture ${incMs.toFixed(2)} ms`,
    );
    prev = inc;
  }
  const restoreMs = median(
    times(() => {
      const [f, ...incs] = chain.map((c) => VmSnapshot.decode(c));
      restoreVm(new HostExecutor(driverHostConfig(b.setup.vcpus, b.hostIsa), localTrapHandlers(new Map())), f, ...incs);
    }),
  );
  rows.push(`  restore full + ${chain.length - 1} incremental into a new executor: ${restoreMs.toFixed(2)} ms (decode included)`);
  return rows;
}

/**
 * Wall time of running the guest `runNs` with the dirty-page log armed and a new generation begun
 * every `everyNs` (as periodic incremental snapshots would, without capturing) vs never armed.
 */
async function loggingCost(b: BenchVm, runNs: number, everyNs: number, rounds: number): Promise<string> {
  const times: Record<'off' | 'on', number[]> = { off: [], on: [] };
  for (let r = 0; r < rounds; r++) {
    // Alternate which goes first: a later run reuses code V8 optimized for an earlier one.
    for (const mode of r % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
      const s = start(b);
      const bus = s.exec.vms.get(b.setup.id)!.bus;
      if (mode === 'on') bus.dirty = new DirtyPages(bus, 1);
      const t0 = process.hrtime.bigint();
      for (let t = everyNs; t <= runNs; t += everyNs) {
        await s.driver.runUntil(t, true);
        bus.dirty?.advance();
      }
      times[mode].push(ms(t0));
    }
  }
  const off = median(times.off);
  const on = median(times.on);
  return `  ${runNs / 1e6} ms of guest time: ${off.toFixed(0)} ms without the log, ${on.toFixed(0)} ms with it (a generation every ${everyNs / 1e6} ms): ratio ${(on / off).toFixed(3)}`;
}

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { quick: { type: 'boolean', default: false } } });
  const quick = values.quick === true;
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out('bench:snapshot — VM snapshots (libs/executor/src/snapshot): sizes, times, dirty-page logging cost');
  for (const b of VMS) {
    out(`\n${b.name}`);
    for (const row of await sizes(b, quick ? 1 : 3)) out(row);
  }
  out('\ndirty-page logging cost (median of interleaved rounds)');
  for (const b of [VMS[2], VMS[4]]) {
    out(b.name);
    out(await loggingCost(b, quick ? 5e6 : 50e6, 1e6, quick ? 2 : 6));
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      process.stderr.write(`bench:snapshot: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
