// One vCPU of a VM in a running simulation as a gdb target (`vsim gdb SIM VM[:VCPU]`). It is read
// and written only while its host is held (host-gate.ts), between two run orders:
//   - registers and memory are the hart's and the VM's guest-physical RAM;
//   - a single step runs one instruction here, outside the host's loop, with the hart's cycle
//     count put back: virtual time does not move for it (an instruction that exits to the
//     hypervisor — ecall, a trapped privileged instruction — is not stepped: the pc stays, a
//     continue runs it);
//   - continue releases the host: its loop runs the vCPU as always. With breakpoints set, ebreak
//     exits the vCPU's engine (the hart's exitMask, as the bare-machine stub does); one at a
//     breakpoint ends the vCPU's slice there (it spends the rest of the slice at that pc) and the
//     host is held after that run order; another ebreak goes where it would without gdb.
// With no breakpoint set, nothing of this touches the run: a session that only reads and
// continues leaves the simulation's results and event-log hash as they would be without it.

import { BUDGET_STOP, Cause, Rv32HartTarget, Stop } from '@vsim/isa';
import type { FreeRun, StopRecord, TargetStop } from '@vsim/isa';
import type { Vcpu } from '../vm';
import { HostDebugGate } from './host-gate';

type RunFn = (budget: number) => StopRecord;

/** The signals gdb is told: a breakpoint or step (SIGTRAP), an interrupt (SIGINT). */
const SIGTRAP = 5;
const SIGINT = 2;

export class VcpuGdbTarget extends Rv32HartTarget implements FreeRun {
  readonly freeRun: FreeRun = this;
  private stoppedFn: ((stop: TargetStop) => void) | undefined;
  private hit = false;
  private armed: { readonly own: boolean; readonly prev: RunFn; readonly mask: number } | undefined;

  constructor(
    private readonly vcpu: Vcpu,
    private readonly gate: HostDebugGate,
  ) {
    super(vcpu.hart);
  }

  /** A single step (continue is freeRun's): one instruction, in place, taking no virtual time. */
  resume(): TargetStop {
    const h = this.hart;
    const cycles = h.cycles;
    const stop = this.vcpu.engine.run(1);
    h.cycles = cycles;
    return stop.kind === Stop.Trap ? { kind: 'trap', signal: SIGTRAP } : { kind: 'budget' };
  }

  start(breakpoints: ReadonlySet<number>, stopped: (stop: TargetStop) => void): void {
    // A VM that has ended runs no more: gdb hears so now (its host may have no order left to run).
    if (this.vcpu.vm.ended) return stopped({ kind: 'exited', status: this.vcpu.vm.exitStatus & 0xff });
    this.stoppedFn = stopped;
    this.hit = false;
    if (breakpoints.size > 0) this.arm(breakpoints);
    this.gate.afterOrder = () => this.afterOrder();
    this.gate.release();
  }

  halt(): void {
    if (!this.stoppedFn) return;
    void this.gate.stop().then(() => this.report({ kind: 'trap', signal: SIGINT }));
  }

  /** The simulation ends (or the node closes it) while the vCPU runs: gdb hears that it exited. */
  ended(): void {
    this.report({ kind: 'exited', status: this.vcpu.vm.exitStatus & 0xff });
  }

  /** gdb is gone: the vCPU runs on as if it had never been debugged. */
  detach(): void {
    this.disarm();
    this.stoppedFn = undefined;
    this.gate.afterOrder = undefined;
    this.gate.release();
  }

  private afterOrder(): void {
    if (!this.stoppedFn) return;
    if (this.hit) {
      void this.gate.stop(); // between orders: held at once
      this.report({ kind: 'trap', signal: SIGTRAP });
    } else if (this.vcpu.vm.ended) {
      void this.gate.stop();
      this.report({ kind: 'exited', status: this.vcpu.vm.exitStatus & 0xff });
    }
  }

  private report(stop: TargetStop): void {
    const f = this.stoppedFn;
    if (!f) return;
    this.stoppedFn = undefined;
    this.gate.afterOrder = undefined;
    this.disarm();
    f(stop);
  }

  /** ebreak exits the engine while breakpoints are in memory; a hit ends the vCPU's slice at it. */
  private arm(breakpoints: ReadonlySet<number>): void {
    const engine = this.vcpu.engine as unknown as { run: RunFn };
    const h = this.hart;
    const own = Object.prototype.hasOwnProperty.call(engine, 'run');
    const prev = engine.run;
    const mask = h.exitMask;
    const exitsAnyway = ((mask >>> Cause.Breakpoint) & 1) === 1;
    h.exitMask = mask | (1 << Cause.Breakpoint);
    this.armed = { own, prev, mask };
    engine.run = (budget: number): StopRecord => {
      const end = h.cycles + budget;
      if (this.hit) {
        h.cycles = Math.max(h.cycles, end);
        return BUDGET_STOP;
      }
      let stop = prev.call(engine, budget);
      while (stop.kind === Stop.Trap && stop.cause === Cause.Breakpoint && !stop.interrupt) {
        if (breakpoints.has(h.pc >>> 0)) {
          this.hit = true;
          h.cycles = Math.max(h.cycles, end);
          return BUDGET_STOP;
        }
        if (exitsAnyway) return stop; // the mode takes ebreak itself, as without gdb
        h.enterTrap(Cause.Breakpoint, h.pc, false); // the guest's own ebreak (tval = its pc), as the hart does
        const left = end - h.cycles;
        if (left <= 0) return BUDGET_STOP;
        stop = prev.call(engine, left);
      }
      return stop;
    };
  }

  private disarm(): void {
    const a = this.armed;
    if (!a) return;
    this.armed = undefined;
    const engine = this.vcpu.engine as unknown as { run?: RunFn };
    if (a.own) engine.run = a.prev;
    else delete engine.run;
    this.hart.exitMask = a.mask;
  }
}
