// A Linux user process as a gdb target: the hart's registers, the process's RAM, and runs that stop
// on the exceptions Linux would turn into signals (ebreak into SIGTRAP, which is how breakpoints
// come back). Any engine works: breakpoints reach translated code as self-modifying code does.

import { GuestFault, LinuxUserProcess } from '../machine/linux-user';
import { GdbTarget, TargetStop } from './target';
import { RV32_EBREAK, RV32_GDB_PC, RV32_GDB_REGISTERS, rv32TargetXml } from './target-xml';

export class LinuxProcessTarget implements GdbTarget {
  readonly targetXml = rv32TargetXml();
  readonly registerCount = RV32_GDB_REGISTERS;
  readonly pcRegister = RV32_GDB_PC;
  readonly breakpointInstruction = RV32_EBREAK;
  /** The exception the program last stopped on, if its last stop was one. */
  lastFault: GuestFault | undefined;

  constructor(readonly process: LinuxUserProcess) {}

  readRegister(n: number): number {
    const h = this.process.hart;
    return (n === RV32_GDB_PC ? h.pc : h.x[n]) >>> 0;
  }

  writeRegister(n: number, value: number): void {
    const h = this.process.hart;
    if (n === RV32_GDB_PC) h.pc = value >>> 0;
    else if (n > 0 && n < 32) h.x[n] = value | 0;
  }

  readMemory(addr: number, length: number): Uint8Array | undefined {
    const bus = this.process.bus;
    return bus.inRam(addr, length) ? bus.readBytes(addr, length) : undefined;
  }

  writeMemory(addr: number, bytes: Uint8Array): boolean {
    const bus = this.process.bus;
    if (!bus.inRam(addr, bytes.length)) return false;
    bus.writeBytes(addr, bytes);
    return true;
  }

  resume(cycles: number): TargetStop {
    const r = this.process.run(cycles, cycles === 1);
    this.lastFault = r.fault;
    if (r.fault) return { kind: 'trap', signal: r.fault.status - 128 };
    if (r.exited) return { kind: 'exited', status: r.status };
    return { kind: 'budget' };
  }
}
