// A cpu-node's RunReport carries its events as wire messages (enums): the loop takes the kinds it
// knows as their vocabulary strings and fails the report on a value it does not know, naming the
// field, before anything of the report is applied.

import { Event, EventKind, EventMessage, RunOrder, RunReport, VcpuState } from '@vsim/proto';
import { HostLoop, RoundRobinPolicy } from '@vsim/scheduler';

/** A host that runs every order to its end and reports `kind` for each. */
function loopWith(kind: EventKind) {
  const seen: Event[] = [];
  const runHost = async (order: RunOrder): Promise<RunReport> =>
    RunReport.fromPartial({
      sim: order.sim,
      host: order.host,
      seq: order.seq,
      nowNs: order.untilNs,
      vcpus: order.pcpus
        .filter((p) => p.vm)
        .map((p) => ({ vm: p.vm, vcpu: p.vcpu, state: VcpuState.VCPU_STATE_RUNNABLE, ranNs: order.untilNs - order.nowNs })),
      events: [EventMessage.fromPartial({ timeNs: order.nowNs, host: order.host, source: 'node', seq: order.seq, vm: 'a', kind })],
    });
  const loop = new HostLoop('t', 'h0', 1, new RoundRobinPolicy(1, 1e6), runHost, (events) => void seen.push(...events));
  loop.addVm({ id: 'a', vcpus: 1, sched: {} });
  return { loop, seen };
}

describe('events in a RunReport', () => {
  it('a known kind arrives as its vocabulary string', async () => {
    const { loop, seen } = loopWith(EventKind.EVENT_KIND_CONSOLE);
    await loop.run(3e6);
    expect(seen.filter((e) => e.source === 'node').map((e) => e.kind)).toEqual(['console', 'console', 'console']);
  });

  it('an unknown kind fails the report, naming the field', async () => {
    const { loop } = loopWith(99 as EventKind);
    await expect(loop.run(3e6)).rejects.toThrow('Event.kind: unknown value 99');
  });
});
