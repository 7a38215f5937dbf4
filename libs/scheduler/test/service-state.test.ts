// A scheduler service's checkpoint pair (issue 11): snapshotHost exports a host's state at an
// iteration boundary while its loop goes on undisturbed, and restoreHosts continues it in a fresh
// service — over the in-process bus, a synthetic cpu-node answering the run orders — with exactly
// the events (numbering and batch indices included) and figures of the uninterrupted run.

import { InProcessBroker } from '@vsim/bus';
import { Event, EventBatch, RunOrder, RunReport, encode, subjects } from '@vsim/proto';
import { HostHandover, HostLoopResult, PolicySpec, SchedulerService, hostPolicySpec } from '@vsim/scheduler';
import { SyntheticHost } from '@vsim/testkit';

const MS = 1e6;
const END = 150 * MS;
const SIM = 'ck';

/** A broker with a synthetic cpu-node serving host h0, and the events published for it. */
function cluster(host: SyntheticHost, onOrder: (o: RunOrder) => void = () => undefined) {
  const broker = new InProcessBroker();
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

function populate(svc: SchedulerService, host: SyntheticHost, spec: PolicySpec): void {
  svc.addHost('h0', 3, spec, 'n0');
  host.addVm('a', [{ burstNs: 400_000, sleepNs: 900_000 }, {}]);
  host.addVm('b', [{}, { burstNs: 2 * MS, sleepNs: 0 }, { kick: { afterNs: 4 * MS, vcpu: 1 } }]);
  host.addVm('c', [{ burstNs: 3 * MS, sleepNs: 1 * MS }]);
  svc.addVm('h0', { id: 'a', vcpus: 2, sched: { weight: 512 } });
  svc.addVm('h0', { id: 'b', vcpus: 3, sched: { weight: 256, pool: 'rt' } });
  svc.addVm('h0', { id: 'c', vcpus: 1, sched: {} });
  svc.addAction({ kind: 'pause', at: 20 * MS, vm: 'c' });
  svc.addAction({ kind: 'unpause', at: 50 * MS, vm: 'c' });
  svc.addAction({ kind: 'set', at: 80 * MS, vm: 'a', params: { weight: 128 } });
}

const figures = (r: HostLoopResult) => ({ endNs: r.endNs, iterations: r.iterations, vcpus: Object.fromEntries(r.vcpus), pcpus: r.pcpus });

describe('SchedulerService: snapshotHost / restoreHosts', () => {
  const spec = hostPolicySpec({ policy: 'credit2', params: {} }, [{ id: 'rt', pcpus: [2], scheduler: { policy: 'credit', params: {} } }]);

  it('a snapshot taken mid-run changes nothing, and a fresh service continues it exactly', async () => {
    const refHost = new SyntheticHost();
    const ref = cluster(refHost);
    const refSvc = new SchedulerService(ref.broker.connect(), SIM);
    populate(refSvc, refHost, spec);
    const [uninterrupted] = await refSvc.runAll(END);
    expect(uninterrupted.iterations).toBeGreaterThan(40);

    for (const k of [3, 17, Math.floor(uninterrupted.iterations * 0.8)]) {
      const host = new SyntheticHost();
      let snap: Promise<{ h: HostHandover; host: SyntheticHost }> | undefined;
      const late: { svc?: SchedulerService } = {}; // the service made on the cluster below
      const a = cluster(host, (o) => {
        // Asked while order k is out: the snapshot is of the boundary right after its report.
        if (o.seq === k) snap = late.svc!.snapshotHost('h0').then((h) => ({ h: JSON.parse(JSON.stringify(h)) as HostHandover, host: host.clone() }));
      });
      const svc = (late.svc = new SchedulerService(a.broker.connect(), SIM));
      populate(svc, host, spec);
      expect(() => svc.exportHostState('nope')).toThrow(/unknown host 'nope'/);
      const [first] = await svc.runAll(END);
      // The loop that was snapshotted went on as if nothing happened.
      expect(a.events()).toEqual(ref.events());
      expect(figures(first)).toEqual(figures(uninterrupted));

      const { h, host: copy } = await snap!;
      expect(h.state.seq).toBe(k);
      const b = cluster(copy);
      const restored = new SchedulerService(b.broker.connect(), SIM);
      restored.restoreHosts([h]);
      const [second] = await restored.runAll(END);
      // Batches continue the indices, and together the events are the uninterrupted run's.
      expect(b.batches[0]?.firstIndex).toBe(h.eventsPublished);
      expect([...a.events().slice(0, h.eventsPublished), ...b.events()]).toEqual(ref.events());
      expect(figures(second)).toEqual(figures(uninterrupted));
      expect(restored.publishedEvents('h0')).toBe(refSvc.publishedEvents('h0'));
    }
  });

  it('exportHostState refuses mid-iteration; restoreHosts refuses a state without the policy state', async () => {
    const host = new SyntheticHost();
    const late: { svc?: SchedulerService } = {};
    let refused: unknown;
    const a = cluster(host, (o) => {
      if (o.seq === 2) {
        try {
          late.svc!.exportHostState('h0');
        } catch (err) {
          refused = err;
        }
      }
    });
    const svc = (late.svc = new SchedulerService(a.broker.connect(), SIM));
    populate(svc, host, spec);
    const before = svc.exportHostState('h0'); // before runAll: a boundary
    await svc.runAll(5 * MS);
    expect(String(refused)).toMatch(/exportState in the middle of an iteration/);

    const { policy: _p, ...bare } = before.state;
    const fresh = new SchedulerService(new InProcessBroker().connect(), SIM);
    expect(() => fresh.restoreHosts([{ ...before, state: bare }])).toThrow(/host h0: state.policy: missing/);
    expect(fresh.hosts()).toEqual([]);
    const broken = { ...before, state: { ...before.state, policy: { ...before.state.policy!, state: { pools: [], members: [] } } } };
    expect(() => fresh.restoreHosts([broken])).toThrow(/cpupools state: pools: the state has pools , this host default, rt/);
    expect(fresh.hosts()).toEqual([]); // nothing half-adopted
  });
});
