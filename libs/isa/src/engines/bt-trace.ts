// What the binary translator translates: the guest instructions of a block or superblock, decoded
// once, in the order a path through them runs (see collect), and helpers for the code around them.

import { InstrDef, Isa } from '../isa';
import { PAGE_SHIFT } from '../memory/bus';
import { OperandDecoder } from './common';
import { EngineHart } from './engine';

/** Conditional branches a superblock goes past: each side exit taken wastes the block's register loads. */
export const MAX_SIDE_EXITS = 4;

/** Longest block translated: long enough to amortise entry, short enough to stop near a budget. */
export const MAX_BLOCK_INSTRUCTIONS = 64;

export interface Decoded {
  readonly pc: number;
  readonly w: number;
  readonly d: InstrDef;
  readonly imm: number;
  readonly rd: number;
  readonly rs1: number;
  readonly rs2: number;
  readonly cost: number;
  /** In a superblock: the next instruction collected is this jal's target, or this branch's fall-through. */
  readonly follow: 'jal' | 'branch' | null;
}

/** What genBody needs to know to emit a superblock's side exits (absent for region code). */
export interface TraceExits {
  readonly start: number;
  /** Cycles before the last instruction of the block starts (see Block.span). */
  readonly span: number;
  readonly loops: boolean;
  /** Target of each side exit, by number (filled by genBody; index 0 unused). */
  readonly exits: number[];
}

/** The hart whose RAM holds the code, and the ISA's decoders. */
export interface CodeSource {
  readonly hart: EngineHart;
  readonly isa: Isa;
  readonly immFns: OperandDecoder['imm'];
  readonly fields: OperandDecoder['fields'];
}

/**
 * Collects the block at pc: up to a control transfer, the page end, or MAX_BLOCK_INSTRUCTIONS.
 * With `follow` it collects a superblock: it goes on at the target of a `jal` and past a forward
 * branch (or one back to the block's start), as long as the path stays in the page (so that
 * invalidating the page invalidates the block) and does not come back to an instruction it holds.
 * `read` receives the address of every word it read, which may go past the block it returns: those
 * words decide the block (a shared translation is checked against them, translation-cache.ts).
 */
export function collect(src: CodeSource, start: number, follow: boolean, loopTraces: boolean, read: number[] = []): Decoded[] {
  let branches = loopTraces ? 0 : MAX_SIDE_EXITS;
  const h = src.hart;
  const out: Decoded[] = [];
  const seen = new Set<number>();
  const page = (start - h.ramBase) >>> PAGE_SHIFT;
  const inPage = (a: number) => (a & 3) === 0 && a - h.ramBase >= 0 && a - h.ramBase < h.ramSize && (a - h.ramBase) >>> PAGE_SHIFT === page;
  for (let pc = start; out.length < MAX_BLOCK_INSTRUCTIONS;) {
    if (!inPage(pc) || seen.has(pc)) break;
    seen.add(pc);
    read.push(pc);
    const w = h.bus.i32[(pc - h.ramBase) >>> 2];
    const i = src.isa.decode(w);
    const d = src.isa.instructions[i];
    const f = src.fields(w);
    const imm = src.immFns[i](w);
    const t = (pc + imm) >>> 0;
    let next = (pc + 4) >>> 0;
    let how: Decoded['follow'] = null;
    if (d.flow !== 'seq') {
      if (follow && d.flow === 'jump' && d.format === 'J' && inPage(t)) {
        how = 'jal';
        next = t;
      } else if (follow && d.flow === 'branch' && d.format === 'B' && inPage(t) && (t > pc || t === start) && ++branches <= MAX_SIDE_EXITS)
        how = 'branch';
    }
    out.push({ pc, w, d, imm, rd: f.rd, rs1: f.rs1, rs2: f.rs2, cost: h.cost.instruction[d.cls], follow: how });
    if (d.flow !== 'seq' && how === null) break;
    pc = next;
  }
  // Past a conditional branch only on a path that loops back to the start (a loop body with an
  // `if` inside): elsewhere a side exit taken often costs more than the dispatch it saves.
  const loopsBack = out.some((it) => it.d.flow !== 'seq' && (it.pc + it.imm) >>> 0 === start && (it.d.format === 'B' || it.d.format === 'J'));
  const firstBranch = out.findIndex((it) => it.follow === 'branch');
  if (!loopsBack && firstBranch >= 0) return [...out.slice(0, firstBranch), { ...out[firstBranch], follow: null }];
  return out;
}

export function regList(regs: Set<number>, f: (r: number) => string, sep: string, pre = '', post = ''): string {
  if (regs.size === 0) return '';
  return (
    pre +
    [...regs]
      .sort((a, b) => a - b)
      .map(f)
      .join(sep) +
    post
  );
}

/** Cycles before each instruction of a block, for restoring counters on a trap. */
export function prefix(ins: readonly Decoded[]): number[] {
  const pfx: number[] = [];
  let c = 0;
  for (const it of ins) {
    pfx.push(c);
    c += it.cost;
  }
  return pfx;
}

/** The catch clause shared by blocks and regions: write back, then set pc and counters exactly. */
export function trapHandler(writeback: string): string {
  return `catch (e) {
  ${writeback}
  const k = (n - bs) >>> 2, p = PFX[bs];
  ctr[0] = c0 + p[k]; ctr[1] = i0 + k;
  if (e === RESUME) { h.pc = (n + 4) >>> 0; ctr[0] += p[k + 1] - p[k]; ctr[1]++; } else h.pc = n;
  throw e;
}`;
}

/** What blockSource wraps around a translated block's body (computed by the translator). */
export interface BlockParts {
  readonly start: number;
  readonly ins: readonly Decoded[];
  /** Cycles before each instruction (prefix), the block's total, and before its last instruction. */
  readonly pfx: readonly number[];
  readonly cost: number;
  readonly span: number;
  readonly fall: number;
  readonly tgt: number;
  readonly loops: boolean;
  readonly body: string;
  readonly used: Set<number>;
  readonly written: Set<number>;
}

/** The source of a block's factory: register loads, the body in a loop, exact state on a trap. */
export function blockSource(p: BlockParts): string {
  const { start, ins, pfx, cost, span, fall, tgt, loops, body, used, written } = p;
  const writeback = regList(written, (r) => `x[${r}] = r${r};`, ' ');
  // `n` is the index of the instruction that may trap: a superblock's addresses are not contiguous.
  return `const PFX = [${[...pfx, cost].join(', ')}], PCS = [${ins.map((it) => it.pc >>> 0).join(', ')}];
return function block_${start.toString(16)}() {
  ${regList(used, (r) => `r${r} = x[${r}]`, ', ', 'let ', ';')}
  let npc = 0, t = 0, a = 0, n = 0, xit = 0, c0 = ctr[0], i0 = ctr[1];
  const lim = h.limit;
  try {
    for (;;) {
      npc = ${fall};
      ${body}
      ${loops && tgt === start ? `if (npc === ${start} && c0 + ${cost + span} < lim) { c0 += ${cost}; i0 += ${ins.length}; continue; }` : ''}
      c0 += ${cost}; i0 += ${ins.length};
      break;
    }
  } catch (e) {
    ${writeback}
    ctr[0] = c0 + PFX[n]; ctr[1] = i0 + n;
    if (e === RESUME) { h.pc = (PCS[n] + 4) >>> 0; ctr[0] += PFX[n + 1] - PFX[n]; ctr[1]++; } else h.pc = PCS[n];
    throw e;
  }
  ${writeback}
  ctr[0] = c0; ctr[1] = i0; h.pc = npc;
  return xit;
};`;
}
