// SMP guests on the host executor: what an SBI HSM or IPI call of one vCPU does to the other vCPUs
// of its VM. The hypervisor's routines (libs/hypervisor/src/sbi.ts) decide, as pure functions of the trap;
// the host applies their effect here, at the virtual time of the call, on the vCPU it names. The
// pCPUs of a host run their vCPUs in lockstep quanta in pCPU order, so these effects happen in one
// deterministic order on both trap paths and in any process layout.
//
// An IPI raises the target's supervisor software interrupt: for a kernel in real S-mode the real
// sip.SSIP; for a deprivileged one (trap-and-emulate, binary translation, the Xen-PV style
// paravirtual build) the virtual SSIP in its VirtualCpu, which the host mirrors into the real mip so
// that the hart exits when the guest could take it (libs/hypervisor/src/trap-and-emulate.ts; a paravirtual
// kernel takes it as an event, libs/hypervisor/src/pv.ts). A blocked target wakes up.

import { MIP, MSTATUS, Priv } from '@vsim/isa';
import { HartStart, VcpuState, VirtualCpu } from '@vsim/proto';
import { SHARED_INFO, initialParavirtCpu, paravirtIpi, HSM_STATE, VMODE_S, initialVirtualCpu, withSoftwareInterrupt } from '@vsim/hypervisor';
import type { Vcpu, VmInstance } from './vm';

/** Every vCPU's HSM state, by index, as hart_get_status reports it. */
export function hsmStates(vm: VmInstance): number[] {
  return vm.vcpus.map((v) =>
    v.state === VcpuState.VCPU_STATE_RUNNABLE || v.state === VcpuState.VCPU_STATE_BLOCKED ? HSM_STATE.STARTED : HSM_STATE.STOPPED,
  );
}

/** What an effect did, for the event log; `woke`: a vCPU that was not runnable now is. */
export interface SmpEffect {
  readonly kind: 'ipi' | 'hart-start' | 'hart-stop';
  readonly target: Vcpu;
  readonly woke: boolean;
  /** An IPI to a paravirtual vCPU that had masked events: only its pending byte was raised. */
  readonly held?: boolean;
}

/** Raises the target's (virtual) SSIP and wakes it if it waits in wfi. */
export function sendIpi(target: Vcpu, setVirtualState: (v: Vcpu, s: VirtualCpu) => void): SmpEffect {
  let held = false;
  if (target.vstate?.paravirt) {
    // The target's own shared info area (registered in guest RAM): its mask byte decides (pv.ts).
    const page = target.vstate.sharedInfo;
    const r = paravirtIpi(target.vstate, page === 0 ? 0 : target.vm.bus.readBytes(page + SHARED_INFO.MASK, 1)[0]);
    if (r.pending) target.vm.bus.writeBytes(page + SHARED_INFO.PENDING, Uint8Array.of(1));
    setVirtualState(target, r.state);
    held = r.pending;
  } else if (target.vstate) setVirtualState(target, withSoftwareInterrupt(target.vstate));
  else {
    target.hart.mip |= MIP.SSIP;
    target.hart.kick = true;
  }
  const woke = target.state === VcpuState.VCPU_STATE_BLOCKED;
  if (woke) target.state = VcpuState.VCPU_STATE_RUNNABLE;
  return { kind: 'ipi', target, woke, held };
}

/**
 * HSM hart_start of an offline vCPU: it begins at start_addr in (virtual) S-mode with a0 = its
 * hart id, a1 = opaque and interrupts masked (satp is always 0: no paging) (SBI v2.0, hart_start).
 */
export function startVcpu(target: Vcpu, start: HartStart, setVirtualState: (v: Vcpu, s: VirtualCpu) => void): SmpEffect | undefined {
  if (target.state !== VcpuState.VCPU_STATE_OFFLINE) return undefined; // the routine saw it stopped; nothing ran in between
  const h = target.hart;
  h.pc = start.startAddr >>> 0;
  h.x[10] = target.index;
  h.x[11] = start.opaque | 0;
  h.mip &= ~MIP.SSIP;
  if (target.vstate) {
    h.priv = Priv.U;
    // A paravirtual vCPU starts with nothing registered: it registers its own shared info area.
    setVirtualState(target, target.vstate.paravirt ? initialParavirtCpu() : { ...initialVirtualCpu(), mode: VMODE_S });
  } else {
    h.priv = Priv.S;
    h.mstatus &= ~(MSTATUS.SIE | MSTATUS.SPIE | MSTATUS.SPP);
  }
  h.kick = true;
  target.state = VcpuState.VCPU_STATE_RUNNABLE;
  target.wakeNs = 0;
  return { kind: 'hart-start', target, woke: true };
}

/** HSM hart_stop: the calling vCPU goes offline until another one starts it again. */
export function stopVcpu(v: Vcpu): SmpEffect {
  v.state = VcpuState.VCPU_STATE_OFFLINE;
  v.wakeNs = 0;
  return { kind: 'hart-stop', target: v, woke: false };
}
