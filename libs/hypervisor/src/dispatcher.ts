// The hypervisor's trap path (seed, Figure 3.20): a trap arrives at the dispatcher, which routes it
// either to the allocator — when it changes how host resources are allocated (VM lifecycle, guest
// memory) — or to an interpreter routine that emulates the operation on the VM's virtual state.
// Control then returns to the guest at the next instruction.
//
// Interpreter routines are pure functions of the trap (registers, the memory it referenced): that
// is what lets the cpu-node run them locally on the `split` trap path and get the same answer the
// hypervisor service would. The allocator keeps per-VM state and always runs in the service.

import { TrapAction, TrapRequest, TrapResolution, trapRouteEnum } from '@vsim/proto';
import { Cause, causeName } from '@vsim/isa';
import { DEFAULT_HYPERVISOR_COSTS, HypervisorCosts } from './costs';
import { SBI_ROUTINES, sbiKey } from './sbi';
import { LINUX_ROUTINES } from './linux';
import { Routine, VmRecord, resume } from './routine';
import { classifyTrapAndEmulate, withVirtualTimer } from './trap-and-emulate';
import { classifyParavirt, pvMemoryNeeded } from './pv';
import { REDIRECT_ILLEGAL_INSTRUCTION } from './illegal';
import { handleRing32Trap } from './ring32/dispatcher';

export type { Routine, VmRecord } from './routine';

const A0 = 10;
const A1 = 11;
const A2 = 12;
const A6 = 16;
const A7 = 17;

/** The routine for an unhandled exception: the VM is stopped, the others keep running. */
const FAULT: Routine = {
  name: 'fault',
  route: 'allocator',
  handle(req) {
    return {
      action: TrapAction.TRAP_ACTION_FAULT,
      detail:
        `${causeName(req.cause)} at pc 0x${(req.pc >>> 0).toString(16)}` +
        (req.cause === Cause.IllegalInstruction
          ? ` (instruction 0x${(req.instruction >>> 0).toString(16).padStart(8, '0')})`
          : ` (tval 0x${(req.tval >>> 0).toString(16)})`),
    };
  },
};

/** An SBI call nobody implements: SBI_ERR_NOT_SUPPORTED, as the SBI spec requires. */
const SBI_NOT_SUPPORTED: Routine = {
  name: 'sbi.not_supported',
  route: 'interpreter',
  handle(req, _vm, costs) {
    return resume(req, costs.sbiSimple, [
      [A0, -2],
      [A1, 0],
    ]);
  },
};

function sbiRoutine(req: Pick<TrapRequest, 'x'>): Routine {
  return SBI_ROUTINES.get(sbiKey(req.x[A7] >>> 0, req.x[A6] >>> 0)) ?? SBI_ROUTINES.get(sbiKey(req.x[A7] >>> 0, -1)) ?? SBI_NOT_SUPPORTED;
}

/** The dispatcher's decision: which routine handles this trap. */
export function classify(req: Pick<TrapRequest, 'cause' | 'kind' | 'x'> & Partial<Pick<TrapRequest, 'vcpuState' | 'interrupt' | 'stvec'>>): Routine {
  if (req.vcpuState?.paravirt) return classifyParavirt(req as TrapRequest, sbiRoutine, FAULT);
  if (req.vcpuState) return classifyTrapAndEmulate(req as TrapRequest, sbiRoutine, FAULT);
  if (req.kind === 'kernel' && req.cause === Cause.EcallFromS) return sbiRoutine(req);
  // A kernel in real S-mode with a trap handler: redirected to it, as OpenSBI does (illegal.ts).
  if (req.kind === 'kernel' && req.cause === Cause.IllegalInstruction && (req.stvec ?? 0) >>> 2 !== 0) return REDIRECT_ILLEGAL_INSTRUCTION;
  if (req.kind === 'linux' && req.cause === Cause.EcallFromU) {
    return LINUX_ROUTINES.get(req.x[A7]) ?? LINUX_ROUTINES.get(-1)!;
  }
  return FAULT;
}

/** Guest memory a trap's routine will read, so the cpu-node can attach it to the request. */
export function memoryNeeded(
  req: Pick<TrapRequest, 'cause' | 'kind' | 'x'> & Partial<Pick<TrapRequest, 'vcpuState' | 'interrupt'>>,
): { addr: number; len: number } | null {
  if (req.vcpuState?.paravirt) {
    const pv = pvMemoryNeeded({ ...req, interrupt: req.interrupt ?? false });
    if (pv) return pv;
  }
  const r = classify(req);
  if (r.name === 'sbi.dbcn.console_write') return { addr: req.x[A1] >>> 0, len: Math.min(req.x[A0] >>> 0, MAX_WINDOW) };
  if (r.name === 'linux.write') return { addr: req.x[A1] >>> 0, len: Math.min(req.x[A2] >>> 0, MAX_WINDOW) };
  return null;
}

/** The most guest memory one trap may carry: longer writes are shortened, as a real console would. */
export const MAX_WINDOW = 4096;

/** Runs the dispatcher and the chosen routine. `vm` is required for allocator routines. */
export function handleTrap(req: TrapRequest, vm: VmRecord | undefined, costs: HypervisorCosts = DEFAULT_HYPERVISOR_COSTS): TrapResolution {
  // A ring32 exit: its own routines (ring32/dispatcher.ts), the same request and resolution.
  if (req.ring32) return handleRing32Trap(req, costs);
  const routine = classify(req);
  const part = routine.handle(req, vm, costs);
  const route = trapRouteEnum(routine.route);
  return withVirtualTimer(
    req,
    TrapResolution.fromPartial({
      route,
      handler: routine.name,
      action: TrapAction.TRAP_ACTION_RESUME,
      nextPc: (req.pc + 4) >>> 0,
      ...part,
      costCycles: costs.exit + (part.costCycles ?? 0),
    }),
  );
}
