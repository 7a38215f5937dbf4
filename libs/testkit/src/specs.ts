// Test support: the two-host simulation the cluster tests run embedded, over NATS + gRPC in one
// process, and across processes, expecting the same results and event-log hash every time.

import { SimSpec, VmSpec } from '@vsim/control';
import { GUEST_BIN } from './guests';

/**
 * Hosts h0, h1 (2 pCPUs, 1 GHz, 10 µs quantum); Linux VMs on the bt engine with 16 MiB:
 * hello [x] and checksum [1] on h0, matmul [2] and fault on h1, recursion [1] placed by the
 * scheduler; round robin with 1 ms slices; 100 ms.
 */
export function twoHostSpec(trapPath: 'split' | 'remote' = 'split', bin = GUEST_BIN): SimSpec {
  const vm = (id: string, image: string, args: string[], host?: string): VmSpec => ({
    id,
    host,
    vcpus: 1,
    memoryBytes: 16 << 20,
    image: `${bin}/${image}`,
    args,
    kind: 'linux',
    engine: 'bt',
    sched: {},
  });
  return {
    name: 'two-hosts',
    seed: 1,
    durationNs: 100e6,
    trapPath,
    scheduler: { policy: 'round-robin', params: { timeslice: 1e6 } },
    hosts: [
      { id: 'h0', pcpus: 2, clockHz: 1e9, quantumNs: 10_000 },
      { id: 'h1', pcpus: 2, clockHz: 1e9, quantumNs: 10_000 },
    ],
    vms: [
      vm('hello', 'hello.elf', ['x'], 'h0'),
      vm('sum', 'checksum.elf', ['1'], 'h0'),
      vm('mat', 'matmul.elf', ['2'], 'h1'),
      vm('bad', 'fault.elf', [], 'h1'),
      vm('rec', 'recursion.elf', ['1']),
    ],
  };
}
