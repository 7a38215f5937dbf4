// The paravirtual hypercall ABI (pv.ts) as pure functions over the trap request: the
// shared info page's mask and pending bytes, multicalls and their continuation, the iret frame.

import { TrapAction, TrapRequest, VirtualCpu } from '@vsim/proto';
import { Cause } from '@vsim/isa';
import { handleTrap, memoryNeeded } from '../src/dispatcher';
import { PV_EID, PV_OP, SHARED_INFO, SHARED_INFO_BYTES, initialParavirtCpu, paravirtIpi } from '../src/pv';

const PAGE = 0x8020c000;
const SSIP = 1 << 1;
const STIP = 1 << 5;
const A0 = 10;
const A1 = 11;

/** A registered vCPU in virtual S-mode whose timer fired at tick 100 (time 10 µs). */
function vcpu(extra: Partial<VirtualCpu> = {}): VirtualCpu {
  return { ...initialParavirtCpu(), sharedInfo: PAGE, stvec: 0x80200040, sie: STIP, timerOff: false, stimecmp: 100, ...extra };
}

function page(fill: (dv: DataView) => void = () => {}): Buffer {
  const b = Buffer.alloc(SHARED_INFO_BYTES);
  fill(new DataView(b.buffer, b.byteOffset, b.length));
  return b;
}

function hypercall(op: number, a0: number, a1: number, v: VirtualCpu, memory = page(), nowNs = 20_000): TrapRequest {
  const x = new Array(32).fill(0);
  x[A0] = a0;
  x[A1] = a1;
  x[16] = op;
  x[17] = PV_EID | 0;
  return TrapRequest.fromPartial({
    vm: 'k',
    nowNs,
    cause: Cause.EcallFromU,
    pc: 0x80200100,
    x,
    kind: 'kernel',
    vcpuState: v,
    memoryAddr: PAGE,
    memory,
  });
}

const byteWrite = (res: ReturnType<typeof handleTrap>, addr: number) => res.memoryWrites.find((m) => m.addr === addr)?.data[0];

describe('paravirtual hypercalls', () => {
  it('delivers the timer event through the shared page when unmasked, and only marks it pending when masked', () => {
    const timer = (mask: number) =>
      TrapRequest.fromPartial({
        vm: 'k',
        nowNs: 20_000,
        cause: 5,
        interrupt: true,
        pc: 0x80201000,
        x: Object.assign(new Array(32).fill(0), { 2: 0x80300000 }),
        kind: 'kernel',
        vcpuState: vcpu({ mode: 0, sscratch: 0x80205000 }),
        memoryAddr: PAGE,
        memory: page((dv) => dv.setUint8(SHARED_INFO.MASK, mask)),
      });
    const delivered = handleTrap(timer(0), undefined);
    expect(delivered.handler).toBe('pv.irq.timer');
    expect(delivered.nextPc).toBe(0x80200040);
    expect(delivered.vcpuState).toMatchObject({ mode: 1, scause: 0x80000005, sepc: 0x80201000, sscratch: 0 });
    expect(delivered.writes).toEqual([{ reg: 2, value: 0x80205000 | 0 }]);
    const info = delivered.memoryWrites.find((m) => m.addr === PAGE + SHARED_INFO.CAUSE)!.data;
    expect([0, 4, 8, 12].map((o) => Buffer.from(info).readUInt32LE(o))).toEqual([0x80000005, 0x80201000, 0, 0x80300000]);

    const masked = handleTrap(timer(1), undefined);
    expect(masked.nextPc).toBe(0x80201000); // not delivered
    expect(byteWrite(masked, PAGE + SHARED_INFO.PENDING)).toBe(1);
    expect(masked.vcpuState!.sie & STIP).toBe(0); // stops watching until the kernel asks
    expect(masked.vcpuState!.mode).toBe(0);
  });

  it('re-arms delivery on event_check and on a new timer, which also clears the pending byte', () => {
    const disarmed = vcpu({ sie: 0 });
    const check = handleTrap(hypercall(PV_OP.EVENT_CHECK, 0, 0, disarmed), undefined);
    expect(check.handler).toBe('pv.event_check');
    expect(check.vcpuState!.sie & STIP).toBe(STIP);
    expect(byteWrite(check, PAGE + SHARED_INFO.PENDING)).toBe(1); // still pending: delivered on return to the task
    const timer = handleTrap(hypercall(PV_OP.SET_TIMER, 5000, 0, disarmed), undefined);
    expect(timer.vcpuState).toMatchObject({ stimecmp: 5000, timerOff: false, sie: STIP });
    expect(byteWrite(timer, PAGE + SHARED_INFO.PENDING)).toBe(0);
  });

  it('runs a multicall in one exit, and restarts a waiting block from its own entry (continuation)', () => {
    const entries = page((dv) => {
      const put = (i: number, op: number, a0: number, a1: number) => {
        const at = SHARED_INFO.MC + SHARED_INFO.MC_ENTRY * i;
        dv.setUint32(at, op, true);
        dv.setUint32(at + 8, a0, true);
        dv.setUint32(at + 12, a1, true);
      };
      put(0, PV_OP.SET_CALLBACK, 0x80200080, 0);
      put(1, PV_OP.SET_TIMER, 1_000_000, 0);
      put(2, PV_OP.BLOCK, 0, 0);
    });
    const first = handleTrap(hypercall(PV_OP.MULTICALL, 0, 3, vcpu(), entries), undefined);
    expect(first.handler).toBe('pv.multicall');
    expect(first.detail).toBe('set_callback,set_timer,block');
    expect(first.action).toBe(TrapAction.TRAP_ACTION_BLOCK);
    expect(first.nextPc).toBe(0x80200100); // the ecall again, when woken
    expect(first.writes).toEqual([
      { reg: A0, value: 2 },
      { reg: A1, value: 1 },
    ]);
    expect(first.vcpuState).toMatchObject({ stvec: 0x80200080, stimecmp: 1_000_000 });
    // Woken after the timer: the restarted multicall only blocks, finds the timer pending and returns.
    const again = handleTrap(hypercall(PV_OP.MULTICALL, 2, 1, first.vcpuState!, entries, 100_000_000 + 100), undefined);
    expect(again.action).toBe(TrapAction.TRAP_ACTION_RESUME);
    expect(again.nextPc).toBe(0x80200104);
    expect(byteWrite(again, PAGE + SHARED_INFO.PENDING)).toBe(1);
  });

  it('iret restores the frame from the shared page and returns to the task', () => {
    const frame = page((dv) => {
      for (let r = 1; r < 32; r++) dv.setUint32(SHARED_INFO.IRET + 4 * r, 0x1000 + r, true);
      dv.setUint32(SHARED_INFO.IRET + 128, 0x80201234, true);
    });
    const res = handleTrap(hypercall(PV_OP.IRET, 0x80205000, 0, vcpu(), frame), undefined);
    expect(res.nextPc).toBe(0x80201234);
    expect(res.writes).toHaveLength(31);
    expect(res.writes[9]).toEqual({ reg: A0, value: 0x1000 + A0 });
    expect(res.vcpuState).toMatchObject({ mode: 0, sscratch: 0x80205000 });
  });

  it('answers bad arguments with SBI errors and stops a kernel that breaks the ABI', () => {
    const bad = handleTrap(hypercall(PV_OP.MULTICALL, 5, 9, vcpu()), undefined);
    expect(bad.writes).toEqual([
      { reg: A0, value: -3 },
      { reg: A1, value: 0 },
    ]);
    expect(handleTrap(hypercall(99, 0, 0, vcpu()), undefined).writes[0]).toEqual({ reg: A0, value: -2 });
    expect(handleTrap(hypercall(PV_OP.REGISTER_SHARED_INFO, 0x80000002, 0, initialParavirtCpu()), undefined).writes[0]).toEqual({
      reg: A0,
      value: -3,
    });
    // A page outside guest RAM: the host could not attach it, so it is refused (no later write can miss RAM).
    const outside = TrapRequest.fromPartial({
      ...hypercall(PV_OP.REGISTER_SHARED_INFO, 0x10000000, 0, initialParavirtCpu()),
      memoryAddr: 0,
      memory: Buffer.alloc(0),
    });
    const refused = handleTrap(outside, undefined);
    expect(refused.writes[0]).toEqual({ reg: A0, value: -3 });
    expect(refused.vcpuState!.sharedInfo).toBe(0);
    const accepted = handleTrap(TrapRequest.fromPartial({ ...hypercall(PV_OP.REGISTER_SHARED_INFO, PAGE, 0, initialParavirtCpu()) }), undefined);
    expect(accepted.writes[0]).toEqual({ reg: A0, value: 0 });
    expect(accepted.vcpuState).toMatchObject({ sharedInfo: PAGE, sie: STIP | SSIP }); // watches the timer and IPIs
    expect(memoryNeeded(hypercall(PV_OP.REGISTER_SHARED_INFO, PAGE, 0, initialParavirtCpu()))).toEqual({ addr: PAGE, len: SHARED_INFO_BYTES });
    const noPage = handleTrap(hypercall(PV_OP.IRET, 0x80205000, 0, initialParavirtCpu(), Buffer.alloc(0)), undefined);
    expect(noPage.action).toBe(TrapAction.TRAP_ACTION_FAULT);
    expect(noPage.detail).toMatch(/iret without a registered shared info page/);
    // A privileged instruction is not emulated for a paravirtual kernel: the VM faults.
    const csr = handleTrap(
      TrapRequest.fromPartial({
        vm: 'k',
        cause: Cause.IllegalInstruction,
        pc: 0x80200000,
        instruction: 0x10401073,
        x: new Array(32).fill(0),
        kind: 'kernel',
        vcpuState: vcpu(),
      }),
      undefined,
    );
    expect(csr.action).toBe(TrapAction.TRAP_ACTION_FAULT);
  });
});

// The 2-vCPU build: each vCPU's own VirtualCpu and shared info area; an IPI is the target's virtual
// SSIP, a software-interrupt event that respects that vCPU's mask byte.
describe('paravirtual IPIs (per-vCPU events)', () => {
  const PAGE1 = PAGE + 292; // the second vCPU's area (hv.h HV_SH_SIZE)
  /** vCPU 1, registered at PAGE1, in its kernel, with an IPI waiting and its timer off. */
  const cpu1 = (extra: Partial<VirtualCpu> = {}) => vcpu({ sharedInfo: PAGE1, sie: STIP | SSIP, sip: SSIP, timerOff: true, stimecmp: 0, ...extra });
  const at = (req: TrapRequest) => TrapRequest.fromPartial({ ...req, vcpu: 1, memoryAddr: PAGE1 });
  const masked = (m: number) => page((dv) => dv.setUint8(SHARED_INFO.MASK, m));

  it('event_check of an unmasked kernel delivers a waiting IPI there and then, into its own area, and acknowledges it', () => {
    const req = at(hypercall(PV_OP.EVENT_CHECK, 0, 0, cpu1(), masked(0)));
    req.x[2] = 0x80204f00; // the kernel's sp at the ecall
    expect(memoryNeeded(req)).toEqual({ addr: PAGE1, len: SHARED_INFO_BYTES });
    const res = handleTrap(req, undefined);
    expect([res.handler, res.detail, res.action]).toEqual(['pv.event_check', 'ipi delivered', TrapAction.TRAP_ACTION_RESUME]);
    expect(res.nextPc).toBe(0x80200040); // the callback
    expect(res.writes).toEqual([{ reg: 2, value: 0 }]); // sp 0: an event of the kernel itself
    expect(res.vcpuState).toMatchObject({ mode: 1, scause: 0x80000001, sepc: 0x80200104, sip: 0 });
    const info = Buffer.from(res.memoryWrites.find((m) => m.addr === PAGE1 + SHARED_INFO.CAUSE)!.data);
    expect([0, 4, 8, 12].map((o) => info.readUInt32LE(o))).toEqual([0x80000001, 0x80200104, 0, 0x80204f00]); // returns after the ecall
    expect(res.memoryWrites.every((m) => m.addr >= PAGE1 && m.addr < PAGE1 + SHARED_INFO_BYTES)).toBe(true);
  });

  it('an IPI to a masked vCPU raises its pending byte and is not watched; unmasked or unregistered, only SSIP', () => {
    expect(paravirtIpi(cpu1({ sip: 0 }), 1)).toEqual({ state: cpu1({ sip: SSIP, sie: STIP }), pending: true });
    expect(paravirtIpi(cpu1({ sip: 0 }), 0)).toEqual({ state: cpu1({ sip: SSIP }), pending: false });
    expect(paravirtIpi(initialParavirtCpu(), 1)).toEqual({ state: { ...initialParavirtCpu(), sip: SSIP }, pending: false });
  });

  it('masked, the IPI stays pending: event_check only raises the pending byte, block returns at once', () => {
    const check = handleTrap(at(hypercall(PV_OP.EVENT_CHECK, 0, 0, cpu1(), masked(1))), undefined);
    expect(check.nextPc).toBe(0x80200104);
    expect(check.vcpuState!.sip & SSIP).toBe(SSIP);
    expect(byteWrite(check, PAGE1 + SHARED_INFO.PENDING)).toBe(1);
    const block = handleTrap(at(hypercall(PV_OP.BLOCK, 0, 0, cpu1(), masked(1))), undefined);
    expect([block.action, block.writes]).toEqual([
      TrapAction.TRAP_ACTION_RESUME,
      [
        { reg: A0, value: 0 },
        { reg: A1, value: 2 },
      ],
    ]);
    expect(byteWrite(block, PAGE1 + SHARED_INFO.PENDING)).toBe(1);
    // Nothing waiting: block waits (restartable), and a new timer leaves an IPI's pending byte alone.
    expect(handleTrap(at(hypercall(PV_OP.BLOCK, 0, 0, cpu1({ sip: 0 }), masked(0))), undefined).action).toBe(TrapAction.TRAP_ACTION_BLOCK);
    expect(byteWrite(handleTrap(at(hypercall(PV_OP.SET_TIMER, 5000, 0, cpu1(), masked(1))), undefined), PAGE1 + SHARED_INFO.PENDING)).toBe(1);
    expect(byteWrite(handleTrap(at(hypercall(PV_OP.SET_TIMER, 5000, 0, cpu1({ sip: 0 }), masked(1))), undefined), PAGE1 + SHARED_INFO.PENDING)).toBe(
      0,
    );
  });

  it('an IPI exit while a task runs: delivered if unmasked, pending (and unwatched until event_check) if masked', () => {
    const exit = (mask: number) =>
      at(
        TrapRequest.fromPartial({
          vm: 'k',
          nowNs: 20_000,
          cause: 1,
          interrupt: true,
          pc: 0x80201000,
          x: Object.assign(new Array(32).fill(0), { 2: 0x80300000 }),
          kind: 'kernel',
          vcpuState: cpu1({ mode: 0, sscratch: 0x80205000 }),
          memory: masked(mask),
        }),
      );
    const delivered = handleTrap(exit(0), undefined);
    expect(delivered.handler).toBe('pv.irq.software');
    expect(delivered.nextPc).toBe(0x80200040);
    expect(delivered.vcpuState).toMatchObject({ mode: 1, scause: 0x80000001, sepc: 0x80201000, sip: 0, sscratch: 0 });
    expect(delivered.writes).toEqual([{ reg: 2, value: 0x80205000 | 0 }]);
    const held = handleTrap(exit(1), undefined);
    expect(held.nextPc).toBe(0x80201000);
    expect(byteWrite(held, PAGE1 + SHARED_INFO.PENDING)).toBe(1);
    expect(held.vcpuState).toMatchObject({ mode: 0, sip: SSIP, sie: STIP }); // SSIP no longer watched
    // The kernel (in virtual S-mode again, after the task's next trap) unmasks and checks: watched again, and delivered.
    const rearmed = handleTrap(at(hypercall(PV_OP.EVENT_CHECK, 0, 0, { ...held.vcpuState!, mode: 1 }, masked(0))), undefined);
    expect(rearmed.vcpuState).toMatchObject({ sie: STIP | SSIP, sip: 0, scause: 0x80000001 });
    expect(rearmed.detail).toBe('ipi delivered');
  });
});
