// Execution mode of a VM of kind `replay` (issue 12 item 5, docs/replay.md): its vCPUs execute no
// instruction; each consumes the demand recorded for it in a trace (replay/trace.ts) — computes for
// the recorded pCPU time, logs the recorded exits and console output where they happened, blocks
// where the recorded vCPU blocked (waking the recorded time later), ends where its VM ended. Under
// the recording's scheduler the schedule comes out as recorded; under another it is the
// counterfactual. The VM's image is the trace file; `args: [VM]` names the recorded VM in it.

import { Bus, Engine, Hart, PAGE_SIZE } from '@vsim/isa';
import { VcpuState } from '@vsim/proto';
import { BARE_RAM_BASE } from '@vsim/isa';
import type { Vcpu, VmInstance } from '../vm';
import { TraceOp, VcpuTrace, parseTrace, traceOf } from '../replay/trace';
import { ExecutionMode, HostServices, SLICE_BUDGET, Slice, SliceStop, VcpuRunner, timeOf } from './runner';

/** Each replayed vCPU's trace, from its VM's build to its runner. */
const traces = new WeakMap<Vcpu, VcpuTrace>();

/** The counters the host reads of a vCPU's hart (cycles, instret, timeSkew): a replayed vCPU has no other state. */
interface ReplayHart {
  cycles: number;
  instret: number;
  timeSkew: number;
}

function buildReplay(vm: VmInstance) {
  const s = vm.setup;
  const trace = traceOf(parseTrace(s.image), s.args[0]);
  if (trace.vcpus.length !== s.vcpus)
    throw new RangeError(`VM ${s.id}: vcpus is ${s.vcpus}, but the recorded VM ${trace.vm} has ${trace.vcpus.length} vCPU(s)`);
  for (let i = 0; i < s.vcpus; i++) {
    const hart: ReplayHart = { cycles: 0, instret: 0, timeSkew: 0 };
    const v: Vcpu = {
      vm,
      index: i,
      hart: hart as unknown as Hart,
      engine: undefined as unknown as Engine, // never run: the runner consumes the trace
      state: VcpuState.VCPU_STATE_RUNNABLE,
      wakeNs: 0,
      overrunCycles: 0,
    };
    traces.set(v, trace.vcpus[i]);
    vm.vcpus.push(v);
  }
  // No guest memory: one page, so that whatever reads a VM's bus finds one.
  return { bus: new Bus(BARE_RAM_BASE, PAGE_SIZE) };
}

/** Runs a replayed vCPU: consumes its steps for the slice's budget of cycles. */
export class ReplayRunner implements VcpuRunner {
  private readonly ops: readonly TraceOp[];
  private readonly end: VcpuTrace['end'];
  /** The next step, and the cycles left of it when it is a compute step (-1: not started). */
  private pos = 0;
  private left = -1;

  constructor(
    private readonly v: Vcpu,
    private readonly host: HostServices,
  ) {
    const t = traces.get(v)!;
    this.ops = t.ops;
    this.end = t.end;
  }

  /** Where the vCPU is in its trace (step index, cycles left of a compute step), for snapshots and tests. */
  get position(): { readonly step: number; readonly left: number } {
    return { step: this.pos, left: this.left };
  }

  private cyclesOf(ns: number): number {
    return Math.round((ns * this.host.clockHz) / 1e9);
  }

  runSlice(budget: number, slice: Slice): SliceStop {
    const v = this.v;
    const h = v.hart;
    let room = budget;
    while (room > 0) {
      if (this.pos >= this.ops.length) {
        if (this.end === 'running') {
          h.cycles += room; // CPU-bound when the recording stopped: it stays so
          return SLICE_BUDGET;
        }
        // Nothing left but to wait (ended VMs stopped at their halt step).
        v.state = VcpuState.VCPU_STATE_BLOCKED;
        v.wakeNs = 0;
        return { kind: 'blocked', wakeNs: 0 };
      }
      const op = this.ops[this.pos];
      if (typeof op === 'number') {
        if (this.left < 0) this.left = this.cyclesOf(op);
        const run = Math.min(this.left, room);
        h.cycles += run;
        room -= run;
        this.left -= run;
        if (this.left > 0) return SLICE_BUDGET;
        this.left = -1;
        this.pos++;
        continue;
      }
      this.pos++;
      const stop = this.step(op, slice);
      if (stop) return stop;
    }
    return SLICE_BUDGET;
  }

  /** Logs one recorded event where the vCPU is now; block, halt and fault also stop it. */
  private step(op: Exclude<TraceOp, number>, slice: Slice): SliceStop | undefined {
    const [kind, cause, detail, value, route, path] = op;
    const v = this.v;
    const vm = v.vm;
    const now = timeOf(this.host, slice, v.hart.cycles);
    const log = (fields: { value: number }) =>
      slice.events.push(this.host.event({ timeNs: now, kind, vm: vm.id, vcpu: v.index, pcpu: slice.pcpu, cause, detail, route, path, ...fields }));
    if (kind === 'block') {
      v.state = VcpuState.VCPU_STATE_BLOCKED;
      v.wakeNs = value > 0 ? now + value : 0;
      log({ value: v.wakeNs });
      return { kind: 'blocked', wakeNs: v.wakeNs };
    }
    log({ value });
    if (kind !== 'halt' && kind !== 'fault') return undefined;
    // The pCPU time the recorded vCPU spent after logging its end (the ending exit's cost) is charged
    // now, whatever the budget, as the host charged it (the host clips what it accounts to the slice).
    const after = this.ops[this.pos];
    if (typeof after === 'number') {
      v.hart.cycles += this.cyclesOf(after);
      this.pos++;
    }
    const fault = kind === 'fault';
    vm.ended = fault ? 'fault' : 'shutdown';
    vm.exitStatus = fault ? 0 : value;
    for (const other of vm.vcpus) other.state = fault ? VcpuState.VCPU_STATE_FAULTED : VcpuState.VCPU_STATE_HALTED;
    return { kind: 'ended', how: fault ? 'fault' : 'shutdown' };
  }
}

/** A replayed VM, whatever ISA or technique it names: its demand is the trace's. */
export const REPLAY: ExecutionMode = {
  name: 'trace replay',
  build: buildReplay,
  runner: (v, host) => new ReplayRunner(v, host),
};
