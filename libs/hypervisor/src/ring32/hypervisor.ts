// A ring32 guest kernel under each technique, on one vCPU (the ring32 counterpart of
// trap-and-emulate.ts + libs/executor/src/vm.ts for rv32; the proto's VirtualCpu holds rv32's S-mode
// state, so ring32's virtual state lives here):
//
// - native: the kernel on a bare ring32 machine in ring 0, no hypervisor (the baseline).
// - trap-and-emulate: the kernel deprivileged to ring 1 — rings 1-3 are alike for privilege checks,
//   and ring 1 is where Xen and VMware put 32-bit x86 guest kernels (ring compression: ring 3 stays
//   the tasks'). Every trap exits to the hypervisor, whose interpreter routines emulate privileged
//   instructions on the virtual PSW / trap registers / timer (VirtualRing32) and inject virtual traps
//   and interrupts as the hardware would. Critical instructions do not trap: PUSHF and SMSW reveal
//   ring 1 and POPF silently leaves IF alone, so the kernel diverges from native.
// - code-patching: as trap-and-emulate, after the hypervisor patched every critical instruction of
//   the kernel into a trap (code-patching.ts); the trap's routine emulates the original.
// - binary-translation: the BT engine translates the kernel's (virtual ring 0) privileged and
//   critical instructions into direct calls of the same routines — no exit.
// - paravirt: the kernel's PV build (guests/ring32/kernel.s with PV) runs in ring 1 and calls the
//   hypervisor with HCALL (paravirt.ts), its interrupt flag in the shared page.
//
// The virtual platform equals the native machine: console on port 0x10, power-off on 0x20, a 10 MHz
// timer on the same clock. Costs come from the hypervisor cost model (costs.ts): an exit costs
// `exit` + the routine's `emulate`; a translated call `translatedCall` + `emulate` (no exit); a
// hypercall `exit` + `sbiSimple` (+ the console's per-byte cost for writes); a translated kernel
// block `translateBlock`; scanning SCAN_CYCLES_PER_INSTRUCTION per instruction.

import {
  analyzeIsa,
  AssembledImage,
  BinaryTranslationEngine,
  ElfImage,
  loadElf32,
  parseRing32Elf,
  Bus,
  CR,
  createEngine,
  Engine,
  EngineName,
  PSW,
  PSW_WRITABLE,
  RING32_INTERRUPT_BIT,
  RING32_PORT,
  RING32_RAM_BASE,
  RING32_RAM_SIZE,
  Ring32Cause,
  Ring32Hart,
  Ring32Irq,
  Stop,
  TrapExit,
  ring32,
} from '@vsim/isa';
import { DEFAULT_HYPERVISOR_COSTS, HypervisorCosts } from '../costs';
import { CodePatcher, PatchingStats, SCAN_CYCLES_PER_INSTRUCTION } from './code-patching';
import { PV_SHARED_SYMBOL, Paravirt } from './paravirt';
import { RING32_TECHNIQUES } from '@vsim/vocabulary';

export { RING32_TECHNIQUES };
export type Ring32Technique = (typeof RING32_TECHNIQUES)[number];

/** The real ring a deprivileged guest kernel runs in (see the header). */
export const KERNEL_RING = 1;
const USER_RING = 3;
const SP = 14;
const TIMER_BIT = 1 << Ring32Irq.Timer;
/** Every exception cause (0..9) exits to the hypervisor. */
const ALL_CAUSES = 0x3ff;

const CRITICAL: ReadonlySet<string> = new Set(analyzeIsa(ring32).critical);

export interface Ring32VmOptions {
  readonly technique: Ring32Technique;
  /** Engine for native, trap-and-emulate, code-patching and paravirt (binary translation always uses 'bt'). */
  readonly engine?: EngineName;
  readonly costs?: HypervisorCosts;
  /**
   * Trap-and-emulate only: run on the translator with each critical instruction of the kernel
   * executed exactly as the hardware does, but observed (what diagnose() reports).
   */
  readonly observeCritical?: boolean;
  readonly ramSize?: number;
  /**
   * Host instructions per guest instruction when the host emulates this VM's ISA (cross-isa.ts):
   * the cycles the guest spends on the engine are multiplied by it. Default 1 (direct execution).
   */
  readonly expansion?: number;
  /**
   * Code patching only: scan code first reached at run time (default true). Off, the kernel's code
   * behind computed jumps runs unpatched — to show that the static scan alone is not enough.
   */
  readonly lazyPatching?: boolean;
  /** Timer ticks every this many cycles (default 100: a 1 GHz pCPU and the 10 MHz timer). */
  readonly cyclesPerTick?: number;
  /**
   * Called for each exit to the hypervisor and each call from translated code, after its routine
   * ran (a host logs them: libs/executor/src/runners/ring32.ts). `cost` is what the hypervisor's work added to the vCPU's cycles.
   */
  readonly onExit?: (e: Ring32Exit) => void;
}

/** One exit (or call from translated code) and the routine the dispatcher sent it to. */
export interface Ring32Exit {
  /** The routine, e.g. 'r32.mtcr.timecmp', 'r32.patch.pushf', 'r32.hcall.console', 'r32.inject.syscall'. */
  readonly name: string;
  /** 'exit': the guest trapped; 'translated': translated code called the routine directly (no exit). */
  readonly via: 'exit' | 'translated';
  /** The hardware cause (Ring32Cause, or Ring32Irq for an interrupt); -1 for a translated call. */
  readonly cause: number;
  readonly interrupt: boolean;
  readonly cost: number;
}

/** A critical instruction of the deprivileged kernel whose effect differed from what ring 0 would have done. */
export interface CriticalObservation {
  readonly pc: number;
  readonly name: string;
  readonly effect: string;
  count: number;
}

export interface Ring32VmResult {
  readonly technique: Ring32Technique;
  readonly outcome: 'exit' | 'deadlock' | 'budget' | 'fault';
  readonly exitCode: number | null;
  readonly console: string;
  readonly instructions: number;
  readonly cycles: number;
  /** Exits to the hypervisor by routine. */
  readonly exits: Record<string, number>;
  /** Calls from translated code by routine (binary translation). */
  readonly translatedCalls: Record<string, number>;
  readonly hypercalls: number;
  readonly patching?: PatchingStats;
  readonly critical: CriticalObservation[];
  readonly fault?: string;
}

/** The virtual ring-0 state of a deprivileged ring32 kernel (the user flags live in the real PSW). */
export interface VirtualRing32 {
  /** Virtual PSW: ring, IF, PRING, PIF (UF is the real one). */
  psw: number;
  tvec: number;
  epc: number;
  cause: number;
  tval: number;
  scratch: number;
  /** Timer compare in ticks, +Infinity when disarmed. */
  timecmp: number;
}

class VmStop extends Error {
  constructor(
    readonly outcome: 'exit' | 'fault',
    readonly detail: string,
  ) {
    super(detail);
  }
}

export class Ring32Vm {
  readonly bus: Bus;
  readonly hart: Ring32Hart;
  readonly engine: Engine<Ring32Hart>;
  readonly costs: HypervisorCosts;
  readonly v: VirtualRing32 = { psw: 0, tvec: 0, epc: 0, cause: 0, tval: 0, scratch: 0, timecmp: Number.POSITIVE_INFINITY };
  private readonly out: number[] = [];
  private readonly exits: Record<string, number> = {};
  private readonly calls: Record<string, number> = {};
  private hypercalls = 0;
  private readonly patcher?: CodePatcher;
  private readonly pv?: Paravirt;
  private readonly observations = new Map<string, CriticalObservation>();
  private stopped?: VmStop;
  /** An emulated HLT is waiting for the virtual timer. */
  private halted = false;
  private blocksCharged = 0;

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
      this.pv = new Paravirt(this, shared);
    }
    if (t === 'code-patching') {
      this.patcher = new CodePatcher(this.bus);
      this.chargeScan(this.patcher.scan(image.entry));
    }
    const translated = t === 'binary-translation' || (t === 'trap-and-emulate' && opts.observeCritical === true);
    this.engine = translated
      ? new BinaryTranslationEngine(h, ring32, { translateSensitive: true, sensitiveMode: 0 })
      : createEngine(opts.engine ?? 'bt', h, ring32);
    if (t === 'binary-translation') h.sensitiveHook = (w, pc) => this.translatedCall(w, pc);
    if (t === 'trap-and-emulate' && translated) h.sensitiveHook = (w, pc) => this.observeHardware(w, pc);
    this.applyVirtual();
  }

  get technique(): Ring32Technique {
    return this.opts.technique;
  }

  // ---------------------------------------------------------------- virtual state

  /** The virtual ring the guest is in (0 = its kernel). */
  get vring(): number {
    return this.v.psw & PSW.RING;
  }

  /** The virtual PSW as the guest would read it: virtual ring and IF, real user flags. */
  virtualPsw(): number {
    return ((this.v.psw & ~PSW.UF) | (this.hart.psw & PSW.UF)) & PSW_WRITABLE;
  }

  setVirtualPsw(p: number): void {
    this.v.psw = p & PSW_WRITABLE & ~PSW.UF;
    this.hart.psw = (this.hart.psw & ~PSW.UF) | (p & PSW.UF);
    this.applyVirtual();
  }

  /**
   * The real hart follows the virtual state: ring 0 runs as KERNEL_RING, the virtual IF is the real
   * one (so the timer exits only when the guest could take it; under paravirt the flag is in memory
   * and the real IF stays set), the real timer is the virtual one.
   */
  applyVirtual(): void {
    const h = this.hart;
    const realRing = this.vring === 0 ? KERNEL_RING : USER_RING;
    const iflag = this.pv ? PSW.IF : this.v.psw & PSW.IF;
    h.psw = (h.psw & PSW.UF) | (this.v.psw & (PSW.PRING | PSW.PIF)) | iflag | realRing;
    if (h.sensitiveHook) h.xlateKey = this.vring;
    if (!this.pv?.timerHeld) h.timecmp = this.v.timecmp;
    h.kick = true;
  }

  /** Enters the guest kernel's trap vector as the hardware would (ring32.md, Traps). */
  inject(cause: number, tval: number, interrupt: boolean, epc: number): number {
    if (this.pv) return this.pv.inject(cause, tval, interrupt, epc);
    const vp = this.virtualPsw();
    this.v.epc = epc >>> 0;
    this.v.cause = (interrupt ? RING32_INTERRUPT_BIT | cause : cause) >>> 0;
    this.v.tval = tval >>> 0;
    this.setVirtualPsw((vp & PSW.UF) | ((vp & PSW.RING) << PSW.PRING_SHIFT) | (vp & PSW.IF ? PSW.PIF : 0));
    return this.enterRing0(this.v.tvec);
  }

  /** Continues the guest at `pc`; if that is its kernel, code patching scans code it has not seen. */
  enterRing0(pc: number): number {
    if (this.patcher && this.opts.lazyPatching !== false && this.vring === 0 && !this.patcher.isScanned(pc))
      this.chargeScan(this.patcher.scan(pc, true));
    return pc >>> 0;
  }

  private chargeScan(n: number): void {
    this.hart.cycles += n * SCAN_CYCLES_PER_INSTRUCTION;
  }

  console(bytes: ArrayLike<number>): void {
    for (let i = 0; i < bytes.length; i++) this.out.push(bytes[i] & 0xff);
  }

  shutdown(code: number): never {
    this.hart.exitCode = code | 0;
    throw new VmStop('exit', `exit ${code}`);
  }

  fault(detail: string): never {
    throw new VmStop('fault', detail);
  }

  /** HLT on the virtual machine: nothing to do if the timer is pending, else the vCPU waits for it (like a native HLT). */
  private hlt(): void {
    if (this.hart.time() >= this.v.timecmp) return;
    this.halted = true; // seen by runSlice after the exit, or by translatedCall
  }

  // ---------------------------------------------------------------- interpreter routines

  /**
   * Emulates one privileged instruction of the virtual ring-0 kernel on the virtual state (or one
   * critical instruction, for code patching and binary translation). Returns the routine's name and
   * the pc to continue at.
   */
  emulate(w: number, pc: number): { name: string; next: number } {
    const h = this.hart;
    const x = h.x;
    const next = (pc + 4) >>> 0;
    const d = ring32.instructions[ring32.decode(w)];
    const rd = (w >>> 8) & 15;
    const rs1 = (w >>> 12) & 15;
    const setRd = (v: number) => {
      if (rd !== 0) x[rd] = v | 0;
    };
    switch (d.name) {
      case 'hlt':
        this.hlt();
        return { name: 'r32.hlt', next };
      case 'iret': {
        // IRET: ring <- PRING, IF <- PIF (PRING and PIF themselves stay), pc <- EPC.
        const s = this.virtualPsw();
        this.setVirtualPsw((s & ~(PSW.RING | PSW.IF)) | ((s & PSW.PRING) >>> PSW.PRING_SHIFT) | (s & PSW.PIF ? PSW.IF : 0));
        return { name: 'r32.iret', next: this.enterRing0(this.v.epc) };
      }
      case 'cli':
      case 'sti':
        this.setVirtualPsw(d.name === 'sti' ? this.virtualPsw() | PSW.IF : this.virtualPsw() & ~PSW.IF);
        return { name: `r32.${d.name}`, next };
      case 'lpsw': {
        const a = (x[rs1] + (w >> 16)) >>> 0;
        if (a & 3) return { name: 'r32.lpsw', next: this.inject(Ring32Cause.LoadMisaligned, a, false, pc) };
        if (!this.bus.inRam(a, 8)) return { name: 'r32.lpsw', next: this.inject(Ring32Cause.LoadFault, a, false, pc) };
        const npc = this.bus.readU32((a + 4) >>> 0) >>> 0;
        if (npc & 3) return { name: 'r32.lpsw', next: this.inject(Ring32Cause.FetchMisaligned, npc, false, pc) };
        this.setVirtualPsw(this.bus.readU32(a));
        return { name: 'r32.lpsw', next: this.enterRing0(npc) };
      }
      case 'mfcr': {
        const cr = (w >>> 16) & 15;
        const v = this.v;
        const values: Record<number, number> = {
          [CR.PSW]: this.virtualPsw(),
          [CR.TVEC]: v.tvec,
          [CR.EPC]: v.epc,
          [CR.CAUSE]: v.cause,
          [CR.TVAL]: v.tval,
          [CR.TIMECMP]: Number.isFinite(v.timecmp) ? v.timecmp : 0xffffffff,
          [CR.TIME]: h.time() % 2 ** 32,
          [CR.SCRATCH]: v.scratch,
        };
        if (!(cr in values)) return { name: 'r32.mfcr', next: this.inject(Ring32Cause.IllegalInstruction, w, false, pc) };
        setRd(values[cr]);
        return { name: `r32.mfcr.${['psw', 'tvec', 'epc', 'cause', 'tval', 'timecmp', 'time', 'scratch'][cr]}`, next };
      }
      case 'mtcr': {
        const cr = (w >>> 16) & 15;
        const val = x[rs1];
        const names = ['psw', 'tvec', 'epc', 'cause', 'tval', 'timecmp', 'time', 'scratch'];
        switch (cr) {
          case CR.PSW:
            this.setVirtualPsw(val);
            break;
          case CR.TVEC:
            this.v.tvec = (val & ~3) >>> 0;
            if (this.patcher) this.chargeScan(this.patcher.scan(this.v.tvec)); // a new entry point
            break;
          case CR.EPC:
            this.v.epc = (val & ~3) >>> 0;
            break;
          case CR.CAUSE:
            this.v.cause = val >>> 0;
            break;
          case CR.TVAL:
            this.v.tval = val >>> 0;
            break;
          case CR.TIMECMP:
            this.setTimer(val >>> 0 === 0xffffffff ? Number.POSITIVE_INFINITY : val >>> 0);
            break;
          case CR.SCRATCH:
            this.v.scratch = val | 0;
            break;
          default:
            return { name: 'r32.mtcr', next: this.inject(Ring32Cause.IllegalInstruction, w, false, pc) };
        }
        return { name: `r32.mtcr.${names[cr]}`, next: cr === CR.PSW ? this.enterRing0(next) : next };
      }
      case 'in': {
        const port = w >>> 16;
        setRd(port === RING32_PORT.CONSOLE || port === RING32_PORT.EXIT ? 0 : -1);
        return { name: 'r32.in', next };
      }
      case 'out': {
        const port = w >>> 16;
        if (port === RING32_PORT.CONSOLE) this.out.push(x[rs1] & 0xff);
        if (port === RING32_PORT.EXIT) this.shutdown(x[rs1]);
        return { name: port === RING32_PORT.CONSOLE ? 'r32.out.console' : 'r32.out', next };
      }
      case 'pushf': {
        const nsp = (x[SP] - 4) | 0;
        if (nsp & 3 || !this.bus.inRam(nsp >>> 0, 4))
          return { name: 'r32.pushf', next: this.inject(nsp & 3 ? Ring32Cause.StoreMisaligned : Ring32Cause.StoreFault, nsp, false, pc) };
        this.bus.writeU32(nsp >>> 0, this.virtualPsw());
        x[SP] = nsp;
        return { name: 'r32.pushf', next };
      }
      case 'popf': {
        const sp = x[SP] >>> 0;
        if (sp & 3 || !this.bus.inRam(sp, 4))
          return { name: 'r32.popf', next: this.inject(sp & 3 ? Ring32Cause.LoadMisaligned : Ring32Cause.LoadFault, sp, false, pc) };
        const val = this.bus.readU32(sp);
        x[SP] = (sp + 4) | 0;
        // Ring 0's POPF: IF, PRING, PIF and the user flags from the stack, never the ring.
        this.setVirtualPsw((this.v.psw & PSW.RING) | (val & PSW_WRITABLE & ~PSW.RING));
        return { name: 'r32.popf', next };
      }
      case 'smsw':
        setRd(this.virtualPsw());
        return { name: 'r32.smsw', next };
      default:
        return this.fault(`no routine for ${d.name} at pc 0x${pc.toString(16)} (instruction 0x${(w >>> 0).toString(16).padStart(8, '0')})`);
    }
  }

  setTimer(ticks: number): void {
    this.v.timecmp = ticks;
    this.pv?.releaseTimer();
    this.hart.setTimecmp(ticks);
  }

  // ---------------------------------------------------------------- exits

  /** The dispatcher: one exit of the deprivileged guest, routed to its routine. Returns the routine's name. */
  private handleExit(exit: TrapExit): string {
    const h = this.hart;
    const pc = h.pc >>> 0;
    const { cause, tval } = exit;
    h.cycles += this.costs.exit;
    if (exit.interrupt) {
      h.cycles += this.costs.emulate;
      if (this.pv) return this.pv.timerExit(pc);
      if (!(this.v.psw & PSW.IF) || h.time() < this.v.timecmp) return 'r32.irq.spurious';
      h.pc = this.inject(Ring32Irq.Timer, 0, true, pc);
      return 'r32.irq.timer';
    }
    if (this.vring === 0) {
      if (cause === Ring32Cause.PrivilegedInstruction) {
        h.cycles += this.costs.emulate;
        const r = this.emulate(tval | 0, pc);
        h.pc = r.next;
        return r.name;
      }
      const site = this.patcher?.sites.get(pc);
      if (cause === Ring32Cause.IllegalInstruction && site) {
        h.cycles += this.costs.emulate;
        if (site.kind === 'indirect') {
          h.pc = this.computedJump(site.word, pc);
          return 'r32.patch.jalr';
        }
        const r = this.emulate(site.word, pc);
        h.pc = r.next;
        return `r32.patch.${site.name}`;
      }
      if (cause === Ring32Cause.Hypercall && this.pv) {
        this.hypercalls++;
        h.cycles += this.costs.sbiSimple;
        const r = this.pv.hypercall(pc);
        h.pc = r.next;
        return r.name;
      }
    }
    const site = this.patcher?.sites.get(pc);
    if (cause === Ring32Cause.IllegalInstruction && site) {
      // A task running patched kernel code: in ring 3 the original does what it does natively.
      h.cycles += this.costs.emulate;
      h.pc = site.kind === 'indirect' ? this.computedJump(site.word, pc) : this.hardwareInRing3(site.word, pc);
      return `r32.patch.user.${site.name}`;
    }
    // Anything else is the guest's own trap: its kernel handles it, as natively.
    h.cycles += this.costs.emulate;
    h.pc = this.inject(cause, tval, false, pc);
    return cause === Ring32Cause.Syscall ? 'r32.inject.syscall' : `r32.inject.cause${cause}`;
  }

  /** A patched computed jump: do the jalr, and scan its target if it is kernel code not seen yet. */
  private computedJump(w: number, pc: number): number {
    const x = this.hart.x;
    const rd = (w >>> 8) & 15;
    const t = (x[(w >>> 12) & 15] + (w >> 16)) >>> 0;
    if (t & 3) return this.inject(Ring32Cause.FetchMisaligned, t, false, pc);
    if (rd !== 0) x[rd] = (pc + 4) | 0;
    return this.enterRing0(t);
  }

  /** Binary translation: a sensitive instruction of translated kernel code calls its routine directly. */
  private translatedCall(w: number, pc: number): number {
    const h = this.hart;
    // Translated code keeps its own cycle count and adds hookCost after the call: time a routine
    // spends (HLT's wait) goes there, not into h.cycles, which the block would overwrite.
    const before = h.cycles;
    try {
      const r = this.emulate(w, pc);
      this.calls[r.name] = (this.calls[r.name] ?? 0) + 1;
      if (this.halted) h.requestStop(Stop.Wfi); // leave the translated block: the vCPU waits
      h.hookCost = this.costs.translatedCall + this.costs.emulate + (h.cycles - before);
      h.cycles = before;
      this.opts.onExit?.({ name: r.name, via: 'translated', cause: -1, interrupt: false, cost: h.hookCost });
      return r.next;
    } catch (e) {
      if (e instanceof VmStop) {
        this.stopped = e;
        h.hookCost = 0;
        const name = e.outcome === 'exit' ? 'r32.out.exit' : 'fault';
        this.opts.onExit?.({ name, via: 'translated', cause: -1, interrupt: false, cost: 0 });
        h.requestStop(Stop.Halt);
        return (pc + 4) >>> 0;
      }
      throw e;
    }
  }

  /**
   * Trap-and-emulate, observed: a critical instruction runs exactly as the hardware runs it in the
   * real ring, and what differs from ring 0's behaviour is recorded; privileged ones trap as usual.
   */
  private observeHardware(w: number, pc: number): number {
    const h = this.hart;
    const d = ring32.instructions[ring32.decode(w)];
    h.hookCost = 0;
    if (!CRITICAL.has(d.name)) return h.raise(Ring32Cause.PrivilegedInstruction, w); // what the hardware does
    const x = h.x;
    const ring = h.psw & PSW.RING;
    if (d.name === 'pushf') {
      x[SP] = h.pushf(x[SP]);
      if (ring !== this.vring) this.observe(pc, 'PUSHF', `pushed the real ring ${ring} (the kernel runs in virtual ring ${this.vring})`);
    } else if (d.name === 'popf') {
      const val = h.ld32(x[SP] >>> 0);
      const before = h.psw;
      h.popf(val);
      x[SP] = (x[SP] + 4) | 0;
      if ((val & PSW.IF) !== (h.psw & PSW.IF)) {
        this.observe(
          pc,
          'POPF',
          `left IF unchanged in ring ${ring} (IF stays ${before & PSW.IF ? 1 : 0}, ring 0 would have set it to ${val & PSW.IF ? 1 : 0})`,
        );
      }
    } else {
      const rd = (w >>> 8) & 15;
      if (rd !== 0) x[rd] = h.psw;
      if (ring !== this.vring) this.observe(pc, 'SMSW', `revealed the real ring ${ring} (the kernel runs in virtual ring ${this.vring})`);
    }
    return (pc + 4) >>> 0;
  }

  /** A critical instruction as the hardware runs it in ring 3 (where real and virtual ring agree). */
  private hardwareInRing3(w: number, pc: number): number {
    const h = this.hart;
    const x = h.x;
    const name = ring32.instructions[ring32.decode(w)].name;
    if (name === 'pushf' || name === 'popf') {
      // The stack access faults as the hardware's would (checked first: no trap escapes the host).
      const a = name === 'pushf' ? (x[SP] - 4) >>> 0 : x[SP] >>> 0;
      if (a & 3) return this.inject(name === 'pushf' ? Ring32Cause.StoreMisaligned : Ring32Cause.LoadMisaligned, a, false, pc);
      if (!this.bus.inRam(a, 4)) return this.inject(name === 'pushf' ? Ring32Cause.StoreFault : Ring32Cause.LoadFault, a, false, pc);
      if (name === 'pushf') {
        this.bus.writeU32(a, h.psw);
        x[SP] = a | 0;
      } else {
        h.popf(this.bus.readU32(a));
        x[SP] = (a + 4) | 0;
      }
    } else if (((w >>> 8) & 15) !== 0) x[(w >>> 8) & 15] = h.psw;
    return (pc + 4) >>> 0;
  }

  private observe(pc: number, name: string, effect: string): void {
    const key = `${pc}:${effect}`;
    const o = this.observations.get(key);
    if (o) o.count++;
    else this.observations.set(key, { pc, name, effect, count: 1 });
  }

  // ---------------------------------------------------------------- the run

  /** BT: translating kernel blocks is the hypervisor's work (costs.translateBlock each). */
  private chargeTranslation(): void {
    if (this.technique !== 'binary-translation' || !(this.engine instanceof BinaryTranslationEngine)) return;
    const blocks = this.engine.translatedByMode[0];
    this.hart.cycles += (blocks - this.blocksCharged) * this.costs.translateBlock;
    this.blocksCharged = blocks;
  }

  private ended?: { outcome: 'exit' | 'fault'; fault?: string };

  /** Why the VM faulted, once runSlice returned 'fault'. */
  get faultDetail(): string | undefined {
    return this.ended?.fault;
  }

  /**
   * Runs the vCPU for at most `budget` cycles, as a host runs it in a scheduling slice: returns
   * 'budget', 'wfi' (HLT with nothing pending: the host may run others until cyclesUntilTimer()),
   * 'exit' (it powered off) or 'fault'.
   */
  runSlice(budget: number): 'budget' | 'wfi' | 'exit' | 'fault' {
    const h = this.hart;
    if (this.ended) return this.ended.outcome;
    const end = h.cycles + budget;
    const expansion = this.opts.expansion ?? 1;
    while (h.cycles < end) {
      const before = h.cycles;
      const stop = this.engine.run(Math.max(1, Math.floor((end - h.cycles) / expansion)));
      const kind = stop.kind;
      if (expansion !== 1) h.cycles += (h.cycles - before) * (expansion - 1);
      this.chargeTranslation();
      if (this.stopped) {
        this.ended = { outcome: this.stopped.outcome, fault: this.stopped.outcome === 'fault' ? this.stopped.detail : undefined };
        return this.ended.outcome;
      }
      if (kind === Stop.Halt) {
        this.ended = { outcome: 'exit' };
        return 'exit';
      }
      if (stop.kind === Stop.Trap) {
        if (this.technique === 'native') {
          this.ended = { outcome: 'fault', fault: `unexpected exit, cause ${stop.cause}` };
          return 'fault';
        }
        const exit = { cause: stop.cause, interrupt: stop.interrupt, before: h.cycles };
        try {
          const name = this.handleExit(stop);
          this.exits[name] = (this.exits[name] ?? 0) + 1;
          this.opts.onExit?.({ name, via: 'exit', cause: exit.cause, interrupt: exit.interrupt, cost: h.cycles - exit.before });
        } catch (e) {
          if (!(e instanceof VmStop)) throw e;
          const name = e.outcome === 'exit' ? (this.pv ? 'r32.hcall.shutdown' : 'r32.out.exit') : 'fault';
          this.exits[name] = (this.exits[name] ?? 0) + 1;
          this.opts.onExit?.({ name, via: 'exit', cause: exit.cause, interrupt: exit.interrupt, cost: h.cycles - exit.before });
          this.ended = { outcome: e.outcome, fault: e.outcome === 'fault' ? e.detail : undefined };
          return e.outcome;
        }
      }
      if (kind === Stop.Wfi || this.halted) {
        this.halted = false;
        if (h.cyclesUntilNextTimer() > 0) return 'wfi';
      }
    }
    return 'budget';
  }

  /** Cycles until the (virtual) timer fires: 0 if pending, +Infinity if disarmed. */
  cyclesUntilTimer(): number {
    return this.hart.cyclesUntilNextTimer();
  }

  /** Console bytes written since the last call. */
  drainConsole(): string {
    const s = Buffer.from(this.out.slice(this.drained)).toString('latin1');
    this.drained = this.out.length;
    return s;
  }
  private drained = 0;

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
      critical: [...this.observations.values()].sort((a, b) => a.pc - b.pc),
      fault: this.ended?.fault,
    };
  }
}

/** Runs `image` under `technique` and returns the result. */
export function runRing32(image: AssembledImage | ElfImage | Uint8Array, opts: Ring32VmOptions, maxCycles?: number): Ring32VmResult {
  return new Ring32Vm(image, opts).run(maxCycles);
}
