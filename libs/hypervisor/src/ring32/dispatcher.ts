// The ring32 half of the dispatcher (../dispatcher.ts sends every TrapRequest with a Ring32Cpu
// here): one exit of a deprivileged ring32 guest — or one call from translated code — routed to
// its routine, and the routine's effects as a TrapResolution. Costs come from the hypervisor cost
// model (costs.ts): an exit costs `exit` + the routine's `emulate`; a hypercall `exit` +
// `sbiSimple` (+ the console's per-byte cost for writes); a translated call `translatedCall` +
// `emulate` (no exit). Code patching's scans are the node's to do and charge (Ring32Effects.scans).

import { TrapAction, TrapRequest, TrapResolution, TrapRoute } from '@vsim/proto';
import { PSW, Ring32Cause, Ring32Irq } from '@vsim/isa';
import type { HypervisorCosts } from '../costs';
import { Ring32Context, Ring32Stop } from './context';
import { Ring32Step, computedJump, emulate, hardwareInRing3, interpreterMemoryNeeded } from './interpreter';
import { pvHypercall, pvTimerExit } from './paravirt';
import { HC, MAX_WRITE, SH, SHARED_PAGE_BYTES } from './pv-abi';

const NO_BYTES = Buffer.alloc(0);
// Read once: re-exported bindings are getters, and this runs for every exit.
const ROUTE_INTERPRETER = TrapRoute.TRAP_ROUTE_INTERPRETER;
const ROUTE_ALLOCATOR = TrapRoute.TRAP_ROUTE_ALLOCATOR;
const ACTION_RESUME = TrapAction.TRAP_ACTION_RESUME;
const ACTION_BLOCK = TrapAction.TRAP_ACTION_BLOCK;
const ACTION_SHUTDOWN = TrapAction.TRAP_ACTION_SHUTDOWN;
const ACTION_FAULT = TrapAction.TRAP_ACTION_FAULT;
const PRIVILEGED = Ring32Cause.PrivilegedInstruction;
const ILLEGAL = Ring32Cause.IllegalInstruction;
const HYPERCALL = Ring32Cause.Hypercall;
const SYSCALL = Ring32Cause.Syscall;
const IF = PSW.IF;

/** Picks the routine for the exit and runs it on `m`, charging its work into m.cost. */
function route(m: Ring32Context, req: TrapRequest, costs: HypervisorCosts): Ring32Step {
  const pc = req.pc >>> 0;
  const cpu = req.ring32!;
  if (cpu.translated) return emulate(m, req.tval | 0, pc); // binary translation: a direct call, no exit
  const { cause, tval } = req;
  if (req.interrupt) {
    m.cost += costs.emulate;
    if (m.paravirt) return pvTimerExit(m, pc);
    if (!(m.v.psw & IF) || m.time() < m.v.timecmp) return { name: 'r32.irq.spurious', next: pc };
    return { name: 'r32.irq.timer', next: m.inject(Ring32Irq.Timer, 0, true, pc) };
  }
  const site = cause === ILLEGAL ? cpu.site : undefined;
  if (m.vring === 0) {
    if (cause === PRIVILEGED) {
      m.cost += costs.emulate;
      return emulate(m, tval | 0, pc);
    }
    if (site) {
      // A patched instruction of the kernel: emulate the original.
      m.cost += costs.emulate;
      if (site.indirect) return { name: 'r32.patch.jalr', next: computedJump(m, site.word, pc) };
      return { name: `r32.patch.${site.name}`, next: emulate(m, site.word, pc).next };
    }
    if (cause === HYPERCALL && m.paravirt) {
      m.cost += costs.sbiSimple;
      return pvHypercall(m, pc, costs);
    }
  }
  if (site) {
    // A task running patched kernel code: in ring 3 the original does what it does natively.
    m.cost += costs.emulate;
    return { name: `r32.patch.user.${site.name}`, next: site.indirect ? computedJump(m, site.word, pc) : hardwareInRing3(m, site.word, pc) };
  }
  // Anything else is the guest's own trap: its kernel handles it, as natively.
  m.cost += costs.emulate;
  return { name: cause === SYSCALL ? 'r32.inject.syscall' : `r32.inject.cause${cause}`, next: m.inject(cause, tval, false, pc) };
}

/** Runs the ring32 routine for `req` and returns what the cpu-node applies. */
export function handleRing32Trap(req: TrapRequest, costs: HypervisorCosts): TrapResolution {
  const m = new Ring32Context(req);
  const translated = req.ring32!.translated;
  // The exit is paid first: the time a routine reads includes it.
  if (!translated) m.cost = costs.exit;
  let step: Ring32Step;
  try {
    step = route(m, req, costs);
  } catch (e) {
    if (!(e instanceof Ring32Stop)) throw e;
    // A stop from translated code is charged nothing: the translated block's own count stands.
    const exit = e.outcome === 'exit';
    return resolution(
      exit ? ROUTE_ALLOCATOR : ROUTE_INTERPRETER,
      exit ? ACTION_SHUTDOWN : ACTION_FAULT,
      exit ? (m.paravirt && !translated ? 'r32.hcall.shutdown' : 'r32.out.exit') : 'fault',
      translated ? 0 : m.cost,
      [],
      req.pc >>> 0,
      m,
      e.detail,
      e.code,
      undefined,
    );
  }
  const writes = [];
  for (let r = 1; r < 16; r++) if (m.x[r] !== req.x[r]) writes.push({ reg: r, value: m.x[r] | 0 });
  return resolution(
    ROUTE_INTERPRETER,
    m.halted ? ACTION_BLOCK : ACTION_RESUME,
    step.name,
    translated ? costs.translatedCall + costs.emulate + m.cost : m.cost,
    writes,
    step.next >>> 0,
    m,
    '',
    0,
    m.effects(),
  );
}

/** A TrapResolution as a plain object (as rv32's trapRequest: a trap-heavy guest makes many). */
function resolution(
  route: TrapRoute,
  action: TrapAction,
  handler: string,
  costCycles: number,
  writes: TrapResolution['writes'],
  nextPc: number,
  m: Ring32Context,
  detail: string,
  exitStatus: number,
  ring32: TrapResolution['ring32'],
): TrapResolution {
  return {
    route,
    action,
    handler,
    costCycles,
    writes,
    nextPc,
    setTimer: false,
    timer: 0,
    timerOff: false,
    console: m.console.length > 0 ? Buffer.from(m.console) : NO_BYTES,
    memoryWrites: m.memoryWrites,
    detail,
    exitStatus,
    vcpuState: undefined,
    ipiVcpus: 0,
    hartStart: undefined,
    hartStop: false,
    redirect: false,
    ring32,
  };
}

/** What the cpu-node knows of a ring32 exit when it decides which guest memory to attach. */
export interface Ring32ExitView {
  readonly cause: number;
  readonly tval: number;
  readonly interrupt: boolean;
  readonly x: ArrayLike<number>;
  readonly technique: string;
  readonly translated: boolean;
  /** The virtual ring. */
  readonly vring: number;
  readonly pvShared: number;
  /** The original word at a patch site, if the exit is one. */
  readonly siteWord?: number;
}

/** Reads the guest's memory on the node (a Bus is one). */
export interface GuestMemoryReader {
  inRam(addr: number, len: number): boolean;
  readU32(addr: number): number;
}

/**
 * The guest memory the exit's routine will read, so the cpu-node can attach it to the request: the
 * paravirtual shared page (and a console write's buffer), LPSW's 8 bytes, POPF's stack word.
 */
export function ring32MemoryNeeded(e: Ring32ExitView, mem: GuestMemoryReader): { addr: number; len: number }[] {
  const out: { addr: number; len: number }[] = [];
  if (e.technique === 'paravirt') {
    out.push({ addr: e.pvShared, len: SHARED_PAGE_BYTES });
    if (!e.interrupt && e.cause === HYPERCALL && e.vring === 0 && mem.readU32(e.pvShared + SH.OP) === HC.WRITE) {
      const a0 = mem.readU32(e.pvShared + SH.A0) >>> 0;
      const len = Math.min(mem.readU32(e.pvShared + SH.A1) >>> 0, MAX_WRITE);
      if (len > 0 && mem.inRam(a0, len)) out.push({ addr: a0, len });
    }
    return out;
  }
  if (e.interrupt) return out;
  const w = e.siteWord ?? (e.translated || (e.cause === PRIVILEGED && e.vring === 0) ? e.tval : undefined);
  const win = w === undefined ? null : interpreterMemoryNeeded(w | 0, e.x, mem);
  if (win) out.push(win);
  return out;
}
