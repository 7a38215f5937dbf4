// The replay runner on a host executor, without a scheduler: a trace's compute, exits, blocks and
// end are consumed slice by slice, as recorded (the end-to-end reproduction is libs/control/test/replay.test.ts).

import { Event, RunOrder, VcpuState } from '@vsim/proto';
import { HostExecutor, ReplayRunner, parseTrace } from '../src';

const trace = (ops: unknown[], end = 'ended') =>
  new TextEncoder().encode(JSON.stringify({ format: 'vsim-demand-trace', version: 1, vms: [{ vm: 'r', host: 'h0', vcpus: [{ ops, end }] }] }));

function host(image: Uint8Array): HostExecutor {
  const h = new HostExecutor(
    { sim: 's', id: 'h0', pcpus: 1, clockHz: 1e9, quantumNs: 10_000, trapPath: 'split' },
    {
      exitCost: 0,
      local: () => {
        throw new Error('no traps');
      },
      remote: () => Promise.reject(new Error('no traps')),
    },
  );
  h.createVm({ id: 'r', kind: 'replay', vcpus: 1, memoryBytes: 4096, image, args: [], engine: 'bt' });
  return h;
}

const order = (seq: number, nowNs: number, untilNs: number) =>
  RunOrder.fromPartial({ sim: 's', host: 'h0', seq, nowNs, untilNs, pcpus: [{ pcpu: 0, vm: 'r', vcpu: 0 }] });

describe('the replay runner', () => {
  it('computes, logs the exits, blocks for the recorded time and ends where the trace ends', async () => {
    const h = host(
      trace([
        2500,
        ['hypercall', 'sbi.x', '', 700, 'interpreter', 'local'],
        1000,
        ['block', '', '', 50_000, '', ''],
        300,
        ['halt', '', 'bye', 3, '', ''],
        200,
      ]),
    );
    const r1 = await h.run(order(1, 0, 100_000));
    // Blocked at 3500 ns of its pCPU time; the host stops at the quantum's end.
    expect(r1.events.map(Event.fromMessage).map((e) => [e.timeNs, e.kind, e.value])).toEqual([
      [2500, 'hypercall', 700],
      [3500, 'block', 53_500],
    ]);
    expect([r1.nowNs, r1.vcpus[0].state, r1.vcpus[0].wakeNs, r1.vcpus[0].ranNs]).toEqual([10_000, VcpuState.VCPU_STATE_BLOCKED, 53_500, 3500]);
    const r2 = await h.run(order(2, 53_500, 100_000));
    expect(r2.events.map(Event.fromMessage).map((e) => [e.timeNs, e.kind, e.detail, e.value])).toEqual([
      [53_500, 'wake', '', 0],
      [53_800, 'halt', 'bye', 3],
    ]);
    // The ending exit's cost (200 ns after the halt) is charged with it.
    expect([r2.vcpus[0].state, r2.vcpus[0].ranNs, h.vms.get('r')!.exitStatus]).toEqual([VcpuState.VCPU_STATE_HALTED, 500, 3]);
  });

  it('keeps computing past the trace when the recorded vCPU was computing at its end', async () => {
    const h = host(trace([1000], 'running'));
    const r = await h.run(order(1, 0, 50_000));
    expect([r.nowNs, r.vcpus[0].state, r.vcpus[0].ranNs, r.vcpus[0].instructions]).toEqual([50_000, VcpuState.VCPU_STATE_RUNNABLE, 50_000, 0]);
  });

  it('exposes where it is in its trace', async () => {
    const h = host(trace([20_000], 'blocked'));
    await h.run(order(1, 0, 5000));
    const runner = h.snapshotState().runner(h.vms.get('r')!.vcpus[0]) as ReplayRunner;
    expect(runner.position).toEqual({ step: 0, left: 15_000 });
  });

  it('refuses a malformed trace naming the field', () => {
    expect(() =>
      parseTrace('{"format":"vsim-demand-trace","version":1,"vms":[{"vm":"r","host":"h0","vcpus":[{"ops":[-5],"end":"ended"}]}]}'),
    ).toThrow('vms[0].vcpus[0].ops[0]: a compute step is a whole number of ns ≥ 0 (got -5)');
    expect(() => host(trace([], 'sideways'))).toThrow('vms[0].vcpus[0].end: must be running, blocked, ended (got "sideways")');
  });
});
