// Routing of the sharded scheduler and hypervisor (sharded-scheduler.ts, sharded-hypervisor.ts):
// which instance each control call reaches, and how their answers merge. The instances here record
// the calls they get (the end-to-end check, on real services over NATS, is
// apps/cli/test/spread-hashes.test.ts).

import { HypervisorControl, SchedulerControl } from '../src/control-plane';
import { ShardedHypervisor } from '../src/sharded-hypervisor';
import { ShardedScheduler } from '../src/sharded-scheduler';

type Calls = [string, unknown][];

/** A control implementation that records every call and answers what `answers` says (else {}). */
function recorder<T extends object>(calls: Calls, answers: Record<string, (req: never) => unknown> = {}): T {
  return new Proxy({} as T, {
    get: (_t, name: string) => async (req: unknown) => {
      calls.push([name, req]);
      return answers[name]?.(req as never) ?? {};
    },
  });
}

describe('ShardedScheduler', () => {
  it('places hosts by pCPUs, routes VMs and actions to their host, merges runs in host order', async () => {
    const calls: Calls[] = [[], []];
    const run = (i: number) => () => ({
      hosts: i === 0 ? [{ host: 'h2' }, { host: 'h0' }] : [{ host: 'h1' }],
      handedOver: i === 1,
    });
    const s = new ShardedScheduler(calls.map((c, i) => recorder<SchedulerControl>(c, { run: run(i) })));
    for (const [host, pcpus] of [
      ['h0', 2],
      ['h1', 4],
      ['h2', 1],
    ] as const)
      await s.addHost({ sim: 's', host, pcpus, node: 'n1', scheduler: undefined });
    expect(Object.fromEntries(s.assignment)).toEqual({ h0: 0, h1: 1, h2: 0 });
    await s.addVm({ sim: 's', host: 'h1', vm: 'v1', vcpus: 1, sched: undefined, onlineVcpus: 0 });
    await s.addAction({
      sim: 's',
      atNs: 5,
      kind: 'pause',
      vm: 'v1',
      host: '',
      vmParams: undefined,
      scheduler: undefined,
      migration: undefined,
      balancer: undefined,
    });
    await s.addAction({
      sim: 's',
      atNs: 6,
      kind: 'killHost',
      vm: '',
      host: 'h2',
      vmParams: undefined,
      scheduler: undefined,
      migration: undefined,
      balancer: undefined,
    });
    await s.addAction({
      sim: 's',
      atNs: 7,
      kind: 'swapScheduler',
      vm: '',
      host: '',
      vmParams: undefined,
      scheduler: undefined,
      migration: undefined,
      balancer: undefined,
    });
    const names = (i: number) => calls[i].map(([n]) => n);
    expect(names(0)).toEqual(['addHost', 'addHost', 'addAction', 'addAction']);
    expect(names(1)).toEqual(['addHost', 'addVm', 'addAction', 'addAction']);
    const r = await s.run({ sim: 's', endNs: 10 });
    expect(r.hosts.map((h) => h.host)).toEqual(['h0', 'h1', 'h2']);
    expect(r.handedOver).toBe(true);
    await expect(s.setSchedParams({ sim: 's', vm: 'nope', policy: '', vmParams: undefined, scheduler: undefined })).rejects.toThrow(
      'no scheduler instance schedules VM "nope"',
    );
  });

  it('uses only the instances that have hosts', async () => {
    const calls: Calls[] = [[], [], []];
    const s = new ShardedScheduler(calls.map((c) => recorder<SchedulerControl>(c, { run: () => ({ hosts: [], handedOver: false }) })));
    await s.addHost({ sim: 's', host: 'h0', pcpus: 1, node: 'n1', scheduler: undefined });
    await s.run({ sim: 's', endNs: 1 });
    await s.closeSimulation({ sim: 's' });
    expect(calls.map((c) => c.length)).toEqual([3, 0, 0]);
  });
});

describe('ShardedHypervisor', () => {
  it('gives node i to instance i mod N, registers each VM on its node’s instance', async () => {
    const calls: Calls[] = [[], [], []];
    const h = new ShardedHypervisor(
      calls.map((c) => recorder<HypervisorControl>(c)),
      ['n3', 'n1', 'n2', 'n4'],
    );
    await h.openSimulation({ sim: 's', nodes: [] });
    expect(calls.map((c) => c[0][1])).toEqual([
      { sim: 's', nodes: ['n1', 'n4'] },
      { sim: 's', nodes: ['n2'] },
      { sim: 's', nodes: ['n3'] },
    ]);
    await h.registerVm({ sim: 's', vm: 'v', kind: 'kernel', brkStart: 0, brkMax: 0, host: 'h0', node: 'n4', costs: undefined });
    expect(calls[0].map(([n]) => n)).toEqual(['openSimulation', 'registerVm']);
    await expect(
      h.registerVm({ sim: 's', vm: 'v', kind: 'kernel', brkStart: 0, brkMax: 0, host: 'h0', node: 'n9', costs: undefined }),
    ).rejects.toThrow('node "n9" is not a cpu-node of this simulation');
  });

  it('never opens an instance without nodes (it would serve every node)', async () => {
    const calls: Calls[] = [[], [], []];
    const h = new ShardedHypervisor(
      calls.map((c) => recorder<HypervisorControl>(c)),
      ['n1'],
    );
    await h.openSimulation({ sim: 's', nodes: [] });
    await h.closeSimulation({ sim: 's' });
    expect(calls.map((c) => c.length)).toEqual([2, 0, 0]);
  });
});
