// Resume (Coordinator with `resume`): every host's checkpoint read and checked against the spec
// before anything is set up, then each VM of a resumed host restored by its node from its snapshot
// chain and registered with the hypervisor with its allocator record as it was.

import { CheckpointStore } from '@vsim/bus';
import { Event, HostCheckpoint } from '@vsim/proto';
import { checkpointKeys } from '@vsim/scheduler';
import { ControlPlane } from '../control-plane';
import { step } from '../step';
import { costModelOf } from '../proto-costs';
import { SimSpec } from '../simulation';
import { CheckpointError, findManifest, latestIndex, readCheckpointEvents } from './read';

/** One host's checkpoint, read before a resumed run is set up. */
export interface ResumedHost {
  readonly key: string;
  readonly manifest: HostCheckpoint;
  readonly events: readonly Event[];
}

/**
 * Resume: each host's checkpoint (checkpoint `index`, or the newest), read and checked against
 * the spec before anything is set up: same spec identity, the same VMs on the host.
 */
export async function readCheckpoints(
  resume: { readonly store: CheckpointStore; readonly sim: string; readonly index?: number },
  spec: SimSpec,
  specId: string,
  placement: ReadonlyMap<string, string>,
): Promise<Map<string, ResumedHost>> {
  const { store, sim: from, index } = resume;
  const out = new Map<string, ResumedHost>();
  const newest = new Map<string, number>();
  for (const h of spec.hosts) {
    const latest = await latestIndex(store, from, h.id);
    if (latest !== undefined) newest.set(h.id, latest);
  }
  // Hosts are independent: each resumes from checkpoint `index`, or its newest if it has fewer
  // (it ended before), or starts afresh if it has none. At least one host must have `index`.
  const list = [...newest].map(([h, n]) => `${h}: ${n}`).join(', ');
  if (newest.size === 0)
    throw new CheckpointError(`no checkpoint of simulation ${from} (no host has metadata ${checkpointKeys.latest(from, '<host>')})`);
  if (index !== undefined && ![...newest.values()].some((n) => n >= index))
    throw new CheckpointError(`no host of simulation ${from} has checkpoint ${index} (newest per host: ${list})`);
  for (const h of spec.hosts) {
    const latest = newest.get(h.id);
    if (latest === undefined) continue;
    const { key, manifest } = await findManifest(store, from, h.id, Math.min(index ?? latest, latest));
    if (manifest.specId !== specId)
      throw new CheckpointError(
        `checkpoint ${key} was taken of another scenario, seed or image (spec ${manifest.specId.slice(0, 12)}, this one ${specId.slice(0, 12)})`,
      );
    const expected = spec.vms.filter((vm) => placement.get(vm.id) === h.id).map((vm) => vm.id);
    const got = manifest.vms.map((v) => v.vm);
    if (expected.join(',') !== got.join(','))
      throw new CheckpointError(`checkpoint ${key} holds VMs [${got.join(', ')}], the spec puts [${expected.join(', ')}] on host ${h.id}`);
    out.set(h.id, { key, manifest, events: await readCheckpointEvents(store, manifest) });
  }
  return out;
}

/** Step 4 of a resumed run: each VM restored by its host's node from its snapshots, registered with its allocator record. */
export async function restoreVms(
  control: ControlPlane,
  spec: SimSpec,
  sim: string,
  placement: ReadonlyMap<string, string>,
  assignment: ReadonlyMap<string, string>,
  resumed: ReadonlyMap<string, ResumedHost>,
): Promise<void> {
  for (const vm of spec.vms) {
    const host = placement.get(vm.id)!;
    const r = resumed.get(host);
    if (!r) continue; // its host starts afresh (it has no checkpoint)
    const { manifest } = r;
    const v = manifest.vms.find((x) => x.vm === vm.id)!;
    const orderSeq = manifest.loop!.seq; // readManifest refuses a manifest without it
    const created = await step(`RestoreVm ${vm.id} on node ${assignment.get(host)}`, () =>
      control.nodes.get(assignment.get(host)!)!.restoreVm({ sim, host, vm: vm.id, chain: v.chain, orderSeq }),
    );
    const a = v.allocator;
    await step(`RegisterVm ${vm.id} on the hypervisor`, () =>
      control.hypervisor.registerVm({
        sim,
        vm: vm.id,
        kind: vm.kind,
        brkStart: created.brkStart,
        brkMax: created.brkMax,
        brk: a?.brk ?? 0,
        ended: a?.ended ?? '',
        host,
        node: assignment.get(host)!,
        costs: costModelOf(spec.hosts.find((h) => h.id === host)!.costs),
      }),
    );
  }
}
