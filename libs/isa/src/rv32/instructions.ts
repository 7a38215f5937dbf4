// The RV32IMA + Zicsr + privileged instruction table: the single truth for encodings, semantics,
// cost classes and sensitivity. Every engine compiles its code from `sem`; the decoder, the
// disassembler and the Popek–Goldberg analysis read the same entries.

import { Gen, InstrDef, Sensitivity } from '../isa';
import { CostClass } from '../cost';

const INNOCUOUS: Sensitivity = { privileged: false, controlSensitive: false, behaviorSensitive: false };

const MASK_R = 0xfe00707f | 0;
const MASK_I = 0x0000707f;
const MASK_U = 0x0000007f;

type Sem = (g: Gen) => string;

function def(
  name: string,
  mask: number,
  match: number,
  format: string,
  cls: CostClass,
  sem: Sem,
  extra: { flow?: InstrDef['flow']; meta?: Sensitivity } = {},
): InstrDef {
  return { name, mask: mask | 0, match: match | 0, format, cls, flow: extra.flow ?? 'seq', sem, meta: extra.meta ?? INNOCUOUS };
}

const r = (name: string, f7: number, f3: number, cls: CostClass, op: (a: string, b: string) => string) =>
  def(name, MASK_R, (f7 << 25) | (f3 << 12) | 0x33, 'R', cls, (g) => g.setRd(op(g.rs1, g.rs2)));
const opImm = (name: string, f3: number, op: (a: string, i: string) => string) =>
  def(name, MASK_I, (f3 << 12) | 0x13, 'I', 'alu', (g) => g.setRd(op(g.rs1, g.imm)));
const shiftImm = (name: string, f7: number, f3: number, op: (a: string, i: string) => string) =>
  def(name, MASK_R, (f7 << 25) | (f3 << 12) | 0x13, 'SH', 'alu', (g) => g.setRd(op(g.rs1, g.imm)));
const branch = (name: string, f3: number, cond: (a: string, b: string) => string) =>
  def(
    name,
    MASK_I,
    (f3 << 12) | 0x63,
    'B',
    'branch',
    (g) => `if (${cond(g.rs1, g.rs2)}) { t = (${g.pc} + ${g.imm}) >>> 0; if (t & 3) h.raise(0, t); ${g.jumpTo('t')} }`,
    { flow: 'branch' },
  );
const load = (name: string, f3: number, kind: 'i8' | 'u8' | 'i16' | 'u16' | 'i32') =>
  def(name, MASK_I, (f3 << 12) | 0x03, 'I', 'load', (g) => g.setRd(g.load(kind, `(${g.rs1} + ${g.imm}) >>> 0`)));
const store = (name: string, f3: number, kind: 'i8' | 'i16' | 'i32') =>
  def(name, MASK_I, (f3 << 12) | 0x23, 'S', 'store', (g) => g.store(kind, `(${g.rs1} + ${g.imm}) >>> 0`, g.rs2));

const CSR_META: Sensitivity = {
  privileged: true,
  controlSensitive: true,
  behaviorSensitive: true,
  note: 'every CSR names its lowest privilege in bits 9:8 and traps below it; the user counters (cycle, time, instret) trap unless mcounteren/scounteren allow them',
};
const csr = (name: string, f3: number) =>
  def(name, MASK_I, (f3 << 12) | 0x73, f3 & 4 ? 'CSRI' : 'CSR', 'csr', (g) => `${g.sync()} ${g.setRd(`h.csr(${g.w}, ${f3 & 4 ? '0' : g.rs1})`)}`, {
    flow: 'system',
    meta: CSR_META,
  });

const AMO_MASK = 0xf800707f | 0;
// AMOs end a translated block ('system' flow): their store may hit translated code or a device,
// and rd must still be written, so they ask for a re-service (kick) rather than leaving mid-way.
const amo = (name: string, f5: number) =>
  def(name, AMO_MASK, (f5 << 27) | (2 << 12) | 0x2f, 'AMO', 'amo', (g) => `${g.sync()} ${g.setRd(`h.amo(${f5}, ${g.rs1}, ${g.rs2})`)}`, {
    flow: 'system',
  });

export const RV32_INSTRUCTIONS: readonly InstrDef[] = [
  // Index 0: whatever does not decode. Its tval is the instruction word, as the spec recommends.
  def('illegal', 0, 0, 'NONE', 'system', (g) => `${g.sync()} h.illegal(${g.w});`, { flow: 'system' }),

  // RV32I: upper immediates and jumps
  def('lui', MASK_U, 0x37, 'U', 'alu', (g) => g.setRd(g.imm)),
  def('auipc', MASK_U, 0x17, 'U', 'alu', (g) => g.setRd(`(${g.pc} + ${g.imm}) | 0`)),
  def(
    'jal',
    MASK_U,
    0x6f,
    'J',
    'jump',
    (g) => `t = (${g.pc} + ${g.imm}) >>> 0; if (t & 3) h.raise(0, t); ${g.setRd(`(${g.pc} + 4) | 0`)} ${g.jumpTo('t')}`,
    { flow: 'jump' },
  ),
  // rs1 is read before rd is written: `jalr ra, 0(ra)` must use the old ra.
  def(
    'jalr',
    MASK_I,
    0x67,
    'I',
    'jump',
    (g) => `t = ((${g.rs1} + ${g.imm}) & -2) >>> 0; if (t & 3) h.raise(0, t); ${g.setRd(`(${g.pc} + 4) | 0`)} ${g.jumpTo('t')}`,
    { flow: 'jump' },
  ),

  branch('beq', 0, (a, b) => `${a} === ${b}`),
  branch('bne', 1, (a, b) => `${a} !== ${b}`),
  branch('blt', 4, (a, b) => `${a} < ${b}`),
  branch('bge', 5, (a, b) => `${a} >= ${b}`),
  branch('bltu', 6, (a, b) => `(${a} >>> 0) < (${b} >>> 0)`),
  branch('bgeu', 7, (a, b) => `(${a} >>> 0) >= (${b} >>> 0)`),

  load('lb', 0, 'i8'),
  load('lh', 1, 'i16'),
  load('lw', 2, 'i32'),
  load('lbu', 4, 'u8'),
  load('lhu', 5, 'u16'),
  store('sb', 0, 'i8'),
  store('sh', 1, 'i16'),
  store('sw', 2, 'i32'),

  opImm('addi', 0, (a, i) => `(${a} + ${i}) | 0`),
  opImm('slti', 2, (a, i) => `${a} < ${i} ? 1 : 0`),
  opImm('sltiu', 3, (a, i) => `(${a} >>> 0) < (${i} >>> 0) ? 1 : 0`),
  opImm('xori', 4, (a, i) => `${a} ^ ${i}`),
  opImm('ori', 6, (a, i) => `${a} | ${i}`),
  opImm('andi', 7, (a, i) => `${a} & ${i}`),
  shiftImm('slli', 0x00, 1, (a, i) => `${a} << ${i}`),
  shiftImm('srli', 0x00, 5, (a, i) => `(${a} >>> ${i}) | 0`),
  shiftImm('srai', 0x20, 5, (a, i) => `${a} >> ${i}`),

  // JavaScript shifts use the low five bits of the count, exactly as RV32 does.
  r('add', 0x00, 0, 'alu', (a, b) => `(${a} + ${b}) | 0`),
  r('sub', 0x20, 0, 'alu', (a, b) => `(${a} - ${b}) | 0`),
  r('sll', 0x00, 1, 'alu', (a, b) => `${a} << ${b}`),
  r('slt', 0x00, 2, 'alu', (a, b) => `${a} < ${b} ? 1 : 0`),
  r('sltu', 0x00, 3, 'alu', (a, b) => `(${a} >>> 0) < (${b} >>> 0) ? 1 : 0`),
  r('xor', 0x00, 4, 'alu', (a, b) => `${a} ^ ${b}`),
  r('srl', 0x00, 5, 'alu', (a, b) => `(${a} >>> ${b}) | 0`),
  r('sra', 0x20, 5, 'alu', (a, b) => `${a} >> ${b}`),
  r('or', 0x00, 6, 'alu', (a, b) => `${a} | ${b}`),
  r('and', 0x00, 7, 'alu', (a, b) => `${a} & ${b}`),

  // RV32M. Division by zero and INT_MIN / -1 do not trap (spec Table 7.1): x/0 = -1, x%0 = x;
  // JavaScript's (INT_MIN / -1) | 0 and (INT_MIN % -1) | 0 already give INT_MIN and 0.
  r('mul', 0x01, 0, 'mul', (a, b) => `Math.imul(${a}, ${b})`),
  r('mulh', 0x01, 1, 'mul', (a, b) => `mulh(${a}, ${b})`),
  r('mulhsu', 0x01, 2, 'mul', (a, b) => `mulhsu(${a}, ${b})`),
  r('mulhu', 0x01, 3, 'mul', (a, b) => `mulhu(${a}, ${b})`),
  r('div', 0x01, 4, 'div', (a, b) => `${b} === 0 ? -1 : (${a} / ${b}) | 0`),
  r('divu', 0x01, 5, 'div', (a, b) => `${b} === 0 ? -1 : ((${a} >>> 0) / (${b} >>> 0)) | 0`),
  r('rem', 0x01, 6, 'div', (a, b) => `${b} === 0 ? ${a} : (${a} % ${b}) | 0`),
  r('remu', 0x01, 7, 'div', (a, b) => `${b} === 0 ? ${a} : ((${a} >>> 0) % (${b} >>> 0)) | 0`),

  // RV32A
  def('lr.w', 0xf9f0707f, (0x02 << 27) | (2 << 12) | 0x2f, 'LR', 'amo', (g) => `${g.sync()} ${g.setRd(`h.lr(${g.rs1})`)}`, { flow: 'system' }),
  def('sc.w', AMO_MASK, (0x03 << 27) | (2 << 12) | 0x2f, 'AMO', 'amo', (g) => `${g.sync()} ${g.setRd(`h.sc(${g.rs1}, ${g.rs2})`)}`, {
    flow: 'system',
  }),
  amo('amoswap.w', 0x01),
  amo('amoadd.w', 0x00),
  amo('amoxor.w', 0x04),
  amo('amoand.w', 0x0c),
  amo('amoor.w', 0x08),
  amo('amomin.w', 0x10),
  amo('amomax.w', 0x14),
  amo('amominu.w', 0x18),
  amo('amomaxu.w', 0x1c),

  // Fences: memory is sequentially consistent here, so fence is a no-op; fence.i drops decoded code.
  def('fence', MASK_I, 0x0f, 'FENCE', 'fence', () => ''),
  def('fence.i', MASK_I, 0x100f, 'NONE', 'fence', (g) => `${g.sync()} h.fenceI();`, { flow: 'system' }),

  // System
  def('ecall', -1, 0x00000073, 'NONE', 'system', (g) => `${g.sync()} h.ecall();`, {
    flow: 'system',
    meta: { ...INNOCUOUS, note: 'traps in every mode by design: the hypervisor always sees it' },
  }),
  def('ebreak', -1, 0x00100073, 'NONE', 'system', (g) => `${g.sync()} h.ebreak(${g.pc});`, {
    flow: 'system',
    meta: { ...INNOCUOUS, note: 'traps in every mode by design' },
  }),
  def('sret', -1, 0x10200073, 'NONE', 'system', (g) => `${g.sync()} ${g.jumpTo(`h.sret(${g.w})`)}`, {
    flow: 'system',
    meta: { privileged: true, controlSensitive: true, behaviorSensitive: true, note: 'changes mode and interrupt enable; traps in U-mode' },
  }),
  def('mret', -1, 0x30200073, 'NONE', 'system', (g) => `${g.sync()} ${g.jumpTo(`h.mret(${g.w})`)}`, {
    flow: 'system',
    meta: { privileged: true, controlSensitive: true, behaviorSensitive: true, note: 'changes mode and interrupt enable; traps below M-mode' },
  }),
  def('wfi', -1, 0x10500073, 'NONE', 'system', (g) => `${g.sync()} h.wfi(${g.w});`, {
    flow: 'system',
    meta: {
      privileged: true,
      controlSensitive: true,
      behaviorSensitive: false,
      note: 'stops the hart until an interrupt; traps in U-mode (and in S-mode with mstatus.TW)',
    },
  }),
  def('sfence.vma', 0xfe007fff, 0x12000073, 'SFENCE', 'system', (g) => `${g.sync()} h.sfenceVma(${g.w});`, {
    flow: 'system',
    meta: {
      privileged: true,
      controlSensitive: true,
      behaviorSensitive: false,
      note: 'flushes address translation; traps in U-mode (and in S-mode with mstatus.TVM)',
    },
  }),
  csr('csrrw', 1),
  csr('csrrs', 2),
  csr('csrrc', 3),
  csr('csrrwi', 5),
  csr('csrrsi', 6),
  csr('csrrci', 7),
];

/** Immediates by format, as JavaScript over the int32 instruction word `w`. */
export const RV32_IMM_EXPR: Readonly<Record<string, string>> = {
  I: '(w >> 20)',
  S: '(((w >> 25) << 5) | ((w >>> 7) & 31))',
  B: '(((w >> 31) << 12) | (((w >>> 7) & 1) << 11) | (((w >>> 25) & 63) << 5) | (((w >>> 8) & 15) << 1))',
  U: '(w & -4096)',
  J: '(((w >> 31) << 20) | (((w >>> 12) & 255) << 12) | (((w >>> 20) & 1) << 11) | (((w >>> 21) & 1023) << 1))',
  SH: '((w >>> 20) & 31)',
  R: '0',
  AMO: '0',
  LR: '0',
  CSR: '(w >>> 20)',
  CSRI: '(w >>> 20)',
  FENCE: '0',
  SFENCE: '0',
  NONE: '0',
};

export const RV32_FIELD_EXPR = {
  rd: '((w >>> 7) & 31)',
  rs1: '((w >>> 15) & 31)',
  rs2: '((w >>> 20) & 31)',
} as const;
