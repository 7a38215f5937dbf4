// The part of a gdb target every rv32 hart shares: its registers in gdb's order (x0-x31, pc), the
// RAM of its bus, and the target description. Machines add how to run it (linux-target.ts,
// bare-target.ts); a VM's vCPU is one more such hart.

import { Hart } from '../rv32/hart';
import { GdbTarget, TargetStop } from './target';
import { RV32_EBREAK, RV32_GDB_PC, RV32_GDB_REGISTERS, rv32TargetXml } from './target-xml';

export abstract class Rv32HartTarget implements GdbTarget {
  readonly targetXml = rv32TargetXml();
  readonly registerCount = RV32_GDB_REGISTERS;
  readonly pcRegister = RV32_GDB_PC;
  readonly breakpointInstruction = RV32_EBREAK;

  constructor(protected readonly hart: Hart) {}

  readRegister(n: number): number {
    return (n === RV32_GDB_PC ? this.hart.pc : this.hart.x[n]) >>> 0;
  }

  writeRegister(n: number, value: number): void {
    if (n === RV32_GDB_PC) this.hart.pc = value >>> 0;
    else if (n > 0 && n < 32) this.hart.x[n] = value | 0;
  }

  readMemory(addr: number, length: number): Uint8Array | undefined {
    const bus = this.hart.bus;
    return bus.inRam(addr, length) ? bus.readBytes(addr, length) : undefined;
  }

  writeMemory(addr: number, bytes: Uint8Array): boolean {
    const bus = this.hart.bus;
    if (!bus.inRam(addr, bytes.length)) return false;
    bus.writeBytes(addr, bytes);
    return true;
  }

  abstract resume(cycles: number, breakpoints: ReadonlySet<number>): TargetStop;
}
