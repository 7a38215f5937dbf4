// The ring32 assembler: two passes over a line-oriented source, driven by the instruction table
// (mnemonics, formats and encodings all come from RING32_INSTRUCTIONS, so a new table entry is
// assemblable at once). Pass 1 sizes every statement and defines labels; pass 2 encodes. Every
// error names line:column and the offending token. The syntax is in libs/isa/docs/ring32.md.

import { InstrDef } from '../isa';
import { CR_NAMES, LR, SP } from './arch';
import { RING32_INSTRUCTIONS, Ring32Format } from './instructions';

export interface AssembleOptions {
  /** Address of the first byte (default 0, where the standard ring32 machine's RAM and reset pc are). */
  readonly origin?: number;
}

export interface AssembledImage {
  /** Load address of `bytes[0]`. */
  readonly origin: number;
  /** The flat image: every byte from origin to the highest address written (gaps are 0). */
  readonly bytes: Uint8Array;
  /** Labels and .equ constants. */
  readonly symbols: ReadonlyMap<string, number>;
  /** `_start` if defined, else origin. */
  readonly entry: number;
}

export class AsmError extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    readonly token: string,
    readonly reason: string,
  ) {
    super(`${line}:${column}: ${reason}${token ? ` (at '${token}')` : ''}`);
    this.name = 'AsmError';
  }
}

// ------------------------------------------------------------------ lexer

type TokKind = 'id' | 'num' | 'str' | 'punct';
interface Tok {
  readonly kind: TokKind;
  readonly text: string;
  /** Numbers: their value; strings: their bytes. */
  readonly value?: number;
  readonly bytes?: readonly number[];
  readonly col: number;
}

const PUNCT2 = ['<<', '>>'];
const PUNCT1 = ',():+-*/%&|^~';

const ESCAPES: Record<string, number> = { n: 10, t: 9, r: 13, '0': 0, '\\': 92, "'": 39, '"': 34 };

function lex(src: string, line: number): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const err = (col: number, tok: string, why: string): never => {
    throw new AsmError(line, col + 1, tok, why);
  };
  /** Reads one (possibly escaped) character of a quoted literal at i. */
  const readChar = (quote: string): number => {
    const c = src[i];
    if (c === '\\') {
      const e = src[i + 1];
      if (e === undefined || !(e in ESCAPES)) err(i, src.slice(i, i + 2), 'unknown escape (use \\n \\t \\r \\0 \\\\ \\\' \\")');
      i += 2;
      return ESCAPES[e];
    }
    const code = src.charCodeAt(i);
    if (code > 0x7e || code < 0x20) err(i, c, `only printable ASCII inside ${quote === '"' ? 'strings' : 'character literals'}`);
    i++;
    return code;
  };
  while (i < src.length) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === ';' || c === '#' || (c === '/' && src[i + 1] === '/')) break; // comment to end of line
    const start = i;
    // `%` starts a word only as the %hi/%lo operators; anywhere else it is the modulo operator.
    const reloc = /^%(hi|lo)(?![A-Za-z0-9_.$])/i.test(src.slice(i, i + 4));
    if (/[A-Za-z_.$]/.test(c) || reloc) {
      i++;
      while (i < src.length && /[A-Za-z0-9_.$]/.test(src[i])) i++;
      toks.push({ kind: 'id', text: src.slice(start, i), col: start });
    } else if (/[0-9]/.test(c)) {
      while (i < src.length && /[A-Za-z0-9_]/.test(src[i])) i++;
      const text = src.slice(start, i);
      const digits = text.replace(/_/g, '');
      const v = /^0x[0-9a-f]+$/i.test(digits)
        ? parseInt(digits.slice(2), 16)
        : /^0b[01]+$/i.test(digits)
          ? parseInt(digits.slice(2), 2)
          : /^[0-9]+$/.test(digits)
            ? parseInt(digits, 10)
            : NaN;
      if (Number.isNaN(v)) err(start, text, 'not a number (decimal, 0x hex or 0b binary)');
      if (v > 0xffffffff) err(start, text, 'number does not fit in 32 bits');
      toks.push({ kind: 'num', text, value: v, col: start });
    } else if (c === "'") {
      i++;
      if (src[i] === "'" || i >= src.length) err(start, src.slice(start, i + 1), 'empty character literal');
      const v = readChar("'");
      if (src[i] !== "'") err(start, src.slice(start, i + 1), "character literal not closed with '");
      i++;
      toks.push({ kind: 'num', text: src.slice(start, i), value: v, col: start });
    } else if (c === '"') {
      i++;
      const bytes: number[] = [];
      while (i < src.length && src[i] !== '"') bytes.push(readChar('"'));
      if (src[i] !== '"') err(start, src.slice(start), 'string not closed with "');
      i++;
      toks.push({ kind: 'str', text: src.slice(start, i), bytes, col: start });
    } else if (PUNCT2.includes(src.slice(i, i + 2))) {
      toks.push({ kind: 'punct', text: src.slice(i, i + 2), col: start });
      i += 2;
    } else if (PUNCT1.includes(c)) {
      toks.push({ kind: 'punct', text: c, col: start });
      i++;
    } else {
      err(start, c, 'unexpected character');
    }
  }
  return toks;
}

// ------------------------------------------------------------------ registers and expressions

const REGISTERS = new Map<string, number>([
  ...Array.from({ length: 16 }, (_, i) => [`r${i}`, i] as [string, number]),
  ['sp', SP],
  ['lr', LR],
  ['zero', 0],
]);
const CONTROL_REGS = new Map<string, number>([
  ...CR_NAMES.map((n, i) => [n, i] as [string, number]),
  ...Array.from({ length: 16 }, (_, i) => [`cr${i}`, i] as [string, number]),
]);

/** The value of an expression, or undefined when it names a symbol not defined yet (pass 1). */
type Value = number | undefined;

class Ctx {
  constructor(
    readonly line: number,
    readonly symbols: Map<string, number>,
    readonly here: number,
    readonly final: boolean,
  ) {}
  err(t: Tok | undefined, why: string): never {
    throw new AsmError(this.line, (t?.col ?? 0) + 1, t?.text ?? '', why);
  }
}

/** Recursive-descent expression parser over toks[from..to). */
class ExprParser {
  private i: number;
  constructor(
    private readonly toks: readonly Tok[],
    from: number,
    private readonly to: number,
    private readonly ctx: Ctx,
  ) {
    this.i = from;
  }

  parseAll(): Value {
    if (this.i >= this.to) this.ctx.err(this.toks[this.i - 1] ?? this.toks[0], 'expected an expression');
    const v = this.binary(0);
    if (this.i < this.to) this.ctx.err(this.toks[this.i], 'unexpected token in expression');
    return v;
  }

  private static readonly LEVELS: readonly (readonly string[])[] = [['|'], ['^'], ['&'], ['<<', '>>'], ['+', '-'], ['*', '/', '%']];

  private binary(level: number): Value {
    if (level === ExprParser.LEVELS.length) return this.unary();
    let v = this.binary(level + 1);
    for (;;) {
      const t = this.toks[this.i];
      if (this.i >= this.to || t.kind !== 'punct' || !ExprParser.LEVELS[level].includes(t.text)) return v;
      this.i++;
      const rhs = this.binary(level + 1);
      if (v === undefined || rhs === undefined) {
        v = undefined;
        continue;
      }
      switch (t.text) {
        case '|':
          v = v | rhs;
          break;
        case '^':
          v = v ^ rhs;
          break;
        case '&':
          v = v & rhs;
          break;
        case '<<':
          v = v << rhs;
          break;
        case '>>':
          v = v >> rhs;
          break;
        case '+':
          v = (v + rhs) | 0;
          break;
        case '-':
          v = (v - rhs) | 0;
          break;
        case '*':
          v = Math.imul(v, rhs);
          break;
        case '/':
        case '%':
          if (rhs === 0) this.ctx.err(t, 'division by zero');
          v = t.text === '/' ? (v / rhs) | 0 : (v % rhs) | 0;
          break;
      }
    }
  }

  private unary(): Value {
    const t = this.toks[this.i];
    if (this.i >= this.to) this.ctx.err(this.toks[this.i - 1], 'expression ends too early');
    if (t.kind === 'punct' && (t.text === '-' || t.text === '~' || t.text === '+')) {
      this.i++;
      const v = this.unary();
      if (v === undefined) return undefined;
      return t.text === '-' ? -v | 0 : t.text === '~' ? ~v : v;
    }
    return this.primary();
  }

  private primary(): Value {
    const t = this.toks[this.i++];
    if (t.kind === 'num') return t.value! | 0;
    if (t.kind === 'punct' && t.text === '(') {
      const v = this.binary(0);
      this.expect(')', t);
      return v;
    }
    if (t.kind === 'id') {
      if (t.text.toLowerCase() === '%hi' || t.text.toLowerCase() === '%lo') {
        this.expect('(', t);
        const v = this.binary(0);
        this.expect(')', t);
        if (v === undefined) return undefined;
        // lui loads bits 31:12; the 12-bit low part is sign-extended by addi/loads, hence the rounding.
        return t.text.toLowerCase() === '%hi' ? ((v + 0x800) >>> 12) & 0xfffff : (v << 20) >> 20;
      }
      if (t.text === '.') return this.ctx.here | 0;
      if (REGISTERS.has(t.text.toLowerCase())) this.ctx.err(t, 'a register is not allowed in an expression');
      if (!/^[A-Za-z_.$][A-Za-z0-9_.$]*$/.test(t.text)) this.ctx.err(t, 'not a symbol');
      const v = this.ctx.symbols.get(t.text);
      if (v === undefined && this.ctx.final) this.ctx.err(t, 'undefined symbol');
      return v === undefined ? undefined : v | 0;
    }
    return this.ctx.err(t, 'expected a number, a symbol or (');
  }

  private expect(p: string, opener: Tok): void {
    const t = this.toks[this.i];
    if (this.i >= this.to || t.text !== p) this.ctx.err(t ?? opener, `expected '${p}'`);
    this.i++;
  }
}

// ------------------------------------------------------------------ statements

/** One operand: its tokens (a top-level comma-separated slice). */
interface Operand {
  readonly toks: readonly Tok[];
  /** Column of its first token, for errors. */
  readonly first: Tok;
}

function splitOperands(toks: readonly Tok[], from: number, ctx: Ctx): Operand[] {
  const ops: Operand[] = [];
  let depth = 0;
  let cur: Tok[] = [];
  for (let i = from; i < toks.length; i++) {
    const t = toks[i];
    if (t.kind === 'punct' && t.text === '(') depth++;
    if (t.kind === 'punct' && t.text === ')') depth--;
    if (t.kind === 'punct' && t.text === ',' && depth === 0) {
      if (cur.length === 0) ctx.err(t, 'empty operand');
      ops.push({ toks: cur, first: cur[0] });
      cur = [];
      continue;
    }
    cur.push(t);
  }
  if (cur.length) ops.push({ toks: cur, first: cur[0] });
  else if (ops.length) ctx.err(toks[toks.length - 1], 'empty operand after the last comma');
  return ops;
}

const BY_NAME = new Map<string, { index: number; def: InstrDef }>(
  RING32_INSTRUCTIONS.map((def, index) => [def.name, { index, def }] as const).slice(1),
);

/** Pseudo-instructions: one word each, except li (one or two, decided in pass 1) and la (always two). */
const PSEUDO = new Set(['nop', 'li', 'la', 'mv', 'j', 'jr', 'ret', 'call', 'beqz', 'bnez']);

const DIRECTIVES = new Set(['.org', '.word', '.half', '.byte', '.ascii', '.asciz', '.align', '.equ', '.set', '.space', '.global', '.globl']);

interface Stmt {
  readonly line: number;
  readonly toks: readonly Tok[];
  /** Index of the mnemonic/directive token. */
  readonly at: number;
  readonly addr: number;
  readonly size: number;
}

const fitsSigned = (v: number, bits: number) => v >= -(2 ** (bits - 1)) && v < 2 ** (bits - 1);

class Encoder {
  constructor(
    private readonly ctx: Ctx,
    private readonly mn: Tok,
    private readonly ops: readonly Operand[],
  ) {}

  count(n: number): void {
    if (this.ops.length !== n) {
      const at = this.ops[n]?.first ?? this.mn;
      this.ctx.err(at, `'${this.mn.text}' takes ${n} operand${n === 1 ? '' : 's'}, got ${this.ops.length}`);
    }
  }

  reg(k: number): number {
    const o = this.ops[k];
    const r = o.toks.length === 1 && o.toks[0].kind === 'id' ? REGISTERS.get(o.toks[0].text.toLowerCase()) : undefined;
    if (r === undefined) this.ctx.err(o.first, 'expected a register (r0..r15, sp, lr, zero)');
    return r;
  }

  cr(k: number): number {
    const o = this.ops[k];
    const r = o.toks.length === 1 && o.toks[0].kind === 'id' ? CONTROL_REGS.get(o.toks[0].text.toLowerCase()) : undefined;
    if (r === undefined) this.ctx.err(o.first, `expected a control register (${CR_NAMES.join(', ')}, cr0..cr15)`);
    return r;
  }

  value(k: number, toks = this.ops[k].toks): number {
    const v = new ExprParser(toks, 0, toks.length, this.ctx).parseAll();
    return v ?? 0; // undefined only in pass 1, where values do not matter
  }

  /** A value that must fit: signed `bits` (or unsigned if `unsigned`). */
  ranged(k: number, bits: number, unsigned = false, toks = this.ops[k].toks): number {
    const v = this.value(k, toks);
    if (!this.ctx.final) return 0;
    const ok = unsigned ? v >= 0 && v < 2 ** bits : fitsSigned(v, bits);
    if (!ok) {
      const range = unsigned ? `0..${2 ** bits - 1}` : `${-(2 ** (bits - 1))}..${2 ** (bits - 1) - 1}`;
      this.ctx.err(this.ops[k].first, `value ${v} out of range ${range}`);
    }
    return v;
  }

  /** `offset(reg)`: [offset tokens, register]. An empty offset is 0. */
  mem(k: number): [number, number] {
    const o = this.ops[k];
    const n = o.toks.length;
    const open = o.toks[n - 3];
    const reg = o.toks[n - 2];
    const close = o.toks[n - 1];
    const r = reg?.kind === 'id' ? REGISTERS.get(reg.text.toLowerCase()) : undefined;
    if (n < 3 || open.text !== '(' || close.text !== ')' || r === undefined) this.ctx.err(o.first, 'expected offset(register), e.g. 8(sp)');
    const off = n === 3 ? 0 : this.ranged(k, 16, false, o.toks.slice(0, n - 3));
    return [off, r];
  }

  /** A branch or jump target: the byte offset from `pc`, checked for alignment and range. */
  target(k: number, pc: number, bits: number): number {
    const v = this.value(k);
    if (!this.ctx.final) return 0;
    const off = (v - pc) | 0;
    if (off & 3) this.ctx.err(this.ops[k].first, `target 0x${(v >>> 0).toString(16)} is not word aligned`);
    if (!fitsSigned(off >> 2, bits)) this.ctx.err(this.ops[k].first, `target 0x${(v >>> 0).toString(16)} is out of reach (offset ${off})`);
    return off >> 2;
  }
}

/** Encodes a real instruction of the table. */
function encode(def: InstrDef, e: Encoder, pc: number): number {
  const op = def.match;
  const R = (rd: number, rs1: number, rs2: number) => (rd << 8) | (rs1 << 12) | (rs2 << 16);
  const split16 = (v: number) => (((v & 15) << 8) | ((v >> 4) << 20)) & ~0xff;
  switch (def.format as Ring32Format) {
    case 'R':
      e.count(3);
      return op | R(e.reg(0), e.reg(1), e.reg(2));
    case 'I':
      if (def.cls === 'load' || def.name === 'jalr') {
        e.count(2);
        const rd = e.reg(0);
        const [off, rs1] = e.mem(1);
        return op | R(rd, rs1, 0) | (off << 16);
      }
      e.count(3);
      return op | R(e.reg(0), e.reg(1), 0) | (e.ranged(2, 16) << 16);
    case 'SH':
      e.count(3);
      return op | R(e.reg(0), e.reg(1), 0) | (e.ranged(2, 5, true) << 16);
    case 'U':
      e.count(2);
      return op | R(e.reg(0), 0, 0) | (e.ranged(1, 20, true) << 12);
    case 'S': {
      e.count(2);
      const rs2 = e.reg(0);
      const [off, rs1] = e.mem(1);
      return op | R(0, rs1, rs2) | split16(off);
    }
    case 'B':
      e.count(3);
      return op | R(0, e.reg(0), e.reg(1)) | split16(e.target(2, pc, 16));
    case 'J':
      e.count(2);
      return op | R(e.reg(0), 0, 0) | (e.target(1, pc, 20) << 12);
    case 'CR':
      e.count(2);
      return op | R(e.reg(0), 0, e.cr(1));
    case 'CRW':
      e.count(2);
      return op | R(0, e.reg(1), e.cr(0));
    case 'IN':
      e.count(2);
      return op | R(e.reg(0), 0, 0) | (e.ranged(1, 16, true) << 16);
    case 'OUT':
      e.count(2);
      return op | R(0, e.reg(1), 0) | (e.ranged(0, 16, true) << 16);
    case 'M': {
      e.count(1);
      const [off, rs1] = e.mem(0);
      return op | R(0, rs1, 0) | (off << 16);
    }
    case 'RD':
      e.count(1);
      return op | R(e.reg(0), 0, 0);
    case 'NONE':
      e.count(0);
      return op;
  }
}

const word = (name: string) => BY_NAME.get(name)!.def.match;

/** Encodes a pseudo-instruction into `size` words (sizes fixed in pass 1). */
function encodePseudo(name: string, e: Encoder, pc: number, size: number): number[] {
  const R = (rd: number, rs1: number) => (rd << 8) | (rs1 << 12);
  const addi = (rd: number, rs: number, v: number) => word('addi') | R(rd, rs) | (v << 16);
  const jal = (rd: number) => word('jal') | R(rd, 0) | (e.target(0, pc, 20) << 12);
  switch (name) {
    case 'nop':
      e.count(0);
      return [addi(0, 0, 0)];
    case 'mv':
      e.count(2);
      return [addi(e.reg(0), e.reg(1), 0)];
    case 'j':
      e.count(1);
      return [jal(0)];
    case 'call':
      e.count(1);
      return [jal(LR)];
    case 'jr':
      e.count(1);
      return [word('jalr') | R(0, e.reg(0))];
    case 'ret':
      e.count(0);
      return [word('jalr') | R(0, LR)];
    case 'beqz':
    case 'bnez': {
      e.count(2);
      const off = e.target(1, pc, 16);
      const split = (((off & 15) << 8) | ((off >> 4) << 20)) & ~0xff;
      return [word(name === 'beqz' ? 'beq' : 'bne') | (e.reg(0) << 12) | split];
    }
    case 'li':
    case 'la': {
      e.count(2);
      const rd = e.reg(0);
      const v = e.value(1);
      if (size === 1) return [addi(rd, 0, v)]; // pass 1 saw v, final (no redefinition), fit 16 bits
      const hi = ((v + 0x800) >>> 12) & 0xfffff;
      return [word('lui') | R(rd, 0) | (hi << 12), addi(rd, rd, (v << 20) >> 20)];
    }
  }
  throw new Error(`unreachable pseudo ${name}`);
}

/** Assembles ring32 source into a flat image. Throws AsmError (line:column, token) on bad input. */
export function assembleRing32(source: string, opts: AssembleOptions = {}): AssembledImage {
  const origin = opts.origin ?? 0;
  if (!Number.isInteger(origin) || origin < 0 || origin > 0xffffffff || origin & 3) {
    throw new RangeError(`origin ${origin}: expected a word-aligned address 0..0xfffffffc`);
  }
  const symbols = new Map<string, number>();
  const stmts: Stmt[] = [];
  const lines = source.split('\n');
  let pc = origin;
  const MAX_IMAGE = 64 * 1024 * 1024;

  // Pass 1: labels, .equ, sizes.
  lines.forEach((text, n) => {
    const line = n + 1;
    const toks = lex(text, line);
    let at = 0;
    const ctx = new Ctx(line, symbols, pc, false);
    while (toks[at]?.kind === 'id' && toks[at + 1]?.text === ':') {
      const name = toks[at].text;
      if (!/^[A-Za-z_.$][A-Za-z0-9_.$]*$/.test(name) || name === '.' || name.startsWith('%')) ctx.err(toks[at], 'not a valid label name');
      if (REGISTERS.has(name.toLowerCase())) ctx.err(toks[at], 'a register name cannot be a label');
      if (symbols.has(name)) ctx.err(toks[at], 'label defined twice');
      symbols.set(name, pc);
      at += 2;
    }
    if (at >= toks.length) return;
    const mn = toks[at];
    if (mn.kind !== 'id') ctx.err(mn, 'expected a label, a directive or an instruction');
    const name = mn.text.toLowerCase();
    const ops = splitOperands(toks, at + 1, ctx);
    const enc = new Encoder(ctx, mn, ops);
    let size = 0;
    const known = (k: number): number => {
      const v = new ExprParser(ops[k].toks, 0, ops[k].toks.length, ctx).parseAll();
      if (v === undefined) return ctx.err(ops[k].first, `${name} needs a value defined before this line`);
      return v;
    };
    if (name.startsWith('.')) {
      if (!DIRECTIVES.has(name)) ctx.err(mn, `unknown directive (known: ${[...DIRECTIVES].join(' ')})`);
      switch (name) {
        case '.org': {
          enc.count(1);
          const to = known(0) >>> 0;
          if (to < pc) ctx.err(ops[0].first, `.org 0x${to.toString(16)} goes backwards (already at 0x${pc.toString(16)})`);
          size = to - pc;
          break;
        }
        case '.align': {
          enc.count(1);
          const a = known(0);
          if (a < 1 || a > 4096 || (a & (a - 1)) !== 0) ctx.err(ops[0].first, '.align takes a power of two from 1 to 4096 (bytes)');
          size = (((pc + a - 1) & -a) - pc) >>> 0;
          break;
        }
        case '.space': {
          if (ops.length < 1 || ops.length > 2) enc.count(1);
          size = known(0);
          if (size < 0 || size > MAX_IMAGE) ctx.err(ops[0].first, `.space size ${size} out of range 0..${MAX_IMAGE}`);
          break;
        }
        case '.equ':
        case '.set': {
          enc.count(2);
          const s = ops[0].toks;
          if (
            s.length !== 1 ||
            s[0].kind !== 'id' ||
            REGISTERS.has(s[0].text.toLowerCase()) ||
            !/^[A-Za-z_.$][A-Za-z0-9_.$]*$/.test(s[0].text) ||
            s[0].text === '.'
          )
            ctx.err(ops[0].first, 'expected a symbol name');
          // No redefinition (not even with .set): pass 2 sees every symbol's final value.
          if (symbols.has(s[0].text)) ctx.err(ops[0].first, 'symbol defined twice');
          symbols.set(s[0].text, known(1));
          return;
        }
        case '.word':
          if (!ops.length) enc.count(1);
          size = 4 * ops.length;
          break;
        case '.half':
          if (!ops.length) enc.count(1);
          size = 2 * ops.length;
          break;
        case '.byte':
          if (!ops.length) enc.count(1);
          size = ops.length;
          break;
        case '.ascii':
        case '.asciz': {
          enc.count(1);
          const s = ops[0].toks;
          if (s.length !== 1 || s[0].kind !== 'str') ctx.err(ops[0].first, 'expected a "string"');
          size = s[0].bytes!.length + (name === '.asciz' ? 1 : 0);
          break;
        }
        case '.global':
        case '.globl':
          return;
      }
    } else if (PSEUDO.has(name)) {
      size = 4;
      if (name === 'li' || name === 'la') {
        enc.count(2);
        const v = new ExprParser(ops[1].toks, 0, ops[1].toks.length, ctx).parseAll();
        // li of a value known now that fits addi's 16-bit immediate is one word; anything else two.
        size = name === 'li' && v !== undefined && fitsSigned(v, 16) ? 4 : 8;
      }
    } else if (BY_NAME.has(name)) {
      size = 4;
    } else {
      ctx.err(mn, 'unknown instruction');
    }
    if (size > 0 && pc % 4 !== 0 && !name.startsWith('.')) ctx.err(mn, `instruction at 0x${pc.toString(16)} is not word aligned (use .align 4)`);
    stmts.push({ line, toks, at, addr: pc, size });
    pc += size;
    if (pc - origin > MAX_IMAGE || pc > 0x100000000) ctx.err(mn, `image larger than ${MAX_IMAGE} bytes or beyond the 32-bit address space`);
  });

  // Pass 2: encode.
  const bytes = new Uint8Array(pc - origin);
  const view = new DataView(bytes.buffer);
  for (const s of stmts) {
    const ctx = new Ctx(s.line, symbols, s.addr, true);
    const mn = s.toks[s.at];
    const name = mn.text.toLowerCase();
    const ops = splitOperands(s.toks, s.at + 1, ctx);
    const enc = new Encoder(ctx, mn, ops);
    const off = s.addr - origin;
    switch (name) {
      case '.org':
      case '.align':
        continue;
      case '.space': {
        const fill = ops.length === 2 ? enc.ranged(1, 8, true) : 0;
        bytes.fill(fill, off, off + s.size);
        continue;
      }
      case '.word':
        ops.forEach((o, k) => {
          const v = enc.value(k);
          view.setUint32(off + 4 * k, v >>> 0, true);
        });
        continue;
      case '.half':
        ops.forEach((_, k) => {
          const v = enc.value(k);
          if (v < -0x8000 || v > 0xffff) ctx.err(ops[k].first, `value ${v} does not fit in 16 bits`);
          view.setUint16(off + 2 * k, v & 0xffff, true);
        });
        continue;
      case '.byte':
        ops.forEach((_, k) => {
          const v = enc.value(k);
          if (v < -0x80 || v > 0xff) ctx.err(ops[k].first, `value ${v} does not fit in a byte`);
          bytes[off + k] = v & 0xff;
        });
        continue;
      case '.ascii':
      case '.asciz':
        bytes.set(ops[0].toks[0].bytes!, off);
        continue;
    }
    const words = PSEUDO.has(name) ? encodePseudo(name, enc, s.addr, s.size / 4) : [encode(BY_NAME.get(name)!.def, enc, s.addr)];
    words.forEach((w, k) => view.setUint32(off + 4 * k, w >>> 0, true));
  }
  return { origin, bytes, symbols, entry: symbols.get('_start') ?? origin };
}
