// A gateway that took a simulation over from one that died (issue 11) follows it with
// Coordinator.reattach: the events from the start, and the scheduler's Run joined — a repeated Run
// with the same end returns the same result, the simulation is not run twice. Here the first
// coordinator stays alive (in one process nothing can be killed) and a second one reattaches while
// the run is under way: both end with the embedded run's hash, and the scheduler ran it once.

import { InProcessBroker } from '@vsim/bus';
import { Coordinator, CpuNodeControlImpl, HypervisorControlImpl, SchedulerControlImpl, runEmbedded } from '@vsim/control';
import { twoHostSpec } from '@vsim/testkit';
import { inProcessControlPlane } from '../src/grpc-adapters';

describe('Coordinator.reattach', () => {
  it('follows a running simulation to its end without running it twice', async () => {
    const spec = twoHostSpec('remote');
    const undisturbed = (await runEmbedded(spec)).result;
    const broker = new InProcessBroker();
    const sched = new SchedulerControlImpl(broker.connect());
    const plane = () =>
      inProcessControlPlane({
        hypervisor: hv,
        nodes: [n1, n2],
        scheduler: sched,
      });
    const hv = new HypervisorControlImpl(broker.connect());
    const n1 = new CpuNodeControlImpl(broker.connect(), { nodeId: 'n1' });
    const n2 = new CpuNodeControlImpl(broker.connect(), { nodeId: 'n2' });
    const sim = 'sim-01ARZ3NDEKTSV4RRFFQ69G5FAV';
    let assignment: ReadonlyMap<string, string> | undefined;
    let second: ReturnType<Coordinator['reattach']> | undefined;
    // The run holds at virtual time 0 (paused before Run) until the second coordinator's Run has
    // reached the scheduler: in one process the run would otherwise be over before it gets there.
    const takeover = plane();
    const scheduler = Object.assign(Object.create(takeover.scheduler) as typeof takeover.scheduler, {
      run: (req: Parameters<typeof takeover.scheduler.run>[0]) => {
        const joined = takeover.scheduler.run(req);
        void sched.resume({ sim });
        return joined;
      },
    });
    const first = new Coordinator(plane(), broker.connect(), {
      assign: (hosts, nodes) => (assignment = new Map(hosts.map((h, i) => [h.id, nodes[i % nodes.length]]))),
      beforeRun: async () => {
        await sched.pause({ sim });
        // Set up and about to Run: a second coordinator takes it over as a restarted gateway would.
        second = new Coordinator({ ...takeover, scheduler }, broker.connect()).reattach(spec, sim, assignment!);
      },
    }).run(spec, sim);
    const [a, b] = await Promise.all([first, (async () => (await first, second!))()]);
    expect(a.result.eventLogHash).toBe(undisturbed.eventLogHash);
    expect(b.result.eventLogHash).toBe(undisturbed.eventLogHash);
    expect(b.result.events).toBe(undisturbed.events);
    expect((await sched.status()).counters.runs).toBe(1);
  });
});
