// What the gateway lists (listing.ts) from what it holds, without a cluster: the domains' and
// vCPUs' state replayed from the events in their canonical order, CPU time, parameters set since
// the start (pin, pool), the pools of a split host, and a simulation's summary.

import { Event } from '@vsim/proto';
import { HostEnds, SimSpec, schedulerMessage } from '@vsim/control';
import type { Simulation } from '../src/gateway';
import { domainList, simulationSummary } from '../src/listing';

const MS = 1_000_000;

const spec: SimSpec = {
  name: 'pools',
  seed: 1,
  durationNs: 100 * MS,
  trapPath: 'split',
  scheduler: { policy: 'credit2', params: {} },
  hosts: [{ id: 'h0', pcpus: 4, clockHz: 10e6, quantumNs: 100_000, pools: [{ id: 'rt', pcpus: [3], scheduler: { policy: 'rtds', params: {} } }] }],
  vms: ['web', 'db', 'batch'].map((id) => ({
    id,
    host: 'h0',
    vcpus: id === 'db' ? 2 : 1,
    memoryBytes: 4 << 20,
    image: 'x.elf',
    args: [],
    kind: 'kernel' as const,
    engine: 'bt' as const,
    sched: id === 'batch' ? { pin: [[0, 1]] } : {},
  })),
};

let seq = 0;
function ev(timeNs: number, kind: Event['kind'], vm: string, vcpu: number, pcpu: number, extra: Partial<Event> = {}): Event {
  return { timeNs, host: 'h0', source: 'sched', seq: ++seq, pcpu, vm, vcpu, kind, route: '', path: '', cause: '', detail: '', value: 0, ...extra };
}

function sim(events: Event[]): Simulation {
  return {
    id: 'sim-1',
    owner: '',
    spec,
    images: new Map(),
    state: 'running',
    error: '',
    hostNs: new Map([['h0', 12 * MS]]),
    ends: new HostEnds(spec),
    events,
    listeners: new Set(),
    timing: { submittedAt: 1000 },
    extraClients: [],
    scheduler: '',
  };
}

describe('domainList', () => {
  // Arrival order differs from the canonical one (node events in their own batch): replay sorts.
  const events = [
    ev(0, 'schedule', 'web', 0, 0),
    ev(0, 'schedule', 'db', 0, 1),
    ev(0, 'schedule', 'db', 1, 2),
    ev(4 * MS, 'run', 'web', 0, 0, { value: 4 * MS }),
    ev(4 * MS, 'schedule', 'batch', 0, 0),
    ev(5 * MS, 'run', 'db', 1, 2, { value: 5 * MS }),
    ev(6 * MS, 'set', 'batch', -1, -1, { detail: '{"pin":[[1]]}' }),
    ev(7 * MS, 'set', 'web', -1, -1, { detail: '{"pool":"rt"}' }),
    ev(9 * MS, 'halt', 'web', -1, -1, { source: 'node', seq: 2 }),
    ev(5 * MS, 'block', 'db', 1, 2, { source: 'node', seq: 1 }),
  ];
  const list = domainList(sim(events));
  const d = (vm: string) => list.domains.find((x) => x.vm === vm)!;

  it('gives each VM its scenario position as ID, its host, memory and pool', () => {
    expect(list.domains.map((x) => [x.vm, x.id, x.host, x.memoryBytes])).toEqual([
      ['web', 1, 'h0', 4 << 20],
      ['db', 2, 'h0', 4 << 20],
      ['batch', 3, 'h0', 4 << 20],
    ]);
    expect(list.pools).toEqual([
      { host: 'h0', pool: 'default', scheduler: 'credit2', pcpus: [0, 1, 2] },
      { host: 'h0', pool: 'rt', scheduler: 'rtds', pcpus: [3] },
    ]);
  });

  it('replays who runs, who blocked, CPU time, halts and the parameters set since', () => {
    expect(d('web')).toMatchObject({ pool: 'rt', scheduler: 'rtds', shutdown: 'halted' });
    expect(d('web').vcpus[0]).toMatchObject({ online: false, running: false, cpuNs: 4 * MS, pcpu: 0 });
    expect(d('db').vcpus.map((v) => [v.pcpu, v.running, v.blocked, v.cpuNs])).toEqual([
      [1, true, false, 0],
      [2, false, true, 5 * MS],
    ]);
    expect(d('batch').vcpus[0]).toMatchObject({ pcpu: 0, running: true, affinity: [1] });
    expect(d('batch')).toMatchObject({ pool: 'default', scheduler: 'credit2', shutdown: '' });
  });

  it('prefers the live parameters of the scheduler while the simulation runs', () => {
    const live = domainList(sim(events), {
      hosts: [
        {
          host: 'h0',
          policy: 'cpupools',
          scheduler: schedulerMessage({ policy: 'cpupools', params: { default: { policy: 'credit', params: {} }, pools: spec.hosts[0].pools } }),
          nowNs: 12 * MS,
        },
      ],
      vms: [{ vm: 'batch', host: 'h0', policy: 'credit', params: { pin: [{ pcpus: [0, 2] }] } }],
    });
    expect(live.pools[0].scheduler).toBe('credit');
    expect(live.domains.find((x) => x.vm === 'batch')!.vcpus[0].affinity).toEqual([0, 2]);
  });
});

test('simulationSummary: state, the virtual time reached, the duration', () => {
  expect(simulationSummary(sim([]))).toEqual({
    sim: 'sim-1',
    name: 'pools',
    state: 'running',
    virtualNs: 12 * MS,
    durationNs: 100 * MS,
    hosts: 1,
    vms: 3,
    submittedAtMs: 1000,
    error: '',
  });
});
