// Host placement on cpu-nodes (placement.ts): least-loaded weighs pCPUs then VMs and counts what
// the nodes already run; first-fit packs up to a capacity; both are deterministic.

import { assignHosts, placementPolicyOf, vmsPerHost } from '../src/placement';

const place = (...args: Parameters<typeof assignHosts>) => Object.fromEntries(assignHosts(...args));

describe('assignHosts', () => {
  it('least-loaded: a one-host simulation goes to the idlest node, not always the first', () => {
    const load = new Map([
      ['n1', { pcpus: 4, vms: 8 }],
      ['n2', { pcpus: 2, vms: 1 }],
      ['n3', { pcpus: 4, vms: 2 }],
    ]);
    expect(place([{ id: 'h0', pcpus: 2, vms: 3 }], ['n1', 'n2', 'n3'], load)).toEqual({ h0: 'n2' });
  });

  it('least-loaded: equal pCPUs, the node with fewer VMs wins', () => {
    const load = new Map([
      ['n1', { pcpus: 4, vms: 9 }],
      ['n2', { pcpus: 4, vms: 2 }],
    ]);
    expect(place([{ id: 'h0', pcpus: 1 }], ['n1', 'n2'], load)).toEqual({ h0: 'n2' });
    // The hosts of this simulation count as they are placed: VMs break the tie between equal hosts.
    expect(
      place(
        [
          { id: 'a', pcpus: 2, vms: 5 },
          { id: 'b', pcpus: 2, vms: 1 },
          { id: 'c', pcpus: 2, vms: 1 },
        ],
        ['n1', 'n2'],
        new Map(),
      ),
    ).toEqual({ a: 'n1', b: 'n2', c: 'n2' });
  });

  it('spreads concurrent simulations: the load left by one moves the next elsewhere', () => {
    const nodes = ['n1', 'n2', 'n3'];
    const first = assignHosts([{ id: 'h0', pcpus: 2, vms: 4 }], nodes);
    const load = new Map([[first.get('h0')!, { pcpus: 2, vms: 4 }]]);
    const second = assignHosts([{ id: 'h0', pcpus: 2, vms: 4 }], nodes, load);
    load.set(second.get('h0')!, { pcpus: 2, vms: 4 });
    const third = assignHosts([{ id: 'h0', pcpus: 2, vms: 4 }], nodes, load);
    expect([first, second, third].map((a) => a.get('h0'))).toEqual(['n1', 'n2', 'n3']);
  });

  it('first-fit: packs up to the capacity, in node order, then least-loaded for what fits nowhere', () => {
    const hosts = [
      { id: 'a', pcpus: 2 },
      { id: 'b', pcpus: 2 },
      { id: 'c', pcpus: 2 },
      { id: 'd', pcpus: 4 },
    ];
    expect(place(hosts, ['n2', 'n1'], new Map(), { policy: 'first-fit', capacityPcpus: 4 })).toEqual({ a: 'n1', b: 'n1', c: 'n2', d: 'n2' });
    // Least-loaded on the same hosts alternates.
    expect(place(hosts, ['n2', 'n1'], new Map(), { policy: 'least-loaded' })).toEqual({ a: 'n1', b: 'n2', c: 'n1', d: 'n2' });
    // Existing load counts against the capacity.
    expect(place([{ id: 'a', pcpus: 2 }], ['n1', 'n2'], new Map([['n1', 3]]), { policy: 'first-fit', capacityPcpus: 4 })).toEqual({ a: 'n2' });
  });

  it('names the choices on an unknown policy, and counts VMs per host', () => {
    expect(() => placementPolicyOf('random')).toThrow('placement policy "random" is unknown (least-loaded, first-fit)');
    expect(placementPolicyOf('first-fit')).toBe('first-fit');
    expect(
      Object.fromEntries(
        vmsPerHost(
          new Map([
            ['v1', 'h0'],
            ['v2', 'h1'],
            ['v3', 'h0'],
          ]),
        ),
      ),
    ).toEqual({ h0: 2, h1: 1 });
  });
});
