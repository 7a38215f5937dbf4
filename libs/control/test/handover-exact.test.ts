// Handover/Adopt to the same policy continues exactly (docs/scheduler-protocol.md §8): two
// SchedulerControl services on one bus (the in-process one `vsim run` uses) and a synthetic
// cpu-node; the first is handed the simulation's host mid-run, the HandoverState goes through its
// protobuf encoding, the second adopts it with the same policy and parameters, and the events —
// numbering and batch indices included — and the host's figures are the uninterrupted run's.

import { InProcessBroker } from '@vsim/bus';
import { Event, EventBatch, HandoverState, RunOrder, RunReport, RunResult, encode, subjects } from '@vsim/proto';
import { SchedulerControlImpl, schedulerMessage, vmSchedMessage } from '@vsim/control';
import { SyntheticHost } from '@vsim/testkit';

const MS = 1e6;
const SIM = 'sim-h';
const END = 120 * MS;
const SCHEDULER = schedulerMessage({ policy: 'credit2', params: { ratelimit: 500_000, runqueue: 'cpu' } });

function cluster(onOrder: (o: RunOrder) => void = () => undefined) {
  const broker = new InProcessBroker();
  const host = new SyntheticHost();
  host.addVm('web', [
    { burstNs: 600_000, sleepNs: 1.4 * MS },
    { burstNs: 250_000, sleepNs: 300_000 },
  ]);
  host.addVm('batch', [{}, {}, { haltAfterNs: 30 * MS }]);
  host.addVm('smp', [{ kick: { afterNs: 3 * MS, vcpu: 1 } }, { burstNs: 1 * MS, sleepNs: 0 }]);
  const node = broker.connect();
  node.serve(subjects.hostRun(SIM, 'n0', 'h0'), async (data) => {
    const o = RunOrder.decode(data);
    onOrder(o);
    return encode(RunReport, await host.run(o));
  });
  const batches: EventBatch[] = [];
  node.subscribe(subjects.events(SIM, 'h0'), (data) => void batches.push(EventBatch.decode(data)));
  return { broker, batches, events: (): Event[] => batches.flatMap((b) => b.events.map(Event.fromMessage)) };
}

async function setUp(s: SchedulerControlImpl): Promise<void> {
  await s.addHost({ sim: SIM, host: 'h0', pcpus: 3, node: 'n0', scheduler: SCHEDULER });
  await s.addVm({ sim: SIM, host: 'h0', vm: 'web', vcpus: 2, onlineVcpus: 0, sched: vmSchedMessage({ weight: 512 }) });
  await s.addVm({ sim: SIM, host: 'h0', vm: 'batch', vcpus: 3, onlineVcpus: 0, sched: vmSchedMessage({ weight: 256, cap: 120 }) });
  await s.addVm({ sim: SIM, host: 'h0', vm: 'smp', vcpus: 2, onlineVcpus: 1, sched: vmSchedMessage({}) });
  await s.addAction({
    sim: SIM,
    atNs: 15 * MS,
    kind: 'pause',
    vm: 'web',
    host: '',
    vmParams: undefined,
    scheduler: undefined,
    migration: undefined,
    balancer: undefined,
  });
  await s.addAction({
    sim: SIM,
    atNs: 40 * MS,
    kind: 'unpause',
    vm: 'web',
    host: '',
    vmParams: undefined,
    scheduler: undefined,
    migration: undefined,
    balancer: undefined,
  });
  await s.addAction({
    sim: SIM,
    atNs: 70 * MS,
    kind: 'set',
    vm: 'batch',
    host: '',
    vmParams: vmSchedMessage({ weight: 1024 }),
    scheduler: undefined,
    migration: undefined,
    balancer: undefined,
  });
}

describe('Handover/Adopt to the same policy', () => {
  it('continues with exactly the events and figures of an uninterrupted run', async () => {
    const ref = cluster();
    const alone = new SchedulerControlImpl(ref.broker.connect());
    await setUp(alone);
    const uninterrupted = await alone.run({ sim: SIM, endNs: END });
    expect(uninterrupted.hosts[0].iterations).toBeGreaterThan(40);

    for (const k of [5, 33]) {
      let handover: Promise<HandoverState> | undefined;
      const late: { from?: SchedulerControlImpl } = {};
      const c = cluster((o) => {
        if (o.seq === k) handover = late.from!.handover({ sim: SIM });
      });
      const from = (late.from = new SchedulerControlImpl(c.broker.connect()));
      const to = new SchedulerControlImpl(c.broker.connect());
      await setUp(from);
      const first = await from.run({ sim: SIM, endNs: END });
      expect(first.handedOver).toBe(true);
      const state = HandoverState.decode(encode(HandoverState, await handover!));
      expect(state.hosts[0].loop?.policy?.scheduler?.policy?.$case).toBe('credit2');
      await to.adopt({ sim: SIM, state, scheduler: SCHEDULER });
      const second = await to.run({ sim: SIM, endNs: END });
      expect(c.events()).toEqual(ref.events());
      expect(c.batches.map((b) => b.firstIndex)).toEqual(ref.batches.map((b) => b.firstIndex));
      // The adopting service's result carries the figures of both parts: the uninterrupted run's.
      expect(RunResult.toJSON(second)).toEqual(RunResult.toJSON(uninterrupted));
    }
  });
});
