// The rv32 trap path's two ends on the cpu-node (architecture §5): the TrapRequest a trap becomes
// (registers, the vCPU's virtual CPU state) and the state changes its TrapResolution carries
// (registers, guest memory, the timer, virtual state, SMP effects on other vCPUs).

import { Cause, MIP } from '@vsim/isa';
import { TrapRequest, TrapResolution, VirtualCpu } from '@vsim/proto';
import { needsHartStates, REDIRECT_ILLEGAL_NAME, softwareExitArmed, timerExitArmed } from '@vsim/hypervisor';
import { SmpEffect, hsmStates, sendIpi, startVcpu, stopVcpu } from '../smp';
import { TIMEBASE_HZ } from '../timebase';
import type { Vcpu } from '../vm';
import type { HostServices, Slice } from './runner';

const NO_BYTES = Buffer.alloc(0);

/**
 * A TrapRequest as a plain object (what TrapRequest.fromPartial would build, without its copies:
 * a trap-heavy guest makes hundreds of thousands of these).
 */
export function trapRequest(host: HostServices, v: Vcpu, now: number, cause: number, tval: number, pc: number, interrupt: boolean): TrapRequest {
  const h = v.hart;
  return {
    sim: host.sim,
    host: host.host,
    vm: v.vm.id,
    vcpu: v.index,
    nowNs: now,
    seq: 0, // the cpu-node numbers the ones it sends
    cause,
    tval: tval >>> 0,
    pc,
    instruction: 0,
    priv: h.priv,
    x: Array.from(h.x.subarray(0, 32)),
    memoryAddr: 0,
    memory: NO_BYTES,
    kind: v.vm.setup.kind,
    vcpuState: v.vstate,
    interrupt,
    hartStates: !interrupt && needsHartStates(h.x[17] >>> 0) ? hsmStates(v.vm) : [],
    stvec: h.stvec >>> 0,
  };
}

/**
 * The trap-storm policy's notion of a futile exit (libs/hypervisor/src/trap-storm.ts): an exception reflected
 * back into the guest that is not a system call (a redirected illegal instruction among them), or a
 * hypercall answered with an error (a0 < 0).
 */
export function isFutile(req: TrapRequest, res: TrapResolution, hypercall: boolean): boolean {
  if (res.handler === 'tae.inject') return req.cause !== Cause.EcallFromU;
  if (res.handler === REDIRECT_ILLEGAL_NAME) return true;
  return hypercall && res.writes.some((w) => w.reg === 10 && w.value < 0);
}

/** When the vCPU's timer will raise its interrupt, in host virtual time (0: not armed). */
export function timerDeadlineNs(v: Vcpu): number {
  const cmp = v.hart.stimecmp;
  if (!Number.isFinite(cmp)) return 0;
  return Math.ceil((cmp * 1e9) / TIMEBASE_HZ);
}

/**
 * The state changes a resolution carries: registers, guest memory, the timer, virtual state; SMP
 * effects are logged into `slice` at `now`, the time of the trap or call being resolved.
 */
export function applyResolution(v: Vcpu, res: TrapResolution, host: HostServices, slice: Slice, now: number): void {
  const h = v.hart;
  for (const w of res.writes) if (w.reg !== 0) h.x[w.reg] = w.value;
  for (const m of res.memoryWrites) v.vm.bus.writeBytes(m.addr, m.fill > 0 ? new Uint8Array(m.fill) : m.data);
  if (res.timerOff) h.setStimecmp(Number.POSITIVE_INFINITY);
  else if (res.setTimer) h.setStimecmp(res.timer);
  if (res.vcpuState) setVirtualState(v, res.vcpuState);
  if (res.ipiVcpus !== 0 || res.hartStart || res.hartStop) applySmp(v, res, host, slice, now);
}

/** SMP: the resolution's effects on the VM's vCPUs (smp.ts), logged at the caller's time. */
function applySmp(v: Vcpu, res: TrapResolution, host: HostServices, slice: Slice, now: number): void {
  const vm = v.vm;
  const effects: SmpEffect[] = [];
  for (let i = 0; i < vm.vcpus.length; i++) if ((res.ipiVcpus >>> i) & 1) effects.push(sendIpi(vm.vcpus[i], setVirtualState));
  if (res.hartStart) {
    const target = vm.vcpus[res.hartStart.vcpu];
    const e = target && startVcpu(target, res.hartStart, setVirtualState);
    if (e) effects.push(e);
  }
  if (res.hartStop) effects.push(stopVcpu(v));
  for (const e of effects) {
    slice.events.push(
      host.event({
        timeNs: now,
        kind: e.kind,
        vm: vm.id,
        vcpu: e.target.index,
        pcpu: slice.pcpu,
        detail: `from vCPU ${v.index}${e.woke ? ', woken' : ''}${e.held ? ', masked: pending' : ''}`,
      }),
    );
    if (e.woke && e.target !== v) host.reschedule();
  }
}

/**
 * Trap-and-emulate: keep the new virtual state, point the real timer at the virtual one, and arm
 * the host's timer exit only when the guest could take the interrupt (else a pending, masked
 * virtual interrupt would make the vCPU exit at every instruction).
 */
export function setVirtualState(v: Vcpu, s: VirtualCpu): void {
  v.vstate = s;
  const h = v.hart;
  if (h.sensitiveHook) h.xlateKey = s.mode; // translations of the kernel and of its tasks differ
  h.setStimecmp(s.timerOff ? Number.POSITIVE_INFINITY : s.stimecmp);
  h.mie = (timerExitArmed(s) ? MIP.STIP : 0) | (softwareExitArmed(s) ? MIP.SSIP : 0);
  // The virtual SSIP (an IPI) is mirrored into the real mip: the hart exits when it is taken.
  if (s.sip & MIP.SSIP) h.mip |= MIP.SSIP;
  else h.mip &= ~MIP.SSIP;
}
