// Binary translation (seed, "Emulation"): a guest basic block is translated once into a JavaScript
// function, compiled by V8 to host code, and cached by guest address and privilege mode. Within a
// block the guest registers live in JavaScript locals, immediates and addresses are constants, and
// a block that branches back to its own start loops inside the function. Blocks are chained: each
// remembers its successors, so the dispatcher goes from block to block without a cache lookup.
// A store into a page holding translated code invalidates that page's blocks (self-modifying code).
//
// Precise state is kept cheaply: the block tracks the index of the instruction that may fault; on
// a trap it writes the locals back and sets pc and the counters exactly as an interpreter would.

import { Gen, Isa } from '../isa';
import { Hart } from '../rv32/hart';
import { rv32 } from '../rv32';
import { PAGE_SHIFT } from '../memory/bus';
import { operandDecoder, OperandDecoder } from './common';
import { compileFactory, emitLoad, emitStore, makeEnv, Env } from './emit';
import { Engine, EngineHart, StepUntil, drive } from './engine';
import { dispatchStepper } from './dispatch';
import { blockSource, collect, Decoded, prefix, regList, TraceExits, trapHandler } from './bt-trace';
import { sharedTranslations, SharedBlockCode, TranslationContext } from './translation-cache';

export { MAX_BLOCK_INSTRUCTIONS } from './bt-trace';

interface Block {
  /** Runs the block; returns 0 at its end, or the number (from 1) of the side exit it left by. */
  readonly fn: () => number;
  readonly start: number;
  readonly priv: number;
  /** Address after the last instruction, and the static target of the final branch/jump (-1 if none). */
  readonly fall: number;
  readonly tgt: number;
  /** Cycles before the last instruction starts: the block runs whole only if cycles + span < limit. */
  readonly span: number;
  readonly length: number;
  readonly sourceBytes: number;
  valid: boolean;
  nFall: Block | null;
  nTgt: Block | null;
  /** Inline cache for any other exit (a side exit of a superblock, an indirect jump): last pc seen and its block. */
  icPc: number;
  nIc: Block | null;
  /** Successors by side exit number (index 0 unused). */
  readonly side: (Block | null)[];
  /** The compiled region of its page that contains it, if any. */
  region: Region | null;
  /** Times run as a standalone block (chooses what goes into a region). */
  runs: number;
  readonly unit: PageUnit;
}

interface Region {
  readonly fn: (pc: number) => void;
  valid: boolean;
}

/** Translation state of one guest page at one privilege level. */
interface PageUnit {
  readonly base: number;
  readonly blocks: Map<number, Block>;
  region: Region | null;
  /** Standalone block executions since the region was last compiled. */
  heat: number;
  compiles: number;
}

export interface BtOptions {
  /** Link blocks to their successors (default true). */
  readonly chain: boolean;
  /** Loop inside a block that branches to its own start (default true). */
  readonly loops: boolean;
  /** Compile hot pages into multi-block regions with registers in locals (default true). */
  readonly regions: boolean;
  /**
   * Superblocks (default true): a block goes on through a `jal` and through forward conditional
   * branches (fall-through path; taken leaves by a side exit) to a static target in its own page.
   */
  readonly superblocks: boolean;
  /** With superblocks: also go past conditional branches inside a loop body (default true). */
  readonly loopTraces: boolean;
  /** An inline cache per block for exits other than its fall-through and static target (default true). */
  readonly exitCache: boolean;
  /**
   * Binary translation of a deprivileged kernel: in code translated for `sensitiveMode`, each
   * privileged or sensitive instruction becomes a call to hart.sensitiveHook instead of a trap
   * (default off). On a classically virtualizable ISA (rv32) those are the privileged ones; on
   * ring32 the critical ones (POPF, PUSHF, SMSW), which would not trap, are translated as well.
   */
  readonly translateSensitive: boolean;
  readonly sensitiveMode: number;
  /** Share compiled blocks with every hart of the process translating the same code (translation-cache.ts; default true). */
  readonly shared: boolean;
}

export const DEFAULT_BT_OPTIONS: BtOptions = {
  chain: true,
  loops: true,
  regions: false,
  superblocks: true,
  loopTraces: true,
  exitCache: true,
  translateSensitive: false,
  sensitiveMode: 1,
  shared: true,
};

/** Standalone block runs in a page before its blocks are compiled together into a region. */
const REGION_HEAT = 50000;
/** A region is recompiled as new blocks of its page turn up, at most this many times. */
const MAX_REGION_RECOMPILES = 2;
/** Keeps region functions small enough for V8's optimising compiler. */
const MAX_REGION_INSTRUCTIONS = 256;

/** Instruction classes that cannot raise an exception: no fault-index bookkeeping needed before them. */
const CANNOT_TRAP = new Set(['alu', 'mul', 'div', 'fence']);

export class BinaryTranslationEngine<H extends EngineHart = Hart> implements Engine<H> {
  readonly name = 'bt' as const;
  private readonly env: Env;
  readonly immFns: OperandDecoder['imm'];
  readonly fields: OperandDecoder['fields'];
  /** blocks[priv][page][slot] */
  private readonly blocks: ((Block | undefined)[] | undefined)[][] = [[], [], [], []];
  /** units[priv]: page -> translation unit */
  private readonly units: Map<number, PageUnit>[] = [new Map(), new Map(), new Map(), new Map()];
  private regionsCompiled = 0;
  private regionInstructions = 0;
  private readonly options: BtOptions;
  private readonly interp: StepUntil;
  private readonly step: StepUntil;
  private translated = 0;
  /** Blocks translated per translation mode (hart.translationMode), for a hypervisor that charges kernel translation. */
  readonly translatedByMode = [0, 0, 0, 0];
  private translatedInstructions = 0;
  private sourceBytes = 0;
  private invalidations = 0;
  private chainHits = 0;
  private lookups = 0;
  private sharedHits = 0;
  /** Blocks compiled by any hart of the process in the same context (null: not sharing). */
  private readonly shared: TranslationContext | null;

  constructor(
    readonly hart: H,
    readonly isa: Isa = rv32,
    options: Partial<BtOptions> = {},
  ) {
    this.options = { ...DEFAULT_BT_OPTIONS, ...options };
    this.env = makeEnv(hart);
    ({ imm: this.immFns, fields: this.fields } = operandDecoder(isa));
    this.interp = dispatchStepper(hart, isa);
    hart.bus.onCodeChange((page) => this.dropPage(page));
    this.step = (lim) => this.stepUntil(lim);
    // Compiled code depends on these besides the ISA and a block's mode, address and words.
    const o = this.options;
    const context = [o.loops, o.superblocks, o.loopTraces, o.translateSensitive, o.sensitiveMode, hart.ramBase, hart.ramSize, hart.cost.instruction];
    this.shared = o.shared ? sharedTranslations.context(isa, JSON.stringify(context)) : null;
  }

  private dropPage(page: number): void {
    for (const units of this.units) {
      const u = units.get(page);
      if (u?.region) u.region.valid = false;
      units.delete(page);
    }
    for (const perPriv of this.blocks) {
      const slots = perPriv[page];
      if (!slots) continue;
      for (const b of slots) if (b) b.valid = false;
      perPriv[page] = undefined;
      this.invalidations++;
    }
  }

  private lookup(pc: number): Block {
    const h = this.hart;
    this.lookups++;
    const off = pc - h.ramBase;
    if (off < 0 || off >= h.ramSize) {
      h.pc = pc;
      return h.raise(1, pc);
    }
    const page = off >>> PAGE_SHIFT;
    const perPriv = this.blocks[h.translationMode];
    let slots = perPriv[page];
    if (!slots) {
      slots = perPriv[page] = new Array(1 << (PAGE_SHIFT - 2));
    }
    const slot = (off >>> 2) & ((1 << (PAGE_SHIFT - 2)) - 1);
    let b = slots[slot];
    if (!b) {
      b = slots[slot] = this.translate(pc);
      b.unit.blocks.set(pc, b);
    }
    return b;
  }

  /**
   * The JavaScript for a straight-line run of instructions. Registers are the locals r1..r31;
   * `n` is set to the pc of each instruction that may trap, and `c0`/`i0` hold the counters at the
   * start of the enclosing block, so a trap handler can restore exact state.
   */
  private genBody(ins: readonly Decoded[], used: Set<number>, written: Set<number>, trace: TraceExits | null = null): string {
    const out: string[] = [];
    const sensitive = this.options.translateSensitive && this.hart.translationMode === this.options.sensitiveMode;
    const mb = String(this.hart.ramBase);
    const ms = String(this.hart.ramSize);
    let cost = 0;
    ins.forEach((it, k) => {
      const reg = (r: number) => {
        if (r === 0) return '0';
        used.add(r);
        return `r${r}`;
      };
      const at = cost;
      const done = at + it.cost;
      // In a superblock, `n` is the instruction's index and a followed jump or branch does not end it.
      const followed = trace !== null && it.follow !== null && k < ins.length - 1;
      const sideExit = (t: string) => {
        const back =
          trace !== null && trace.loops && (it.pc + it.imm) >>> 0 === trace.start
            ? `if (c0 + ${done + trace.span} < lim) { c0 += ${done}; i0 += ${k + 1}; continue; } `
            : '';
        trace!.exits.push((it.pc + it.imm) >>> 0);
        return `{ npc = ${t}; ${back}c0 += ${done}; i0 += ${k + 1}; xit = ${trace!.exits.length - 1}; break; }`;
      };
      const g: Gen = {
        w: `(${it.w | 0})`,
        pc: `${it.pc >>> 0}`,
        get rs1() {
          return reg(it.rs1);
        },
        get rs2() {
          return reg(it.rs2);
        },
        imm: `(${it.imm})`,
        setRd: (v) => {
          if (it.rd === 0) return `(${v});`;
          used.add(it.rd);
          written.add(it.rd);
          return `r${it.rd} = ${v};`;
        },
        jumpTo: (t) => (!followed ? `npc = ${t};` : it.follow === 'jal' ? '' : sideExit(t)),
        // RAM bounds are constants here: a translation belongs to one hart's memory.
        load: (kind, addr) => emitLoad(kind, addr, `ctr[0] = c0 + ${at}, ctr[1] = i0 + ${k}`, mb, ms),
        store: (kind, addr, v) => emitStore(kind, addr, v, `ctr[0] = c0 + ${at}, ctr[1] = i0 + ${k}`, mb, ms),
        sync: () => `ctr[0] = c0 + ${at}; ctr[1] = i0 + ${k};`,
      };
      // A branch or jal to an aligned static target cannot trap: no need to record where we are.
      const staticJump = (it.d.format === 'B' || it.d.format === 'J') && ((it.pc + it.imm) & 3) === 0;
      const mark = CANNOT_TRAP.has(it.d.cls) || staticJump ? '' : `n = ${trace ? k : it.pc >>> 0}; `;
      // CSRs whose address says "user level" (the counters) do not trap: they run as they are.
      const userCsr = (it.d.format === 'CSR' || it.d.format === 'CSRI') && ((it.w >>> 28) & 3) === 0 && ((it.w >>> 20) & 0x300) === 0;
      const m = it.d.meta;
      if (sensitive && (m.privileged || m.controlSensitive || m.behaviorSensitive) && !userCsr) {
        // A sensitive instruction of the guest kernel: call the hypervisor's routine in place of the
        // trap. It works on x[], so the locals go out before and come back after.
        // The routine reads rs1 and writes rd through x[] (the only registers a privileged
        // instruction touches), so exactly those cross between locals and x[].
        const out1 = it.rs1 !== 0 ? `x[${it.rs1}] = ${reg(it.rs1)};` : '';
        let in1 = '';
        if (it.rd !== 0) {
          used.add(it.rd);
          written.add(it.rd);
          in1 = `r${it.rd} = x[${it.rd}];`;
        }
        out.push(
          `/* ${this.isa.disassemble(it.w, it.pc)}: translated to a hypervisor call */ n = ${trace ? k : it.pc >>> 0}; ${g.sync()} ` +
            `${out1} npc = h.sensitiveHook(${it.w | 0}, ${it.pc >>> 0}); c0 += h.hookCost; ${in1}`,
        );
        cost += it.cost;
        return;
      }
      out.push(`/* ${this.isa.disassemble(it.w, it.pc)} */ ${mark}${it.d.sem(g)}`);
      cost += it.cost;
    });
    return out.join('\n      ');
  }

  private translate(start: number): Block {
    const h = this.hart;
    const mode = h.translationMode;
    const shared = this.shared?.find(mode, start, h.bus.i32, h.ramBase);
    let code: SharedBlockCode;
    if (shared) {
      code = shared;
      this.sharedHits++;
    } else {
      const read: number[] = [];
      const ins = collect(this, start, this.options.superblocks, this.options.loopTraces, read);
      code = this.compileBlock(start, ins, read);
      this.shared?.add(mode, start, code);
    }
    for (const pc of code.pcs) h.bus.markCode(pc, 4);
    const fn = code.factory(this.env, {});
    // The statistics describe the simulated translator (a hypervisor charges kernel translation by
    // them), so they count every block this hart translated, shared or not.
    const length = code.pcs.length;
    this.translated++;
    this.translatedByMode[mode]++;
    this.translatedInstructions += length;
    this.sourceBytes += code.sourceBytes;
    return {
      fn,
      start,
      priv: mode,
      fall: code.fall,
      tgt: code.tgt,
      span: code.span,
      length,
      sourceBytes: code.sourceBytes,
      valid: true,
      nFall: null,
      nTgt: null,
      icPc: -1,
      nIc: null,
      side: code.exits.map(() => null),
      region: null,
      runs: 0,
      unit: this.unitOf(start),
    };
  }

  /** Generates and compiles the code of the block at `start` made of `ins`. */
  private compileBlock(start: number, ins: readonly Decoded[], read: readonly number[]): SharedBlockCode {
    const used = new Set<number>();
    const written = new Set<number>();
    const pfx = prefix(ins);
    const last = ins[ins.length - 1];
    const cost = pfx[pfx.length - 1] + last.cost;
    const span = cost - last.cost;
    const fall = (last.pc + 4) >>> 0;
    const tgt = last.d.format === 'B' || last.d.format === 'J' ? (last.pc + last.imm) >>> 0 : -1;
    const loops = this.options.loops;
    const exits = [-1];
    const body = this.genBody(ins, used, written, { start, span, loops, exits });
    const src = blockSource({ start, ins, pfx, cost, span, fall, tgt, loops, body, used, written });
    const factory = compileFactory<() => number>(src, `bt-${start.toString(16)}`);
    const words = Int32Array.from(read, (pc) => this.hart.bus.i32[(pc - this.hart.ramBase) >>> 2]);
    return { factory, pcs: ins.map((it) => it.pc), read, words, fall, tgt, span, exits, sourceBytes: src.length };
  }

  /**
   * Compiles every known block of a page into one function: a loop around a switch on the pc, with
   * the guest registers in locals across all of them. Control that stays inside the page (loops,
   * calls and returns between functions of the page) never goes back to the dispatcher.
   */
  private compileRegion(unit: PageUnit): void {
    const blocks = [...unit.blocks.values()].filter((b) => b.valid).sort((a, b) => b.runs - a.runs);
    let budget = MAX_REGION_INSTRUCTIONS;
    const chosen: Block[] = [];
    for (const b of blocks) {
      if (b.length > budget) continue;
      budget -= b.length;
      chosen.push(b);
    }
    if (chosen.length < 2) return;
    chosen.sort((a, b) => a.start - b.start);
    const used = new Set<number>();
    const written = new Set<number>();
    const pfxs: string[] = [];
    const cases: string[] = [];
    for (const b of chosen) {
      const ins = collect(this, b.start, false, false);
      const pfx = prefix(ins);
      const last = ins[ins.length - 1];
      const cost = pfx[pfx.length - 1] + last.cost;
      pfxs.push(`${b.start}: [${[...pfx, cost].join(', ')}]`);
      const system = last.d.flow === 'system';
      cases.push(`case ${(b.start - unit.base) >>> 2}: {
      if (c0 + ${cost - last.cost} >= lim) break loop;
      bs = ${b.start}; npc = ${(last.pc + 4) >>> 0};
      ${this.genBody(ins, used, written)}
      c0 += ${cost}; i0 += ${ins.length}; pc = npc;
      ${system ? 'if (h.kick) break loop; ' : ''}continue loop;
    }`);
    }
    const writeback = regList(written, (r) => `x[${r}] = r${r};`, ' ');
    const src = `const PFX = { ${pfxs.join(', ')} };
return function region_${unit.base.toString(16)}(pc) {
  ${regList(used, (r) => `r${r} = x[${r}]`, ', ', 'let ', ';')}
  let npc = 0, t = 0, a = 0, n = 0, bs = 0, c0 = ctr[0], i0 = ctr[1];
  const lim = h.limit;
  try {
    loop: for (;;) {
      switch ((pc - ${unit.base}) >> 2) {
    ${cases.join('\n    ')}
      }
      break;
    }
  } ${trapHandler(writeback)}
  ${writeback}
  ctr[0] = c0; ctr[1] = i0; h.pc = pc;
};`;
    const fn = compileFactory<(pc: number) => void>(src, `bt-region-${unit.base.toString(16)}`)(this.env, {});
    const region: Region = { fn, valid: true };
    if (unit.region) unit.region.valid = false;
    unit.region = region;
    for (const b of chosen) b.region = region;
    unit.compiles++;
    this.regionsCompiled++;
    this.regionInstructions += MAX_REGION_INSTRUCTIONS - budget;
    this.sourceBytes += src.length;
  }

  private unitOf(pc: number): PageUnit {
    const h = this.hart;
    const page = (pc - h.ramBase) >>> PAGE_SHIFT;
    const units = this.units[h.translationMode];
    let u = units.get(page);
    if (!u) {
      u = { base: (h.ramBase + page * (1 << PAGE_SHIFT)) >>> 0, blocks: new Map(), region: null, heat: 0, compiles: 0 };
      units.set(page, u);
    }
    return u;
  }

  private stepUntil(lim: number): void {
    const h = this.hart;
    const ctr = h.ctr;
    const { chain, regions, exitCache } = this.options;
    let b = this.lookup(h.pc >>> 0);
    for (;;) {
      if (ctr[0] + b.span >= lim) {
        // The block would start an instruction past the limit: finish instruction by instruction,
        // so every engine stops at exactly the same instruction.
        this.interp(lim);
        return;
      }
      const r = b.region;
      let exit = 0;
      if (r !== null && r.valid) {
        r.fn(b.start);
      } else {
        exit = b.fn();
        if (regions && ++b.runs > 0 && ++b.unit.heat > REGION_HEAT && b.unit.compiles < MAX_REGION_RECOMPILES) {
          b.unit.heat = 0;
          this.compileRegion(b.unit);
        }
      }
      if (h.kick || ctr[0] >= lim) return;
      const pc = h.pc;
      let nb = !chain ? null : exit !== 0 ? b.side[exit] : pc === b.fall ? b.nFall : pc === b.tgt ? b.nTgt : pc === b.icPc ? b.nIc : null;
      if (nb !== null && nb.valid && nb.priv === h.translationMode) {
        this.chainHits++;
      } else {
        nb = this.lookup(pc);
        if (b.valid && chain) {
          if (exit !== 0) b.side[exit] = nb;
          else if (pc === b.fall) b.nFall = nb;
          else if (pc === b.tgt) b.nTgt = nb;
          else if (exitCache) {
            b.icPc = pc;
            b.nIc = nb;
          }
        }
      }
      b = nb;
    }
  }

  run(budget: number) {
    return drive(this.hart, budget, this.step);
  }

  /** Where cached blocks start, per translation mode: what a snapshot records instead of the cache (libs/executor/src/snapshot). */
  translatedBlocks(): { mode: number; pc: number }[] {
    return this.blocks.flatMap((perPriv, mode) =>
      perPriv.flatMap((slots) => (slots ?? []).flatMap((b) => (b?.valid ? [{ mode, pc: b.start }] : []))),
    );
  }

  /** Translates those blocks again (pcs in RAM) from memory as it is now: a restore rebuilds the cache, never copies it. */
  rebuild(blocks: readonly { mode: number; pc: number }[]): void {
    const h = this.hart as unknown as { xlateKey: number }; // both harts have it; EngineHart shows only the mode it gives
    const key = h.xlateKey;
    for (const b of blocks) {
      h.xlateKey = b.mode;
      this.lookup(b.pc);
    }
    h.xlateKey = key;
  }

  flush(): void {
    for (let p = 0; p < this.hart.ramSize >>> PAGE_SHIFT; p++) this.dropPage(p);
  }

  stats() {
    return {
      blocksTranslated: this.translated,
      instructionsTranslated: this.translatedInstructions,
      sourceBytes: this.sourceBytes,
      pageInvalidations: this.invalidations,
      chainHits: this.chainHits,
      regionsCompiled: this.regionsCompiled,
      regionInstructions: this.regionInstructions,
      lookups: this.lookups,
      sharedHits: this.sharedHits,
    };
  }
}
