// Initial placement: which host a VM starts on when its scenario entry names none (issue 5 item 3).
//
// Xen leaves the choice of host to the toolstack (xl create on the host you run it on; higher-level
// managers such as XAPI pick one); within a host, Credit's cpu_pick places vCPUs on pCPUs. vsim's
// rule, applied in scenario order so it is deterministic:
//   1. the VM must fit: a host with at least as many pCPUs as the VM has vCPUs (an SMP guest whose
//      vCPUs cannot all run at once would spin on its locks), and, when the VM names a cpupool
//      (`sched.pool`), a host that has that pool;
//   2. among those, prefer a host of the VM's own ISA (direct execution; another ISA means emulation,
//      which costs the engine's expansion factor on every guest instruction);
//   3. then the least-loaded host: the lowest ratio of vCPUs placed (including this VM) to pCPUs;
//   4. ties go to the host listed first.
// That is the `least-loaded` policy (the default). `first-fit` (issue 12 item 4, swappable placement)
// keeps rules 1 and 2 and then takes the first host listed where the VM's vCPUs still fit in its
// pCPUs (placed vCPUs + this VM ≤ pCPUs), falling back to least-loaded when none has room.
// If no host fits, rule 1 is relaxed to "any host" (the VM still runs, overcommitted), so that a
// scenario never fails for lack of a perfect host; rules 2–4 still apply.

export interface PlacementHost {
  readonly id: string;
  readonly pcpus: number;
  readonly isa?: string;
  readonly pools?: readonly { readonly id: string }[];
}

export interface PlacementVm {
  readonly id: string;
  readonly host?: string;
  readonly vcpus: number;
  readonly isa?: string;
  readonly sched?: { readonly [param: string]: unknown };
}

const DEFAULT_ISA = 'rv32';

/** How a VM without a host is placed (the scenario's `placement`). */
export const PLACEMENT_POLICIES = ['least-loaded', 'first-fit'] as const;
export type PlacementPolicy = (typeof PLACEMENT_POLICIES)[number];

/** The host of every VM: its own when named, else the one the rule above picks. */
export function placeVmsOnHosts(
  hosts: readonly PlacementHost[],
  vms: readonly PlacementVm[],
  policy: PlacementPolicy = 'least-loaded',
): Map<string, string> {
  if (hosts.length === 0) throw new RangeError('placement: no hosts to place VMs on');
  const load = new Map(hosts.map((h) => [h.id, 0]));
  const placed = new Map<string, string>();
  for (const vm of vms)
    if (vm.host) {
      placed.set(vm.id, vm.host);
      load.set(vm.host, (load.get(vm.host) ?? 0) + vm.vcpus);
    }
  for (const vm of vms)
    if (!vm.host) {
      const best = pickHost(hosts, vm, load, policy);
      placed.set(vm.id, best.id);
      load.set(best.id, load.get(best.id)! + vm.vcpus);
    }
  return placed;
}

function pickHost(hosts: readonly PlacementHost[], vm: PlacementVm, load: ReadonlyMap<string, number>, policy: PlacementPolicy): PlacementHost {
  const pool = typeof vm.sched?.pool === 'string' && vm.sched.pool !== 'default' ? vm.sched.pool : undefined;
  const fits = hosts.filter((h) => h.pcpus >= vm.vcpus && (!pool || (h.pools ?? []).some((p) => p.id === pool)));
  const candidates = fits.length > 0 ? fits : hosts;
  const vmIsa = vm.isa ?? DEFAULT_ISA;
  const sameIsa = candidates.filter((h) => (h.isa ?? DEFAULT_ISA) === vmIsa);
  const pool2 = sameIsa.length > 0 ? sameIsa : candidates;
  const ratio = (h: PlacementHost) => (load.get(h.id)! + vm.vcpus) / h.pcpus;
  if (policy === 'first-fit') {
    const room = pool2.find((h) => ratio(h) <= 1);
    if (room) return room;
  }
  let best = pool2[0];
  for (const h of pool2) if (ratio(h) < ratio(best)) best = h;
  return best;
}
