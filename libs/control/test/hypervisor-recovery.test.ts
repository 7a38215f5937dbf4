// A hypervisor with a state store (issue 11 item 2) is replaced, not lost: a new process of the same
// instance takes its simulations over (recover()) and answers a resent trap exactly as the dead one
// did — a brk that grew the heap is not applied twice and its reply (with the zero-filled pages)
// is the same bytes — then goes on with the VM's record where the previous process left it.

import { InProcessBroker, MemoryStateStore } from '@vsim/bus';
import { TrapRequest, TrapResolution, encode, subjects } from '@vsim/proto';
import { HypervisorControlImpl } from '@vsim/control';

const sim = 'sim-01ARZ3NDEKTSV4RRFFQ69G5FAV';
const BRK = 214;

function brk(seq: number, want: number): Uint8Array {
  const x = new Array(32).fill(0);
  x[17] = BRK; // a7: the syscall number
  x[10] = want; // a0
  return encode(TrapRequest, TrapRequest.fromPartial({ sim, host: 'h0', vm: 'vm1', vcpu: 0, cause: 8, seq, kind: 'linux', x }));
}

describe('hypervisor recovery from its state store', () => {
  it('takes the simulation over, answers a resend as the dead process did, and goes on from its record', async () => {
    const broker = new InProcessBroker();
    const state = new MemoryStateStore();
    const client = broker.connect();
    const bus1 = broker.connect();
    const hv1 = new HypervisorControlImpl(bus1, { instance: 'hv-1', state });
    await hv1.openSimulation({ sim, nodes: [] });
    await hv1.registerVm({ sim, vm: 'vm1', kind: 'linux', brkStart: 0x10000, brkMax: 0x20000, host: 'h0', node: 'n1', costs: undefined });
    const first = await client.request(subjects.hvTrap(sim, 'n1'), brk(1, 0x12000), { timeoutMs: 2000 });
    expect(TrapResolution.decode(first).memoryWrites).toHaveLength(1); // the heap grew: zero-filled pages
    expect(await state.list(`${sim}/`)).toEqual([`${sim}/open`, `${sim}/vm/vm1`]);

    await bus1.close(); // kill -9: its subscriptions are gone, its state store is not

    const other = new HypervisorControlImpl(broker.connect(), { instance: 'hv-2', state });
    expect(await other.recover()).toEqual([]); // another instance's simulations are not its own
    const hv2 = new HypervisorControlImpl(broker.connect(), { instance: 'hv-1', state });
    expect(await hv2.recover()).toEqual([sim]);
    const resent = await client.request(subjects.hvTrap(sim, 'n1'), brk(1, 0x12000), { timeoutMs: 2000 });
    expect(Buffer.from(resent).equals(Buffer.from(first))).toBe(true);
    // The next trap sees the heap where the dead process left it: shrinking back needs no fill.
    const next = TrapResolution.decode(await client.request(subjects.hvTrap(sim, 'n1'), brk(2, 0x11000), { timeoutMs: 2000 }));
    expect(next.memoryWrites).toHaveLength(0);
    expect(next.writes.map((w) => [w.reg, w.value])).toContainEqual([10, 0x11000]);

    await hv2.closeSimulation({ sim });
    expect(await state.list('')).toEqual([]);
  });
});
