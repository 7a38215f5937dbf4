// A Linux user process as a gdb target: runs that stop on the exceptions Linux would turn into
// signals (ebreak into SIGTRAP, which is how breakpoints come back). Any engine works:
// breakpoints reach translated code as self-modifying code does.

import { GuestFault, LinuxUserProcess } from '../machine/linux-user';
import { TargetStop } from './target';
import { Rv32HartTarget } from './hart-target';

export class LinuxProcessTarget extends Rv32HartTarget {
  /** The exception the program last stopped on, if its last stop was one. */
  lastFault: GuestFault | undefined;

  constructor(readonly process: LinuxUserProcess) {
    super(process.hart);
  }

  resume(cycles: number): TargetStop {
    const r = this.process.run(cycles, cycles === 1);
    this.lastFault = r.fault;
    if (r.fault) return { kind: 'trap', signal: r.fault.status - 128 };
    if (r.exited) return { kind: 'exited', status: r.status };
    return { kind: 'budget' };
  }
}
