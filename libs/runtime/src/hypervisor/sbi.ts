// The SBI (RISC-V Supervisor Binary Interface v2.0) as vsim's paravirtual hypercall interface: a
// guest kernel in S-mode calls the hypervisor with `ecall`, a7 = extension, a6 = function,
// a0..a5 = arguments; the reply is a0 = error, a1 = value. One routine per function.

import { Routine, resume, shutdown } from './routine';

export const SBI_EXT = {
  LEGACY_CONSOLE_PUTCHAR: 0x01,
  LEGACY_SHUTDOWN: 0x08,
  BASE: 0x10,
  TIME: 0x54494d45,
  DBCN: 0x4442434e,
  SRST: 0x53525354,
} as const;

const SBI_SUCCESS = 0;
const SBI_ERR_INVALID_PARAM = -3;

/** SBI specification version 2.0: major in bits 30:24, minor in 23:0. */
export const SBI_SPEC_VERSION = 2 << 24;
/** Implementation ID: not one of the registered ones (OpenSBI is 1, KVM 3, Xen 7). "vs". */
export const SBI_IMPL_ID = 0x7673;
export const SBI_IMPL_VERSION = 1;

const A0 = 10;
const A1 = 11;
const A2 = 12;

/** Key of a routine: legacy extensions ignore the function ID (fid -1). */
export function sbiKey(eid: number, fid: number): string {
  return `${eid >>> 0}:${fid}`;
}

const ok = (value: number): [number, number][] => [[A0, SBI_SUCCESS], [A1, value]];

const routines: [number, number, Routine][] = [
  // BASE: discovery. Pure, cheap.
  [SBI_EXT.BASE, 0, { name: 'sbi.base.get_spec_version', route: 'interpreter', handle: (r, _v, c) => resume(r, c.sbiSimple, ok(SBI_SPEC_VERSION)) }],
  [SBI_EXT.BASE, 1, { name: 'sbi.base.get_impl_id', route: 'interpreter', handle: (r, _v, c) => resume(r, c.sbiSimple, ok(SBI_IMPL_ID)) }],
  [SBI_EXT.BASE, 2, { name: 'sbi.base.get_impl_version', route: 'interpreter', handle: (r, _v, c) => resume(r, c.sbiSimple, ok(SBI_IMPL_VERSION)) }],
  [SBI_EXT.BASE, 3, {
    name: 'sbi.base.probe_extension', route: 'interpreter',
    handle: (r, _v, c) => resume(r, c.sbiSimple, ok(IMPLEMENTED_EXTENSIONS.has(r.x[A0] >>> 0) ? 1 : 0)),
  }],
  [SBI_EXT.BASE, 4, { name: 'sbi.base.get_mvendorid', route: 'interpreter', handle: (r, _v, c) => resume(r, c.sbiSimple, ok(0)) }],
  [SBI_EXT.BASE, 5, { name: 'sbi.base.get_marchid', route: 'interpreter', handle: (r, _v, c) => resume(r, c.sbiSimple, ok(0)) }],
  [SBI_EXT.BASE, 6, { name: 'sbi.base.get_mimpid', route: 'interpreter', handle: (r, _v, c) => resume(r, c.sbiSimple, ok(0)) }],

  // TIME: program the vCPU's virtual timer. A new value also clears a pending timer interrupt
  // (the timer is Sstc-style: pending exactly while time >= the compare value).
  [SBI_EXT.TIME, 0, {
    name: 'sbi.time.set_timer', route: 'interpreter',
    handle: (r, _v, c) => {
      const ticks = (r.x[A1] >>> 0) * 2 ** 32 + (r.x[A0] >>> 0);
      const off = (r.x[A1] >>> 0) >= 0x200000; // beyond 2^53: "never", as guests write -1 to disarm
      return resume(r, c.setTimer, ok(0), off ? { timerOff: true } : { setTimer: true, timer: ticks });
    },
  }],

  // DBCN: the debug console.
  [SBI_EXT.DBCN, 0, {
    name: 'sbi.dbcn.console_write', route: 'interpreter',
    handle: (r, _v, c) => {
      const len = r.x[A0] >>> 0;
      if ((r.x[A2] >>> 0) !== 0 || r.memory.length === 0 && len > 0 || r.memoryAddr !== (r.x[A1] >>> 0)) {
        return resume(r, c.sbiSimple, [[A0, SBI_ERR_INVALID_PARAM], [A1, 0]]);
      }
      const bytes = r.memory.subarray(0, len);
      return resume(r, c.consoleWrite + c.consolePerByte * bytes.length, ok(bytes.length), { console: bytes });
    },
  }],
  [SBI_EXT.DBCN, 1, {
    name: 'sbi.dbcn.console_read', route: 'interpreter',
    handle: (r, _v, c) => resume(r, c.sbiSimple, ok(0)), // no input device: nothing to read
  }],
  [SBI_EXT.DBCN, 2, {
    name: 'sbi.dbcn.console_write_byte', route: 'interpreter',
    handle: (r, _v, c) => resume(r, c.consoleWrite + c.consolePerByte, ok(0), { console: Buffer.of(r.x[A0] & 0xff) }),
  }],

  // SRST: system reset. Shutting a VM down changes the allocation of the host: the allocator.
  [SBI_EXT.SRST, 0, {
    name: 'sbi.srst.system_reset', route: 'allocator',
    handle: (r, vm, c) => {
      const type = r.x[A0] >>> 0;
      const reason = r.x[A1] >>> 0;
      if (type > 2) return resume(r, c.sbiSimple, [[A0, SBI_ERR_INVALID_PARAM], [A1, 0]]);
      if (vm) vm.ended = 'shutdown';
      const what = type === 0 ? 'shutdown' : type === 1 ? 'cold reboot (not supported: shut down)' : 'warm reboot (not supported: shut down)';
      return shutdown(c.allocator, reason === 0 ? 0 : 1, `${what}, reason ${reason === 0 ? 'none' : reason === 1 ? 'system failure' : reason}`);
    },
  }],

  // Legacy extensions (SBI v0.1): the function ID is ignored; a0 returns the result.
  [SBI_EXT.LEGACY_CONSOLE_PUTCHAR, -1, {
    name: 'sbi.legacy.console_putchar', route: 'interpreter',
    handle: (r, _v, c) => resume(r, c.consoleWrite + c.consolePerByte, [[A0, 0]], { console: Buffer.of(r.x[A0] & 0xff) }),
  }],
  [SBI_EXT.LEGACY_SHUTDOWN, -1, {
    name: 'sbi.legacy.shutdown', route: 'allocator',
    handle: (_r, vm, c) => {
      if (vm) vm.ended = 'shutdown';
      return shutdown(c.allocator, 0, 'legacy shutdown');
    },
  }],
];

const IMPLEMENTED_EXTENSIONS = new Set<number>([
  SBI_EXT.BASE, SBI_EXT.TIME, SBI_EXT.DBCN, SBI_EXT.SRST, SBI_EXT.LEGACY_CONSOLE_PUTCHAR, SBI_EXT.LEGACY_SHUTDOWN,
]);

export const SBI_ROUTINES: ReadonlyMap<string, Routine> = new Map(routines.map(([eid, fid, r]) => [sbiKey(eid, fid), r]));
