// A synthetic host for scheduler tests (a RunHost without an executor or a bus): each vCPU follows
// a profile in CPU time — run in bursts and sleep on a timer between them, halt after so long, start
// another vCPU (SBI HSM hart_start) or wake a blocked one (an IPI) after so long — so a test can
// mix CPU-bound, blocking/waking, offline and halting vCPUs and know every report is a pure
// function of the orders. clone() copies its state, so a run continued from a scheduler state
// exported at an iteration boundary can be driven on a host in the same state as the original.

import { RunOrder, RunReport, VcpuReport, VcpuState } from '@vsim/proto';

export interface SyntheticVcpuProfile {
  /** CPU time per burst before it blocks (undefined: CPU-bound, never blocks on its own). */
  readonly burstNs?: number;
  /** How long it sleeps after each burst (a timer wake-up); 0 = until another vCPU wakes it (IPI). */
  readonly sleepNs?: number;
  /** Halts after this much CPU time in all (undefined: never). */
  readonly haltAfterNs?: number;
  /** After this much CPU time, makes vCPU `target.vcpu` of the same VM runnable (hart_start / IPI), once. */
  readonly kick?: { readonly afterNs: number; readonly vcpu: number };
  /** Starts offline (SBI HSM: not started yet). */
  readonly offline?: boolean;
}

interface SynthVcpu {
  readonly vm: string;
  readonly vcpu: number;
  readonly profile: SyntheticVcpuProfile;
  state: VcpuState;
  wakeNs: number;
  cpuNs: number;
  /** CPU time left in the current burst. */
  burstLeft: number;
  kicked: boolean;
}

export class SyntheticHost {
  private readonly vcpus = new Map<string, SynthVcpu>();
  /** Run orders answered. */
  orders = 0;

  /** Adds a VM whose vCPU i follows profiles[i]. */
  addVm(vm: string, profiles: readonly SyntheticVcpuProfile[]): void {
    profiles.forEach((profile, vcpu) => {
      this.vcpus.set(`${vm}/${vcpu}`, {
        vm,
        vcpu,
        profile,
        state: profile.offline ? VcpuState.VCPU_STATE_OFFLINE : VcpuState.VCPU_STATE_RUNNABLE,
        wakeNs: 0,
        cpuNs: 0,
        burstLeft: profile.burstNs ?? Number.POSITIVE_INFINITY,
        kicked: false,
      });
    });
  }

  /** An independent copy in the same state. */
  clone(): SyntheticHost {
    const c = new SyntheticHost();
    c.orders = this.orders;
    for (const [k, v] of this.vcpus) c.vcpus.set(k, { ...v });
    return c;
  }

  /** The RunHost: runs each vCPU an order names for as long as its profile lets it. */
  readonly run = async (o: RunOrder): Promise<RunReport> => {
    this.orders++;
    const scheduled: SynthVcpu[] = [];
    for (const p of o.pcpus) {
      if (!p.vm) continue;
      const v = this.vcpus.get(`${p.vm}/${p.vcpu}`);
      if (!v) throw new Error(`synthetic host: order ${o.seq} names unknown vCPU ${p.vm}/${p.vcpu}`);
      // A timer that fired makes it runnable when it is given a pCPU (the loop woke it already).
      if (v.state === VcpuState.VCPU_STATE_BLOCKED && v.wakeNs > 0 && v.wakeNs <= o.nowNs) v.state = VcpuState.VCPU_STATE_RUNNABLE;
      scheduled.push(v);
    }
    // As a real host, it stops early at the first unpredictable event (a block, a halt, a kick).
    let window = o.untilNs - o.nowNs;
    for (const v of scheduled) if (v.state === VcpuState.VCPU_STATE_RUNNABLE) window = Math.min(window, Math.max(1, this.nextEventIn(v)));
    const reports = new Map<string, VcpuReport>();
    for (const v of scheduled) {
      let ran = 0;
      if (v.state === VcpuState.VCPU_STATE_RUNNABLE) {
        const haltIn = v.profile.haltAfterNs !== undefined ? Math.max(0, v.profile.haltAfterNs - v.cpuNs) : Number.POSITIVE_INFINITY;
        ran = Math.min(window, v.burstLeft, haltIn);
        v.cpuNs += ran;
        v.burstLeft -= ran;
        if (v.profile.haltAfterNs !== undefined && v.cpuNs >= v.profile.haltAfterNs) {
          v.state = VcpuState.VCPU_STATE_HALTED;
        } else if (v.burstLeft <= 0) {
          v.state = VcpuState.VCPU_STATE_BLOCKED;
          v.wakeNs = v.profile.sleepNs ? o.nowNs + ran + v.profile.sleepNs : 0;
          v.burstLeft = v.profile.burstNs ?? Number.POSITIVE_INFINITY;
        }
      }
      reports.set(`${v.vm}/${v.vcpu}`, { vm: v.vm, vcpu: v.vcpu, state: v.state, wakeNs: v.wakeNs, ranNs: ran, instructions: ran });
      const kick = v.profile.kick;
      if (kick && !v.kicked && v.cpuNs >= kick.afterNs) {
        v.kicked = true;
        const t = this.vcpus.get(`${v.vm}/${kick.vcpu}`);
        if (t && (t.state === VcpuState.VCPU_STATE_OFFLINE || t.state === VcpuState.VCPU_STATE_BLOCKED)) {
          t.state = VcpuState.VCPU_STATE_RUNNABLE;
          t.wakeNs = 0;
          const key = `${t.vm}/${t.vcpu}`;
          const r = reports.get(key);
          reports.set(key, { vm: t.vm, vcpu: t.vcpu, state: t.state, wakeNs: 0, ranNs: r?.ranNs ?? 0, instructions: r?.instructions ?? 0 });
        }
      }
    }
    return RunReport.fromPartial({ sim: o.sim, host: o.host, seq: o.seq, nowNs: o.nowNs + window, vcpus: [...reports.values()] });
  };

  /** CPU time until the vCPU's next event: the end of its burst, its halt, its kick. */
  private nextEventIn(v: SynthVcpu): number {
    let n = v.burstLeft;
    if (v.profile.haltAfterNs !== undefined) n = Math.min(n, v.profile.haltAfterNs - v.cpuNs);
    if (v.profile.kick && !v.kicked) n = Math.min(n, v.profile.kick.afterNs - v.cpuNs);
    return n;
  }
}
