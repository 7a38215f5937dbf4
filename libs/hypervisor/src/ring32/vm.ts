// A ring32 guest kernel under each technique, on one vCPU: the machine the cpu-node runs (the
// ring32 counterpart of libs/executor/src/vm.ts for rv32). Its exits go out as TrapRequests with a
// Ring32Cpu (exits.ts) to the dispatcher — in-process by default, or wherever the host sends them
// (the hypervisor service on the `remote` trap path) — and their TrapResolutions come back as
// effects this machine applies. The techniques:
//
// - native: the kernel on a bare ring32 machine in ring 0, no hypervisor (the baseline).
// - trap-and-emulate: the kernel deprivileged to ring 1 — rings 1-3 are alike for privilege checks,
//   and ring 1 is where Xen and VMware put 32-bit x86 guest kernels (ring compression: ring 3 stays
//   the tasks'). Every trap exits to the hypervisor, whose interpreter routines (interpreter.ts)
//   emulate privileged instructions on the virtual PSW / trap registers / timer and inject virtual
//   traps and interrupts as the hardware would. Critical instructions do not trap: PUSHF and SMSW
//   reveal ring 1 and POPF silently leaves IF alone, so the kernel diverges from native.
// - code-patching: as trap-and-emulate, after the kernel's critical instructions were patched into
//   traps (code-patching.ts: the scans patch guest memory, so they run here, where the routines ask).
// - binary-translation: the BT engine translates the kernel's (virtual ring 0) privileged and
//   critical instructions into direct calls of the same routines — no exit, always in-process.
// - paravirt: the kernel's PV build runs in ring 1 and calls the hypervisor with HCALL (paravirt.ts).
//
// The virtual platform equals the native machine: console on port 0x10, power-off on 0x20, a 10 MHz
// timer on the same clock. A translated kernel block costs `translateBlock`; scanning costs
// SCAN_CYCLES_PER_INSTRUCTION per instruction; the routines' costs are the dispatcher's.

import {
  AssembledImage,
  BinaryTranslationEngine,
  Bus,
  ElfImage,
  Engine,
  PSW,
  RING32_PORT,
  RING32_RAM_BASE,
  RING32_RAM_SIZE,
  Ring32Cause,
  Ring32Hart,
  Ring32Irq,
  Stop,
  createEngine,
  loadElf32,
  parseRing32Elf,
  ring32,
} from '@vsim/isa';
import { TrapAction, TrapRequest, TrapResolution } from '@vsim/proto';
import { DEFAULT_HYPERVISOR_COSTS, HypervisorCosts } from '../costs';
import { handleTrap } from '../dispatcher';
import { CodePatcher, SCAN_CYCLES_PER_INSTRUCTION } from './code-patching';
import { VirtualRing32, realPsw } from './context';
import { Ring32Effect, applyEffects, exitRequest, isStop } from './exits';
import { CriticalObserver } from './observe';
import { PV_SHARED_SYMBOL } from './pv-abi';
import type { Ring32Exit, Ring32Outcome, Ring32Technique, Ring32VmOptions, Ring32VmResult } from './types';

const TIMER_BIT = 1 << Ring32Irq.Timer;
/** Every exception cause (0..9) exits to the hypervisor. */
const ALL_CAUSES = 0x3ff;
// Read once: re-exported bindings are getters, and these are read per exit.
const ACTION_BLOCK = TrapAction.TRAP_ACTION_BLOCK;
const HYPERCALL = Ring32Cause.Hypercall;

export class Ring32Vm {
  readonly bus: Bus;
  readonly hart: Ring32Hart;
  readonly engine: Engine<Ring32Hart>;
  readonly costs: HypervisorCosts;
  readonly v: VirtualRing32 = { psw: 0, tvec: 0, epc: 0, cause: 0, tval: 0, scratch: 0, timecmp: Number.POSITIVE_INFINITY };
  /**
   * Where exits and translated calls are resolved in-process: the dispatcher. A host replaces it
   * with its own local trap handler (the same dispatcher, its cost model and counters).
   */
  resolveLocal: (req: TrapRequest) => TrapResolution = (req) => handleTrap(req, undefined, this.costs);
  private readonly out: number[] = [];
  private readonly exits: Record<string, number> = {};
  private readonly calls: Record<string, number> = {};
  private hypercalls = 0;
  /** Code patching: the patch sites and the code scanned (guest memory is patched here). */
  readonly patcher?: CodePatcher;
  /** Paravirt: the shared page (its address), and whether the real timer is held back. */
  readonly pvShared?: number;
  private pvTimerHeld = false;
  private readonly observer?: CriticalObserver;
  /** A routine called from translated code stopped the VM. */
  private stopped?: { outcome: 'exit' | 'fault'; detail: string };
  /** An emulated HLT is waiting for the virtual timer. */
  private halted = false;
  private blocksCharged = 0;
  private ended?: { outcome: 'exit' | 'fault'; fault?: string };
  private drained = 0;

  /** Runs an assembled image, a parsed ring32 ELF, or the bytes of one (guests/ring32/bin/*.elf). */
  constructor(
    image: AssembledImage | ElfImage | Uint8Array,
    readonly opts: Ring32VmOptions,
  ) {
    const ramSize = opts.ramSize ?? RING32_RAM_SIZE;
    this.bus = new Bus(RING32_RAM_BASE, ramSize);
    if (image instanceof Uint8Array) image = parseRing32Elf(image);
    if ('segments' in image) loadElf32(image, this.bus);
    else {
      if (image.origin < RING32_RAM_BASE || image.origin + image.bytes.length > RING32_RAM_BASE + ramSize) {
        throw new RangeError(
          `image 0x${image.origin.toString(16)}+${image.bytes.length} does not fit in RAM (0x${RING32_RAM_BASE.toString(16)}+${ramSize})`,
        );
      }
      this.bus.writeBytes(image.origin, image.bytes);
    }
    this.hart = new Ring32Hart(this.bus, { cyclesPerTick: opts.cyclesPerTick });
    this.hart.pc = image.entry;
    this.costs = opts.costs ?? DEFAULT_HYPERVISOR_COSTS;
    const t = opts.technique;
    if (t === 'native') {
      this.hart.attachPort(RING32_PORT.CONSOLE, { in: () => 0, out: (b) => this.out.push(b & 0xff) });
      this.engine = createEngine(opts.engine ?? 'bt', this.hart, ring32);
      return;
    }
    const h = this.hart;
    h.exitMask = ALL_CAUSES;
    h.exitInterruptMask = TIMER_BIT;
    if (t === 'paravirt') {
      const shared = image.symbols.get(PV_SHARED_SYMBOL);
      if (shared === undefined) throw new RangeError(`technique paravirt: the image has no '${PV_SHARED_SYMBOL}' symbol (is it the PV build?)`);
      if (!this.bus.inRam(shared, 64)) throw new RangeError(`paravirt: shared page at 0x${shared.toString(16)} is not in guest RAM`);
      this.pvShared = shared;
    }
    if (t === 'code-patching') {
      this.patcher = new CodePatcher(this.bus);
      this.hart.cycles += this.patcher.scan(image.entry) * SCAN_CYCLES_PER_INSTRUCTION;
    }
    const translated = t === 'binary-translation' || (t === 'trap-and-emulate' && opts.observeCritical === true);
    this.engine = translated
      ? new BinaryTranslationEngine(h, ring32, { translateSensitive: true, sensitiveMode: 0 })
      : createEngine(opts.engine ?? 'bt', h, ring32);
    if (t === 'binary-translation') h.sensitiveHook = (w, pc) => this.translatedCall(w, pc);
    if (t === 'trap-and-emulate' && translated) {
      const observer = (this.observer = new CriticalObserver());
      h.sensitiveHook = (w, pc) => observer.run(h, w, pc, this.vring);
    }
    this.applyVirtual();
  }

  get technique(): Ring32Technique {
    return this.opts.technique;
  }

  /** The virtual ring the guest is in (0 = its kernel). */
  get vring(): number {
    return this.v.psw & PSW.RING;
  }

  /** At boot, the real hart follows the virtual state (as Ring32Context.applyVirtual after each routine). */
  private applyVirtual(): void {
    const h = this.hart;
    h.psw = realPsw(this.v.psw, h.psw, this.pvShared !== undefined);
    if (h.sensitiveHook) h.xlateKey = this.vring;
    if (!this.pvTimerHeld) h.timecmp = this.v.timecmp;
    h.kick = true;
  }

  // ---------------------------------------------------------------- exits

  /** The TrapRequest of an exit (or, `translated`, of a call from translated code) at `pc`. */
  private request(cause: number, tval: number, interrupt: boolean, pc: number, translated: boolean): TrapRequest {
    return exitRequest({
      hart: this.hart,
      bus: this.bus,
      technique: this.technique,
      v: this.v,
      pvShared: this.pvShared,
      pvTimerHeld: this.pvTimerHeld,
      patcher: this.patcher,
      cause,
      tval,
      interrupt,
      pc,
      translated,
    });
  }

  /** The machine's side of a resolution (registers, memory, PSW, timers, virtual state, scans). Returns the scans' cycles. */
  private apply(res: TrapResolution): number {
    const e: Ring32Effect = applyEffects(this.hart, this.bus, this.v, res, this.patcher, this.opts.lazyPatching !== false);
    this.pvTimerHeld = e.pvTimerHeld;
    if (res.console.length > 0) for (const b of res.console) this.out.push(b);
    return e.scanCycles;
  }

  /**
   * Applies the resolution of the exit advance() returned (resolved in-process, or `remote`ly by
   * the hypervisor service). Returns how the slice ends, if it does.
   */
  resolveExit(req: TrapRequest, res: TrapResolution, remote = false): 'exit' | 'fault' | 'wfi' | undefined {
    const h = this.hart;
    const before = h.cycles;
    h.cycles += res.costCycles;
    // A hypercall is counted whatever it does (the PV kernel's HCALL in its virtual ring 0).
    if (this.pvShared !== undefined && !req.interrupt && req.cause === HYPERCALL && this.vring === 0) this.hypercalls++;
    const stop = isStop(res);
    if (stop) {
      for (const b of res.console) this.out.push(b);
      if (stop === 'exit') h.exitCode = res.exitStatus | 0;
      this.ended = { outcome: stop, fault: stop === 'fault' ? res.detail : undefined };
    } else {
      h.cycles += this.apply(res);
      h.pc = res.nextPc >>> 0;
      if (res.action === ACTION_BLOCK) this.halted = true;
    }
    this.exits[res.handler] = (this.exits[res.handler] ?? 0) + 1;
    this.opts.onExit?.({ name: res.handler, via: 'exit', remote, cause: req.cause, interrupt: req.interrupt, cost: h.cycles - before });
    return stop || this.afterRun(false);
  }

  /** Binary translation: a sensitive instruction of translated kernel code calls its routine directly, in-process. */
  private translatedCall(w: number, pc: number): number {
    const h = this.hart;
    const req = this.request(Ring32Cause.PrivilegedInstruction, w, false, pc, true);
    const res = this.resolveLocal(req);
    const stop = isStop(res);
    if (stop) {
      if (stop === 'exit') h.exitCode = res.exitStatus | 0;
      this.stopped = { outcome: stop, detail: res.detail };
      h.hookCost = 0;
      this.opts.onExit?.({ name: res.handler, via: 'translated', remote: false, cause: -1, interrupt: false, cost: 0 });
      h.requestStop(Stop.Halt);
      return (pc + 4) >>> 0;
    }
    // Translated code keeps its own cycle count and adds hookCost after the call: what the routine
    // costs goes there, not into h.cycles, which the block would overwrite.
    h.hookCost = res.costCycles + this.apply(res);
    this.calls[res.handler] = (this.calls[res.handler] ?? 0) + 1;
    if (res.action === ACTION_BLOCK) {
      this.halted = true;
      h.requestStop(Stop.Wfi); // leave the translated block: the vCPU waits
    }
    this.opts.onExit?.({ name: res.handler, via: 'translated', remote: false, cause: -1, interrupt: false, cost: h.hookCost });
    return res.nextPc >>> 0;
  }

  // ---------------------------------------------------------------- the run

  /** BT: translating kernel blocks is the hypervisor's work (costs.translateBlock each). */
  private chargeTranslation(): void {
    if (this.technique !== 'binary-translation' || !(this.engine instanceof BinaryTranslationEngine)) return;
    const blocks = this.engine.translatedByMode[0];
    this.hart.cycles += (blocks - this.blocksCharged) * this.costs.translateBlock;
    this.blocksCharged = blocks;
  }

  /** Why the VM faulted, once runSlice returned 'fault'. */
  get faultDetail(): string | undefined {
    return this.ended?.fault;
  }

  /** HLT (or an emulated one) with the timer not yet due: the slice ends, the vCPU waits. */
  private afterRun(wfi: boolean): 'wfi' | undefined {
    if (!wfi && !this.halted) return undefined;
    this.halted = false;
    return this.hart.cyclesUntilNextTimer() > 0 ? 'wfi' : undefined;
  }

  /**
   * Runs the engine once toward `end` cycles. Returns how the slice ends, the exit the hypervisor
   * must resolve (then resolveExit), or undefined to go on.
   */
  advance(end: number): 'exit' | 'fault' | 'wfi' | TrapRequest | undefined {
    if (this.ended) return this.ended.outcome;
    const h = this.hart;
    const expansion = this.opts.expansion ?? 1;
    const before = h.cycles;
    const stop = this.engine.run(Math.max(1, Math.floor((end - h.cycles) / expansion)));
    if (expansion !== 1) h.cycles += (h.cycles - before) * (expansion - 1);
    this.chargeTranslation();
    if (this.stopped) {
      this.ended = { outcome: this.stopped.outcome, fault: this.stopped.outcome === 'fault' ? this.stopped.detail : undefined };
      return this.ended.outcome;
    }
    if (stop.kind === Stop.Halt) {
      this.ended = { outcome: 'exit' };
      return 'exit';
    }
    if (stop.kind === Stop.Trap) {
      if (this.technique === 'native') {
        this.ended = { outcome: 'fault', fault: `unexpected exit, cause ${stop.cause}` };
        return 'fault';
      }
      return this.request(stop.cause, stop.tval, stop.interrupt, h.pc >>> 0, false);
    }
    return this.afterRun(stop.kind === Stop.Wfi);
  }

  /**
   * Runs the vCPU for at most `budget` cycles, as a host runs it in a scheduling slice, its exits
   * resolved in-process: returns 'budget', 'wfi' (HLT with nothing pending: the host may run others
   * until cyclesUntilTimer()), 'exit' (it powered off) or 'fault'.
   */
  runSlice(budget: number): Ring32Outcome {
    if (this.ended) return this.ended.outcome;
    const h = this.hart;
    const end = h.cycles + budget;
    while (h.cycles < end) {
      const step = this.advance(end);
      if (step === undefined) continue;
      if (typeof step === 'string') return step;
      const stop = this.resolveExit(step, this.resolveLocal(step));
      if (stop) return stop;
    }
    return 'budget';
  }

  /** Cycles until the (virtual) timer fires: 0 if pending, +Infinity if disarmed. */
  cyclesUntilTimer(): number {
    return this.hart.cyclesUntilNextTimer();
  }

  /** Console bytes written since the last call. */
  drainConsole(): string {
    if (this.drained === this.out.length) return '';
    const s = Buffer.from(this.out.slice(this.drained)).toString('latin1');
    this.drained = this.out.length;
    return s;
  }

  /** Runs to the end (or `maxCycles`), skipping the time HLT waits, as the bare machine does. */
  run(maxCycles = 5e8): Ring32VmResult {
    const h = this.hart;
    const end = h.cycles + maxCycles;
    let outcome: Ring32VmResult['outcome'] = 'budget';
    while (h.cycles < end) {
      const stop = this.runSlice(end - h.cycles);
      if (stop === 'budget') break;
      if (stop !== 'wfi') {
        outcome = stop;
        break;
      }
      const wait = this.cyclesUntilTimer();
      if (!Number.isFinite(wait)) {
        outcome = 'deadlock';
        break;
      }
      h.cycles = Math.min(end, h.cycles + wait);
    }
    return {
      technique: this.technique,
      outcome,
      exitCode: h.exitCode,
      console: Buffer.from(this.out).toString('latin1'),
      instructions: h.instret,
      cycles: h.cycles,
      exits: { ...this.exits },
      translatedCalls: { ...this.calls },
      hypercalls: this.hypercalls,
      patching: this.patcher ? { ...this.patcher.stats } : undefined,
      critical: this.observer?.all() ?? [],
      fault: this.ended?.fault,
    };
  }
}

/** Runs `image` under `technique` and returns the result. */
export function runRing32(image: AssembledImage | ElfImage | Uint8Array, opts: Ring32VmOptions, maxCycles?: number): Ring32VmResult {
  return new Ring32Vm(image, opts).run(maxCycles);
}

export type { Ring32Exit };
