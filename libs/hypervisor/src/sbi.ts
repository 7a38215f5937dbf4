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
  HSM: 0x48534d,
  IPI: 0x735049,
} as const;

/** SBI HSM hart states (SBI v2.0 §9, hart_get_status), as TrapRequest.hart_states carries them. */
export const HSM_STATE = { STARTED: 0, STOPPED: 1, START_PENDING: 2 } as const;

const SBI_SUCCESS = 0;
const SBI_ERR_INVALID_PARAM = -3;
const SBI_ERR_ALREADY_AVAILABLE = -6;
/** send_ipi's hart_mask_base meaning "every hart" (SBI v2.0 §3.1). */
const HART_MASK_BASE_ALL = 0xffffffff;

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

const ok = (value: number): [number, number][] => [
  [A0, SBI_SUCCESS],
  [A1, value],
];

const routines: [number, number, Routine][] = [
  // BASE: discovery. Pure, cheap.
  [SBI_EXT.BASE, 0, { name: 'sbi.base.get_spec_version', route: 'interpreter', handle: (r, _v, c) => resume(r, c.sbiSimple, ok(SBI_SPEC_VERSION)) }],
  [SBI_EXT.BASE, 1, { name: 'sbi.base.get_impl_id', route: 'interpreter', handle: (r, _v, c) => resume(r, c.sbiSimple, ok(SBI_IMPL_ID)) }],
  [SBI_EXT.BASE, 2, { name: 'sbi.base.get_impl_version', route: 'interpreter', handle: (r, _v, c) => resume(r, c.sbiSimple, ok(SBI_IMPL_VERSION)) }],
  [
    SBI_EXT.BASE,
    3,
    {
      name: 'sbi.base.probe_extension',
      route: 'interpreter',
      handle: (r, _v, c) => resume(r, c.sbiSimple, ok(IMPLEMENTED_EXTENSIONS.has(r.x[A0] >>> 0) ? 1 : 0)),
    },
  ],
  [SBI_EXT.BASE, 4, { name: 'sbi.base.get_mvendorid', route: 'interpreter', handle: (r, _v, c) => resume(r, c.sbiSimple, ok(0)) }],
  [SBI_EXT.BASE, 5, { name: 'sbi.base.get_marchid', route: 'interpreter', handle: (r, _v, c) => resume(r, c.sbiSimple, ok(0)) }],
  [SBI_EXT.BASE, 6, { name: 'sbi.base.get_mimpid', route: 'interpreter', handle: (r, _v, c) => resume(r, c.sbiSimple, ok(0)) }],

  // TIME: program the vCPU's virtual timer. A new value also clears a pending timer interrupt
  // (the timer is Sstc-style: pending exactly while time >= the compare value).
  [
    SBI_EXT.TIME,
    0,
    {
      name: 'sbi.time.set_timer',
      route: 'interpreter',
      handle: (r, _v, c) => {
        const ticks = (r.x[A1] >>> 0) * 2 ** 32 + (r.x[A0] >>> 0);
        const off = r.x[A1] >>> 0 >= 0x200000; // beyond 2^53: "never", as guests write -1 to disarm
        return resume(r, c.setTimer, ok(0), off ? { timerOff: true } : { setTimer: true, timer: ticks });
      },
    },
  ],

  // DBCN: the debug console.
  [
    SBI_EXT.DBCN,
    0,
    {
      name: 'sbi.dbcn.console_write',
      route: 'interpreter',
      handle: (r, _v, c) => {
        const len = r.x[A0] >>> 0;
        if (r.x[A2] >>> 0 !== 0 || (r.memory.length === 0 && len > 0) || r.memoryAddr !== r.x[A1] >>> 0) {
          return resume(r, c.sbiSimple, [
            [A0, SBI_ERR_INVALID_PARAM],
            [A1, 0],
          ]);
        }
        const bytes = r.memory.subarray(0, len);
        return resume(r, c.consoleWrite + c.consolePerByte * bytes.length, ok(bytes.length), { console: bytes });
      },
    },
  ],
  [
    SBI_EXT.DBCN,
    1,
    {
      name: 'sbi.dbcn.console_read',
      route: 'interpreter',
      handle: (r, _v, c) => resume(r, c.sbiSimple, ok(0)), // no input device: nothing to read
    },
  ],
  [
    SBI_EXT.DBCN,
    2,
    {
      name: 'sbi.dbcn.console_write_byte',
      route: 'interpreter',
      handle: (r, _v, c) => resume(r, c.consoleWrite + c.consolePerByte, ok(0), { console: Buffer.of(r.x[A0] & 0xff) }),
    },
  ],

  // SRST: system reset. Shutting a VM down changes the allocation of the host: the allocator.
  [
    SBI_EXT.SRST,
    0,
    {
      name: 'sbi.srst.system_reset',
      route: 'allocator',
      handle: (r, vm, c) => {
        const type = r.x[A0] >>> 0;
        const reason = r.x[A1] >>> 0;
        if (type > 2)
          return resume(r, c.sbiSimple, [
            [A0, SBI_ERR_INVALID_PARAM],
            [A1, 0],
          ]);
        if (vm) vm.ended = 'shutdown';
        const what = type === 0 ? 'shutdown' : type === 1 ? 'cold reboot (not supported: shut down)' : 'warm reboot (not supported: shut down)';
        return shutdown(c.allocator, reason === 0 ? 0 : 1, `${what}, reason ${reason === 0 ? 'none' : reason === 1 ? 'system failure' : reason}`);
      },
    },
  ],

  // HSM: hart state management. The routines see every vCPU's state in req.hartStates and return
  // the effect (hartStart, hartStop) for the host to apply to the other vCPU in virtual-time order.
  // Starting and stopping vCPUs changes what the host's pCPUs have to run: the allocator.
  [
    SBI_EXT.HSM,
    0,
    {
      name: 'sbi.hsm.hart_start',
      route: 'allocator',
      handle: (r, _v, c) => {
        const hart = r.x[A0] >>> 0;
        if (hart >= r.hartStates.length)
          return resume(
            r,
            c.sbiSimple,
            [
              [A0, SBI_ERR_INVALID_PARAM],
              [A1, 0],
            ],
            { detail: `no hart ${hart}` },
          );
        if (r.hartStates[hart] !== HSM_STATE.STOPPED)
          return resume(
            r,
            c.sbiSimple,
            [
              [A0, SBI_ERR_ALREADY_AVAILABLE],
              [A1, 0],
            ],
            { detail: `hart ${hart} already started` },
          );
        return resume(r, c.allocator, ok(0), {
          hartStart: { vcpu: hart, startAddr: r.x[A1] >>> 0, opaque: r.x[A2] >>> 0 },
          detail: `hart ${hart} at 0x${(r.x[A1] >>> 0).toString(16)}`,
        });
      },
    },
  ],
  [
    SBI_EXT.HSM,
    1,
    {
      name: 'sbi.hsm.hart_stop',
      route: 'allocator',
      handle: (r, _v, c) => resume(r, c.allocator, ok(0), { hartStop: true, detail: `hart ${r.vcpu}` }),
    },
  ],
  [
    SBI_EXT.HSM,
    2,
    {
      name: 'sbi.hsm.hart_get_status',
      route: 'interpreter',
      handle: (r, _v, c) => {
        const hart = r.x[A0] >>> 0;
        if (hart >= r.hartStates.length)
          return resume(r, c.sbiSimple, [
            [A0, SBI_ERR_INVALID_PARAM],
            [A1, 0],
          ]);
        return resume(r, c.sbiSimple, ok(r.hartStates[hart]));
      },
    },
  ],

  // IPI: a supervisor software interrupt for each hart of the mask (hart_mask, hart_mask_base).
  [
    SBI_EXT.IPI,
    0,
    {
      name: 'sbi.ipi.send_ipi',
      route: 'interpreter',
      handle: (r, _v, c) => {
        const harts = r.hartStates.length;
        const base = r.x[A1] >>> 0;
        let targets = 0;
        if (base === HART_MASK_BASE_ALL) targets = harts >= 32 ? 0xffffffff : (1 << harts) - 1;
        else {
          const mask = r.x[A0] >>> 0;
          for (let i = 0; i < 32; i++) {
            if (!((mask >>> i) & 1)) continue;
            if (base + i >= harts)
              return resume(
                r,
                c.sbiSimple,
                [
                  [A0, SBI_ERR_INVALID_PARAM],
                  [A1, 0],
                ],
                { detail: `no hart ${base + i}` },
              );
            targets |= 1 << (base + i);
          }
        }
        return resume(r, c.sbiSimple, ok(0), { ipiVcpus: targets >>> 0, detail: `mask 0x${(targets >>> 0).toString(16)}` });
      },
    },
  ],

  // Legacy extensions (SBI v0.1): the function ID is ignored; a0 returns the result.
  [
    SBI_EXT.LEGACY_CONSOLE_PUTCHAR,
    -1,
    {
      name: 'sbi.legacy.console_putchar',
      route: 'interpreter',
      handle: (r, _v, c) => resume(r, c.consoleWrite + c.consolePerByte, [[A0, 0]], { console: Buffer.of(r.x[A0] & 0xff) }),
    },
  ],
  [
    SBI_EXT.LEGACY_SHUTDOWN,
    -1,
    {
      name: 'sbi.legacy.shutdown',
      route: 'allocator',
      handle: (_r, vm, c) => {
        if (vm) vm.ended = 'shutdown';
        return shutdown(c.allocator, 0, 'legacy shutdown');
      },
    },
  ],
];

const IMPLEMENTED_EXTENSIONS = new Set<number>([
  SBI_EXT.BASE,
  SBI_EXT.TIME,
  SBI_EXT.DBCN,
  SBI_EXT.SRST,
  SBI_EXT.HSM,
  SBI_EXT.IPI,
  SBI_EXT.LEGACY_CONSOLE_PUTCHAR,
  SBI_EXT.LEGACY_SHUTDOWN,
]);

/** Whether an SBI call needs TrapRequest.hart_states (the host fills it only for these). */
export function needsHartStates(eid: number): boolean {
  return eid === SBI_EXT.HSM || eid === SBI_EXT.IPI;
}

export const SBI_ROUTINES: ReadonlyMap<string, Routine> = new Map(routines.map(([eid, fid, r]) => [sbiKey(eid, fid), r]));
