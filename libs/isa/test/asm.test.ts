// The test encoders are themselves checked: against the library's disassembler (always) and
// against the GNU assembler when it is installed, so a wrong encoder cannot make a wrong
// instruction test pass.

import { execFileSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { CSR, RV32_INSTRUCTIONS, rv32 } from '@vsim/isa';
import * as A from './helpers/asm';
import { a0, a1, a2, ra, s1, t0, t6, zero } from './helpers/asm';

interface EncCase {
  /** The encoded word. */
  readonly w: number;
  /** What rv32.disassemble prints for it at address 4 * index. */
  readonly dis: string;
  /** GNU assembler source for it (defaults to `dis`). */
  readonly gas?: string;
}

// Cases are placed at consecutive addresses starting at 0: branch/jump targets are absolute in the
// disassembly and `.+offset` for the assembler.
const CASES: EncCase[] = [];
function c(w: number, dis: string, gas?: string) {
  CASES.push({ w, dis, gas });
}
const at = () => CASES.length * 4;
const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;

c(A.lui(a0, 0x12345), 'lui a0, 0x12345');
c(A.lui(t6, 0xfffff), 'lui t6, 0xfffff');
c(A.auipc(ra, 0x80000), 'auipc ra, 0x80000');
c(A.jal(ra, 16), `jal ra, ${hex(at() + 16)}`, 'jal ra, .+16');
c(A.jal(zero, -8), `jal zero, ${hex(at() - 8)}`, 'jal zero, .-8');
c(A.jal(ra, 0xffffe), `jal ra, ${hex(at() + 0xffffe)}`, 'jal ra, .+0xffffe');
c(A.jal(ra, -0x100000), `jal ra, ${hex(at() - 0x100000)}`, 'jal ra, .-0x100000');
c(A.jalr(ra, a0, -4), 'jalr ra, -4(a0)');
c(A.jalr(ra, ra, 2047), 'jalr ra, 2047(ra)');
c(A.beq(a0, a1, 8), `beq a0, a1, ${hex(at() + 8)}`, 'beq a0, a1, .+8');
c(A.bne(t0, zero, -12), `bne t0, zero, ${hex(at() - 12)}`, 'bne t0, zero, .-12');
c(A.blt(a0, a1, 4094), `blt a0, a1, ${hex(at() + 4094)}`, 'blt a0, a1, .+4094');
c(A.bge(a0, a1, -4096), `bge a0, a1, ${hex(at() - 4096)}`, 'bge a0, a1, .-4096');
c(A.bltu(s1, t6, 2048), `bltu s1, t6, ${hex(at() + 2048)}`, 'bltu s1, t6, .+2048');
c(A.bgeu(a2, a0, 6), `bgeu a2, a0, ${hex(at() + 6)}`, 'bgeu a2, a0, .+6');
c(A.lb(a0, -1, a1), 'lb a0, -1(a1)');
c(A.lh(a0, 2, a1), 'lh a0, 2(a1)');
c(A.lw(a0, -2048, a1), 'lw a0, -2048(a1)');
c(A.lbu(t6, 2047, s1), 'lbu t6, 2047(s1)');
c(A.lhu(a0, 6, a1), 'lhu a0, 6(a1)');
c(A.sb(a2, -1, a1), 'sb a2, -1(a1)');
c(A.sh(a2, 34, a1), 'sh a2, 34(a1)');
c(A.sw(a2, -2048, a1), 'sw a2, -2048(a1)');
c(A.sw(t6, 2047, s1), 'sw t6, 2047(s1)');
c(A.addi(a0, a1, -1), 'addi a0, a1, -1');
c(A.slti(a0, a1, 100), 'slti a0, a1, 100');
c(A.sltiu(a0, a1, -1), 'sltiu a0, a1, -1');
c(A.xori(a0, a1, 0x555), 'xori a0, a1, 1365');
c(A.ori(a0, a1, -2048), 'ori a0, a1, -2048');
c(A.andi(a0, a1, 255), 'andi a0, a1, 255');
c(A.slli(a0, a1, 31), 'slli a0, a1, 31');
c(A.srli(a0, a1, 1), 'srli a0, a1, 1');
c(A.srai(a0, a1, 17), 'srai a0, a1, 17');
for (const n of [
  'add',
  'sub',
  'sll',
  'slt',
  'sltu',
  'xor',
  'srl',
  'sra',
  'or',
  'and',
  'mul',
  'mulh',
  'mulhsu',
  'mulhu',
  'div',
  'divu',
  'rem',
  'remu',
] as const) {
  c(A[n](a0, a1, t6), `${n} a0, a1, t6`);
}
c(A.lr_w(a0, a1), 'lr.w a0, (a1)');
c(A.sc_w(a0, a2, a1), 'sc.w a0, a2, (a1)');
for (const n of ['amoswap', 'amoadd', 'amoxor', 'amoand', 'amoor', 'amomin', 'amomax', 'amominu', 'amomaxu'] as const) {
  c(A[`${n}_w`](a0, a2, a1), `${n}.w a0, a2, (a1)`);
}
c(A.amoadd_w(a0, a2, a1, true, true), 'amoadd.w a0, a2, (a1)', 'amoadd.w.aqrl a0, a2, (a1)');
c(A.lr_w(t0, s1, true, false), 'lr.w t0, (s1)', 'lr.w.aq t0, (s1)');
c(A.sc_w(t0, t6, s1, false, true), 'sc.w t0, t6, (s1)', 'sc.w.rl t0, t6, (s1)');
c(A.fence(), 'fence', 'fence iorw, iorw');
c(A.fence(0x1, 0x2), 'fence', 'fence w, r');
c(A.fence_i(), 'fence.i');
c(A.ecall(), 'ecall');
c(A.ebreak(), 'ebreak');
c(A.sret(), 'sret');
c(A.mret(), 'mret');
c(A.wfi(), 'wfi');
c(A.sfence_vma(a0, a1), 'sfence.vma a0, a1');
c(A.sfence_vma(), 'sfence.vma zero, zero');
c(A.csrrw(a0, CSR.mstatus, a1), 'csrrw a0, mstatus, a1');
c(A.csrrs(zero, CSR.mie, t0), 'csrrs zero, mie, t0');
c(A.csrrc(a0, CSR.sscratch, a1), 'csrrc a0, sscratch, a1');
c(A.csrrwi(a0, CSR.mscratch, 31), 'csrrwi a0, mscratch, 31');
c(A.csrrsi(a0, CSR.cycle, 0), 'csrrsi a0, cycle, 0');
c(A.csrrci(a0, CSR.stimecmp, 5), 'csrrci a0, stimecmp, 5', 'csrrci a0, 0x14d, 5');
c(A.csrrs(a0, 0x7c0, zero), 'csrrs a0, 0x7c0, zero', 'csrrs a0, 0x7c0, zero');
c(A.csrrs(a0, CSR.minstreth, zero), 'csrrs a0, minstreth, zero');
c(A.nop(), 'addi zero, zero, 0');
c(A.mv(a0, a1), 'addi a0, a1, 0');
c(A.ret(), 'jalr zero, 0(ra)');
for (const w of A.li(a0, 0x12345678)) c(w, rv32.disassemble(w, 0), rv32.disassemble(w, 0));

describe('test encoders', () => {
  it('agree with rv32.disassemble on every case', () => {
    const got = CASES.map((k, i) => rv32.disassemble(k.w, i * 4));
    expect(got).toEqual(CASES.map((k) => k.dis));
  });

  it('cover every instruction of the table', () => {
    const names = new Set(CASES.map((k) => RV32_INSTRUCTIONS[rv32.decode(k.w)].name));
    const missing = RV32_INSTRUCTIONS.filter((d) => d.name !== 'illegal' && !names.has(d.name)).map((d) => d.name);
    expect(missing).toEqual([]);
  });

  it('li builds any constant', () => {
    // Interpret lui/addi sequences directly: lui sets imm << 12, addi adds the sign-extended low part.
    const r = A.prng(7);
    const values = [0, 1, -1, 2047, -2048, 2048, -2049, 0x7fffffff, -0x80000000, 0x800, 0xfffff800, 0x12345000];
    for (let i = 0; i < 500; i++) values.push(r.i32());
    for (const v of values) {
      let x = 0;
      for (const w of A.li(a0, v)) {
        const d = RV32_INSTRUCTIONS[rv32.decode(w)].name;
        if (d === 'lui') x = w & -4096;
        else if (d === 'addi') x = (((w >>> 15) & 31) === 0 ? 0 : x) + (w >> 20);
        else throw new Error(`li emitted ${d}`);
      }
      expect(x | 0).toBe(v | 0);
    }
  });

  it('reject operands that do not fit', () => {
    expect(() => A.addi(a0, a0, 2048)).toThrow(RangeError);
    expect(() => A.addi(32, a0, 0)).toThrow(RangeError);
    expect(() => A.beq(a0, a0, 3)).toThrow(RangeError);
    expect(() => A.beq(a0, a0, 4096)).toThrow(RangeError);
    expect(() => A.jal(ra, 0x100000)).toThrow(RangeError);
    expect(() => A.slli(a0, a0, 32)).toThrow(RangeError);
    expect(() => A.csrrwi(a0, CSR.mstatus, 32)).toThrow(RangeError);
  });

  const as = 'riscv64-unknown-elf-as';
  const objcopy = 'riscv64-unknown-elf-objcopy';
  const onPath = (tool: string) => {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  const haveAs = onPath(as) && onPath(objcopy);

  (haveAs ? it : it.skip)(
    `agree with riscv64-unknown-elf-as${haveAs ? '' : ` (skipped: ${as} or ${objcopy} not on PATH; apt-get install -y gcc-riscv64-unknown-elf)`}`,
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'vsim-asm-'));
      try {
        const src = ['.option norvc', '.option norelax', '.text', ...CASES.map((k) => k.gas ?? k.dis), ''].join('\n');
        writeFileSync(join(dir, 'x.s'), src);
        execFileSync(as, ['-march=rv32ima_zicsr_zifencei', '-mabi=ilp32', '-o', join(dir, 'x.o'), join(dir, 'x.s')]);
        execFileSync(objcopy, ['-O', 'binary', '-j', '.text', join(dir, 'x.o'), join(dir, 'x.bin')]);
        const bin = readFileSync(join(dir, 'x.bin'));
        expect(bin.length).toBe(CASES.length * 4);
        const words = CASES.map((_, i) => bin.readUInt32LE(i * 4));
        const mismatches = CASES.map((k, i) => ({ src: k.gas ?? k.dis, ours: hex(k.w), gas: hex(words[i]) })).filter((m) => m.ours !== m.gas);
        expect(mismatches).toEqual([]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
