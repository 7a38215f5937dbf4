// A Linux user program as a VM: its system calls trap to the hypervisor, which emulates the
// subset such programs need (write, exit, exit_group, brk), like a process VM. write and exit are
// interpreter routines; brk changes the VM's memory allocation, so it goes to the allocator.

import { Routine, resume, shutdown } from './routine';

const A0 = 10;
const ENOSYS = 38;
const EBADF = 9;
const EFAULT = 14;

export const LINUX_SYSCALLS = { write: 64, exit: 93, exit_group: 94, brk: 214 } as const;

const routines: [number, Routine][] = [
  [
    LINUX_SYSCALLS.write,
    {
      name: 'linux.write',
      route: 'interpreter',
      handle: (r, _v, c) => {
        const fd = r.x[A0];
        const len = r.x[12] >>> 0;
        if (fd !== 1 && fd !== 2) return resume(r, c.syscall, [[A0, -EBADF]]);
        if (len > 0 && (r.memory.length === 0 || r.memoryAddr !== r.x[11] >>> 0)) return resume(r, c.syscall, [[A0, -EFAULT]]);
        const bytes = r.memory.subarray(0, len);
        return resume(r, c.syscall + c.consolePerByte * bytes.length, [[A0, bytes.length]], { console: bytes });
      },
    },
  ],
  [LINUX_SYSCALLS.exit, { name: 'linux.exit', route: 'allocator', handle: (r, vm, c) => exit(r.x[A0], vm, c.allocator) }],
  [LINUX_SYSCALLS.exit_group, { name: 'linux.exit_group', route: 'allocator', handle: (r, vm, c) => exit(r.x[A0], vm, c.allocator) }],
  [
    LINUX_SYSCALLS.brk,
    {
      name: 'linux.brk',
      route: 'allocator',
      handle: (r, vm, c) => {
        if (!vm) throw new Error('linux.brk needs the VM record (allocator route)');
        const want = r.x[A0] >>> 0;
        if (want < vm.brkStart || want > vm.brkMax) return resume(r, c.allocator, [[A0, vm.brk]]);
        // Growing hands the guest fresh pages, which must read as zero (Linux semantics).
        const writes = want > vm.brk ? [{ addr: vm.brk, data: Buffer.alloc(0), fill: want - vm.brk }] : [];
        vm.brk = want;
        return resume(r, c.allocator, [[A0, want]], { memoryWrites: writes });
      },
    },
  ],
  [-1, { name: 'linux.enosys', route: 'interpreter', handle: (r, _v, c) => resume(r, c.syscall, [[A0, -ENOSYS]]) }],
];

function exit(status: number, vm: { ended?: string } | undefined, cost: number) {
  if (vm) vm.ended = 'shutdown';
  return shutdown(cost, status & 0xff, `exit(${status & 0xff})`);
}

export const LINUX_ROUTINES: ReadonlyMap<number, Routine> = new Map(routines);
