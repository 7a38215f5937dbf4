// A simulation spec's identity for checkpoints (HostCheckpoint.spec_id): resume refuses a
// checkpoint of another scenario, seed or image. Image paths are replaced by a hash of the image's
// bytes, so a checkout moved elsewhere keeps its identity, and an image rebuilt differently does not.

import { createHash } from 'node:crypto';
import { stateToJson } from '@vsim/scheduler';
import { SimSpec } from '../simulation';

export function specIdentity(spec: SimSpec, readImage: (path: string) => Uint8Array): string {
  const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
  const images = new Map<string, string>();
  const vms = spec.vms.map((vm) => {
    if (!images.has(vm.image)) images.set(vm.image, sha(readImage(vm.image)));
    return { ...vm, image: images.get(vm.image) };
  });
  const { checkpointIntervalNs: _interval, ...simulated } = spec;
  return sha(stateToJson({ ...simulated, vms }));
}
