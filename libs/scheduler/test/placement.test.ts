// Initial placement of VMs that name no host (placement.ts): fits, same ISA, least
// loaded, first listed — each rule pinned by a case where it alone decides.

import { placeVmsOnHosts } from '../src/placement';

const vm = (id: string, vcpus = 1, extra: Record<string, unknown> = {}) => ({ id, vcpus, ...extra });

describe('placement of VMs without a host', () => {
  it('keeps named hosts and fills the least-loaded host (vCPUs per pCPU) next', () => {
    const hosts = [
      { id: 'a', pcpus: 2 },
      { id: 'b', pcpus: 4 },
    ];
    const p = placeVmsOnHosts(hosts, [vm('x', 2, { host: 'a' }), vm('y'), vm('z'), vm('w')]);
    // a holds 2 vCPUs on 2 pCPUs; b takes y, z, w (1/4, 2/4, 3/4 < 3/2).
    expect(Object.fromEntries(p)).toEqual({ x: 'a', y: 'b', z: 'b', w: 'b' });
  });

  it('first-fit fills the first listed host while it has a free pCPU, then the next, then least-loaded', () => {
    const hosts = [
      { id: 'a', pcpus: 2 },
      { id: 'b', pcpus: 2 },
    ];
    const vms = [vm('x'), vm('y'), vm('z'), vm('w'), vm('v')];
    // Least-loaded alternates; first-fit packs a, then b, then (both full) the least loaded: a.
    expect(Object.fromEntries(placeVmsOnHosts(hosts, vms))).toEqual({ x: 'a', y: 'b', z: 'a', w: 'b', v: 'a' });
    expect(Object.fromEntries(placeVmsOnHosts(hosts, vms, 'first-fit'))).toEqual({ x: 'a', y: 'a', z: 'b', w: 'b', v: 'a' });
  });

  it('breaks ties by the order hosts are listed', () => {
    const hosts = [
      { id: 'a', pcpus: 2 },
      { id: 'b', pcpus: 2 },
    ];
    expect(Object.fromEntries(placeVmsOnHosts(hosts, [vm('x'), vm('y'), vm('z')]))).toEqual({ x: 'a', y: 'b', z: 'a' });
  });

  it('puts an SMP VM only on a host with enough pCPUs, even a busier one', () => {
    const hosts = [
      { id: 'small', pcpus: 1 },
      { id: 'big', pcpus: 2 },
    ];
    const p = placeVmsOnHosts(hosts, [vm('busy', 2, { host: 'big' }), vm('smp', 2)]);
    expect(p.get('smp')).toBe('big');
  });

  it('overcommits rather than fail when no host is big enough', () => {
    const hosts = [
      { id: 'a', pcpus: 1 },
      { id: 'b', pcpus: 1 },
    ];
    expect(placeVmsOnHosts(hosts, [vm('x', 4)]).get('x')).toBe('a');
  });

  it("prefers a host of the VM's own ISA (direct execution) over a less-loaded one of the other ISA", () => {
    const hosts = [
      { id: 'r', pcpus: 1, isa: 'ring32' },
      { id: 'v', pcpus: 1, isa: 'rv32' },
    ];
    const p = placeVmsOnHosts(hosts, [vm('load', 1, { host: 'v' }), vm('rv'), vm('k', 1, { isa: 'ring32' })]);
    expect(p.get('rv')).toBe('v');
    expect(p.get('k')).toBe('r');
  });

  it('sends a VM naming a cpupool to a host that has that pool', () => {
    const hosts = [
      { id: 'a', pcpus: 4 },
      { id: 'b', pcpus: 4, pools: [{ id: 'rt' }] },
    ];
    expect(placeVmsOnHosts(hosts, [vm('x', 1, { sched: { pool: 'rt' } })]).get('x')).toBe('b');
  });

  it('refuses a cluster with no hosts, naming the problem', () => {
    expect(() => placeVmsOnHosts([], [vm('x')])).toThrow(/no hosts/);
  });
});
