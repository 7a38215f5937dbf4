// The ring32 instruction table: the single truth for encodings, semantics, cost classes and
// sensitivity, in the same form as rv32's (libs/isa/src/rv32/instructions.ts). Every engine compiles
// its code from `sem`; the decoder, the disassembler, the assembler and the Popek–Goldberg analysis
// read the same entries. Encodings are in libs/isa/docs/ring32.md: the opcode is bits 7:0, rd 11:8,
// rs1 15:12, rs2 19:16, and bits an instruction does not use must be 0 (so every valid word has one
// spelling, and assemble(disassemble(w)) === w).

import { Gen, InstrDef, Sensitivity } from '../isa';
import { CostClass } from '../cost';
import { SP } from './arch';

const INNOCUOUS: Sensitivity = { privileged: false, controlSensitive: false, behaviorSensitive: false };

/** Which bits each format fixes besides the opcode (the rest are operands). */
const MASK = {
  R: 0xfff000ff, // rd rs1 rs2, bits 31:20 zero
  I: 0x000000ff, // rd rs1 imm16
  SH: 0xffe000ff, // rd rs1 shamt5, bits 31:21 zero
  U: 0x000000ff, // rd imm20
  S: 0x000000ff, // imm[3:0] rs1 rs2 imm[15:4]
  B: 0x000000ff,
  J: 0x000000ff,
  CR: 0xfff0f0ff, // rd cr (rs1 zero)
  CRW: 0xfff00fff, // cr rs1 (rd zero)
  IN: 0x0000f0ff, // rd port16 (rs1 zero)
  OUT: 0x00000fff, // rs1 port16 (rd zero)
  M: 0x00000fff, // imm16(rs1) (rd zero)
  RD: 0xfffff0ff, // rd only
  NONE: 0xffffffff,
} as const;
export type Ring32Format = keyof typeof MASK;

type Sem = (g: Gen) => string;

function def(
  name: string,
  op: number,
  format: Ring32Format,
  cls: CostClass,
  sem: Sem,
  extra: { flow?: InstrDef['flow']; meta?: Sensitivity; match?: number } = {},
): InstrDef {
  return {
    name,
    mask: MASK[format] | 0,
    match: (extra.match ?? 0) | op,
    format,
    cls,
    flow: extra.flow ?? 'seq',
    sem,
    meta: extra.meta ?? INNOCUOUS,
  };
}

const r = (name: string, op: number, cls: CostClass, f: (a: string, b: string) => string) => def(name, op, 'R', cls, (g) => g.setRd(f(g.rs1, g.rs2)));
const imm = (name: string, op: number, f: (a: string, i: string) => string) => def(name, op, 'I', 'alu', (g) => g.setRd(f(g.rs1, g.imm)));
const shiftImm = (name: string, op: number, f: (a: string, i: string) => string) => def(name, op, 'SH', 'alu', (g) => g.setRd(f(g.rs1, g.imm)));
// Branch and jump offsets are multiples of 4 and pc is aligned, so their targets cannot be misaligned.
const branch = (name: string, op: number, cond: (a: string, b: string) => string) =>
  def(name, op, 'B', 'branch', (g) => `if (${cond(g.rs1, g.rs2)}) { ${g.jumpTo(`(${g.pc} + ${g.imm}) >>> 0`)} }`, { flow: 'branch' });
const load = (name: string, op: number, kind: 'i8' | 'u8' | 'i16' | 'u16' | 'i32') =>
  def(name, op, 'I', 'load', (g) => g.setRd(g.load(kind, `(${g.rs1} + ${g.imm}) >>> 0`)));
const store = (name: string, op: number, kind: 'i8' | 'i16' | 'i32') =>
  def(name, op, 'S', 'store', (g) => g.store(kind, `(${g.rs1} + ${g.imm}) >>> 0`, g.rs2));

/** Privileged: the privilege check comes first in the hart helper, so outside ring 0 nothing happens but the trap. */
const PRIV = (note: string, behaviorSensitive = false): Sensitivity => ({ privileged: true, controlSensitive: true, behaviorSensitive, note });

/** PUSHF and POPF name the stack pointer in both register fields, so translators see what they touch. */
const STACK_FIELDS = (SP << 8) | (SP << 12);

export const RING32_INSTRUCTIONS: readonly InstrDef[] = [
  // Index 0: whatever does not decode. Its TVAL is the instruction word.
  def('illegal', 0, 'NONE', 'system', (g) => `${g.sync()} h.illegal(${g.w});`, { flow: 'system', match: 0 }),

  // Register-register ALU. JavaScript shifts use the low five bits of the count, as ring32 does.
  r('add', 0x01, 'alu', (a, b) => `(${a} + ${b}) | 0`),
  r('sub', 0x02, 'alu', (a, b) => `(${a} - ${b}) | 0`),
  r('and', 0x03, 'alu', (a, b) => `${a} & ${b}`),
  r('or', 0x04, 'alu', (a, b) => `${a} | ${b}`),
  r('xor', 0x05, 'alu', (a, b) => `${a} ^ ${b}`),
  r('shl', 0x06, 'alu', (a, b) => `${a} << ${b}`),
  r('shr', 0x07, 'alu', (a, b) => `(${a} >>> ${b}) | 0`),
  r('sar', 0x08, 'alu', (a, b) => `${a} >> ${b}`),
  r('slt', 0x09, 'alu', (a, b) => `${a} < ${b} ? 1 : 0`),
  r('sltu', 0x0a, 'alu', (a, b) => `(${a} >>> 0) < (${b} >>> 0) ? 1 : 0`),
  r('seq', 0x0b, 'alu', (a, b) => `${a} === ${b} ? 1 : 0`),
  r('mul', 0x0c, 'mul', (a, b) => `Math.imul(${a}, ${b})`),
  // Division never traps (as in RISC-V): x/0 = -1, x%0 = x; INT_MIN / -1 = INT_MIN, INT_MIN % -1 = 0.
  r('div', 0x0d, 'div', (a, b) => `${b} === 0 ? -1 : (${a} / ${b}) | 0`),
  r('divu', 0x0e, 'div', (a, b) => `${b} === 0 ? -1 : ((${a} >>> 0) / (${b} >>> 0)) | 0`),
  r('rem', 0x0f, 'div', (a, b) => `${b} === 0 ? ${a} : (${a} % ${b}) | 0`),
  r('remu', 0x10, 'div', (a, b) => `${b} === 0 ? ${a} : ((${a} >>> 0) % (${b} >>> 0)) | 0`),

  // Immediates: 16-bit, sign-extended.
  imm('addi', 0x11, (a, i) => `(${a} + ${i}) | 0`),
  imm('andi', 0x12, (a, i) => `${a} & ${i}`),
  imm('ori', 0x13, (a, i) => `${a} | ${i}`),
  imm('xori', 0x14, (a, i) => `${a} ^ ${i}`),
  imm('slti', 0x15, (a, i) => `${a} < ${i} ? 1 : 0`),
  imm('sltiu', 0x16, (a, i) => `(${a} >>> 0) < (${i} >>> 0) ? 1 : 0`),
  shiftImm('shli', 0x17, (a, i) => `${a} << ${i}`),
  shiftImm('shri', 0x18, (a, i) => `(${a} >>> ${i}) | 0`),
  shiftImm('sari', 0x19, (a, i) => `${a} >> ${i}`),
  def('lui', 0x1a, 'U', 'alu', (g) => g.setRd(g.imm)),
  def('auipc', 0x1b, 'U', 'alu', (g) => g.setRd(`(${g.pc} + ${g.imm}) | 0`)),

  load('lw', 0x20, 'i32'),
  load('lh', 0x21, 'i16'),
  load('lhu', 0x22, 'u16'),
  load('lb', 0x23, 'i8'),
  load('lbu', 0x24, 'u8'),
  store('sw', 0x28, 'i32'),
  store('sh', 0x29, 'i16'),
  store('sb', 0x2a, 'i8'),

  branch('beq', 0x30, (a, b) => `${a} === ${b}`),
  branch('bne', 0x31, (a, b) => `${a} !== ${b}`),
  branch('blt', 0x32, (a, b) => `${a} < ${b}`),
  branch('bge', 0x33, (a, b) => `${a} >= ${b}`),
  branch('bltu', 0x34, (a, b) => `(${a} >>> 0) < (${b} >>> 0)`),
  branch('bgeu', 0x35, (a, b) => `(${a} >>> 0) >= (${b} >>> 0)`),
  def('jal', 0x38, 'J', 'jump', (g) => `${g.setRd(`(${g.pc} + 4) | 0`)} ${g.jumpTo(`(${g.pc} + ${g.imm}) >>> 0`)}`, { flow: 'jump' }),
  // rs1 is read before rd is written: `jalr lr, 0(lr)` must use the old lr.
  def(
    'jalr',
    0x39,
    'I',
    'jump',
    (g) => `t = (${g.rs1} + ${g.imm}) >>> 0; if (t & 3) h.raise(0, t); ${g.setRd(`(${g.pc} + 4) | 0`)} ${g.jumpTo('t')}`,
    { flow: 'jump' },
  ),

  // Traps by design, in every ring: the kernel (or the hypervisor) always sees them.
  def('syscall', 0x40, 'NONE', 'system', (g) => `${g.sync()} h.raise(8, 0);`, {
    flow: 'system',
    meta: { ...INNOCUOUS, note: 'traps to ring 0 in every ring by design (cause 8)' },
  }),
  def('hcall', 0x41, 'NONE', 'system', (g) => `${g.sync()} h.raise(9, 0);`, {
    flow: 'system',
    meta: { ...INNOCUOUS, note: 'traps in every ring by design: to the hypervisor when there is one, else to ring 0 with cause 9' },
  }),

  // Privileged: trap with cause 3 outside ring 0.
  def('hlt', 0x48, 'NONE', 'system', (g) => `${g.sync()} h.hlt(${g.w});`, {
    flow: 'system',
    meta: PRIV('stops the processor until an interrupt (not at all if the timer is already pending); traps outside ring 0', true),
  }),
  def('iret', 0x49, 'NONE', 'system', (g) => `${g.sync()} ${g.jumpTo(`h.iret(${g.w})`)}`, {
    flow: 'system',
    meta: PRIV('returns from a trap: restores ring and IF from PRING/PIF and jumps to EPC; traps outside ring 0', true),
  }),
  def('cli', 0x4a, 'NONE', 'csr', (g) => `${g.sync()} h.setIf(${g.w}, 0);`, {
    flow: 'system',
    meta: PRIV('clears the interrupt flag; traps outside ring 0'),
  }),
  def('sti', 0x4b, 'NONE', 'csr', (g) => `${g.sync()} h.setIf(${g.w}, 1);`, {
    flow: 'system',
    meta: PRIV('sets the interrupt flag; traps outside ring 0'),
  }),
  // System/370's LPSW: the whole PSW and the pc from memory in one instruction.
  def('lpsw', 0x4c, 'M', 'system', (g) => `${g.sync()} ${g.jumpTo(`h.lpsw(${g.w}, (${g.rs1} + ${g.imm}) >>> 0)`)}`, {
    flow: 'system',
    meta: PRIV('loads PSW (ring, IF) and pc from memory, like System/370 LPSW; traps outside ring 0'),
  }),
  def('mfcr', 0x4d, 'CR', 'csr', (g) => `${g.sync()} ${g.setRd(`h.mfcr(${g.w})`)}`, {
    flow: 'system',
    meta: PRIV('reads a control register (PSW, trap state, timer, time); traps outside ring 0', true),
  }),
  def('mtcr', 0x4e, 'CRW', 'csr', (g) => `${g.sync()} h.mtcr(${g.w}, ${g.rs1});`, {
    flow: 'system',
    meta: PRIV('writes a control register (PSW, trap vector, timer compare, ...); traps outside ring 0', true),
  }),
  def('in', 0x4f, 'IN', 'system', (g) => `${g.sync()} ${g.setRd(`h.portIn(${g.w})`)}`, {
    flow: 'system',
    meta: PRIV('reads an I/O port; traps outside ring 0', true),
  }),
  def('out', 0x50, 'OUT', 'system', (g) => `${g.sync()} h.portOut(${g.w}, ${g.rs1});`, {
    flow: 'system',
    meta: PRIV('writes an I/O port (console, power-off); traps outside ring 0'),
  }),

  // Critical: sensitive, yet they never trap (IA-32's PUSHF/POPF, the 286's SMSW).
  // A helper, not an inline store: a store that hits a device or code completes and leaves the
  // block at once (RESUME), which would skip the update of sp that must follow it.
  def('pushf', 0x58, 'NONE', 'store', (g) => `${g.sync()} ${g.setRd(`h.pushf(${g.rs1})`)}`, {
    match: STACK_FIELDS,
    flow: 'system',
    meta: {
      privileged: false,
      controlSensitive: false,
      behaviorSensitive: true,
      note: 'pushes the PSW, real ring and IF included, in every ring without trapping: a deprivileged kernel sees it is not in ring 0',
    },
  }),
  def('popf', 0x59, 'NONE', 'load', (g) => `${g.sync()} h.popf(${g.load('i32', `${g.rs1} >>> 0`)}); ${g.setRd(`(${g.rs1} + 4) | 0`)}`, {
    match: STACK_FIELDS,
    flow: 'system',
    meta: {
      privileged: false,
      controlSensitive: true,
      behaviorSensitive: true,
      note: 'pops the PSW: in ring 0 it sets IF, outside ring 0 it silently leaves IF and the ring alone instead of trapping',
    },
  }),
  def('smsw', 0x5a, 'RD', 'alu', (g) => g.setRd('h.psw'), {
    meta: {
      privileged: false,
      controlSensitive: false,
      behaviorSensitive: true,
      note: 'reads the PSW, real ring included, in every ring without trapping',
    },
  }),
];

/** Immediates by format, as JavaScript over the int32 instruction word `w`. */
export const RING32_IMM_EXPR: Readonly<Record<Ring32Format, string>> = {
  R: '0',
  I: '(w >> 16)',
  SH: '((w >>> 16) & 31)',
  U: '(w & -4096)',
  S: '(((w >> 20) << 4) | ((w >>> 8) & 15))',
  B: '((((w >> 20) << 4) | ((w >>> 8) & 15)) << 2)',
  J: '((w >> 12) << 2)',
  CR: '((w >>> 16) & 15)',
  CRW: '((w >>> 16) & 15)',
  IN: '(w >>> 16)',
  OUT: '(w >>> 16)',
  M: '(w >> 16)',
  RD: '0',
  NONE: '0',
};

export const RING32_FIELD_EXPR = {
  rd: '((w >>> 8) & 15)',
  rs1: '((w >>> 12) & 15)',
  rs2: '((w >>> 16) & 15)',
} as const;
