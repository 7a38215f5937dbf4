// Which cpu-node simulates each host of a simulation (host placement). Where a host runs never
// changes results — only which process does the work — so the choice is free to follow load. Two
// policies, swappable (CoordinatorOptions.assign, the gateway's --placement):
//   least-loaded (default): hosts in scenario order, each to the node with the least load so far —
//     what the nodes already simulate (other simulations, as their Status reports it) plus the
//     hosts of this simulation placed before it —, load compared as pCPUs first, then VMs, ties to
//     the first node id (plain string order). With no load given and hosts of equal size, that is
//     round robin over the sorted ids; a one-host simulation goes to the idlest node, not always n1.
//   first-fit: hosts in scenario order, each to the first node id (string order) whose pCPUs stay
//     within `capacityPcpus` with it; a host that fits nowhere goes least-loaded. Packs simulations
//     onto few nodes (the others stay idle for bigger ones).
// Deterministic for given hosts, node ids, loads and policy.

/** What a node simulates (or a host brings to it). */
export interface NodeLoad {
  readonly pcpus: number;
  readonly vms: number;
}

/** A host to place: its size. */
export interface HostToPlace {
  readonly id: string;
  readonly pcpus?: number;
  /** The VMs it will run (placement of VMs on hosts comes first). Default 0. */
  readonly vms?: number;
}

export const PLACEMENT_POLICIES = ['least-loaded', 'first-fit'] as const;
export type PlacementPolicy = (typeof PLACEMENT_POLICIES)[number];

export interface PlacementOptions {
  readonly policy?: PlacementPolicy;
  /** first-fit: the pCPUs a node takes before the next one is used. Default: unbounded (everything on the first node). */
  readonly capacityPcpus?: number;
}

/** The load of a node as given: a number is pCPUs (no VM count known). */
function loadOf(l: NodeLoad | number | undefined): NodeLoad {
  if (l === undefined) return { pcpus: 0, vms: 0 };
  return typeof l === 'number' ? { pcpus: l, vms: 0 } : l;
}

function lighter(a: NodeLoad, b: NodeLoad): boolean {
  return a.pcpus !== b.pcpus ? a.pcpus < b.pcpus : a.vms < b.vms;
}

/** Throws on an unknown policy name, naming the choices. */
export function placementPolicyOf(name: string): PlacementPolicy {
  if ((PLACEMENT_POLICIES as readonly string[]).includes(name)) return name as PlacementPolicy;
  throw new RangeError(`placement policy ${JSON.stringify(name)} is unknown (${PLACEMENT_POLICIES.join(', ')})`);
}

/**
 * Host -> cpu-node id, by `opts.policy` (default least-loaded), given what the nodes already
 * simulate (`load`: NodeLoad, or pCPUs alone). Throws when there is no node.
 */
export function assignHosts(
  hosts: readonly HostToPlace[],
  nodeIds: Iterable<string>,
  load: ReadonlyMap<string, NodeLoad | number> = new Map(),
  opts: PlacementOptions = {},
): Map<string, string> {
  const nodes = [...nodeIds].sort();
  if (nodes.length === 0) throw new Error('no cpu-node to run the hosts on');
  const busy = new Map(nodes.map((n) => [n, loadOf(load.get(n))]));
  const policy = opts.policy ?? 'least-loaded';
  const capacity = opts.capacityPcpus ?? Number.POSITIVE_INFINITY;
  const out = new Map<string, string>();
  for (const h of hosts) {
    const size = { pcpus: h.pcpus ?? 1, vms: h.vms ?? 0 };
    let best: string | undefined;
    if (policy === 'first-fit') best = nodes.find((n) => busy.get(n)!.pcpus + size.pcpus <= capacity);
    if (best === undefined) {
      best = nodes[0];
      for (const n of nodes) if (lighter(busy.get(n)!, busy.get(best)!)) best = n;
    }
    out.set(h.id, best);
    const b = busy.get(best)!;
    busy.set(best, { pcpus: b.pcpus + size.pcpus, vms: b.vms + size.vms });
  }
  return out;
}

/** How many VMs each host runs, from the VM -> host placement. */
export function vmsPerHost(placement: ReadonlyMap<string, string>): Map<string, number> {
  const n = new Map<string, number>();
  for (const host of placement.values()) n.set(host, (n.get(host) ?? 0) + 1);
  return n;
}
