// vsim-cpu-node: simulates the hosts the coordinator assigns to it (vsim.<sim>.run.<node>.<host>),
// holding its VMs' memory and vCPU state. Control: vsim.v1.CpuNodeControl over gRPC. See README.md.

import { CpuNodeControlService } from '@vsim/proto';
import { CPU_NODE_MAX_MESSAGE_BYTES, CpuNodeControlImpl, cpuNodeControlServer } from '@vsim/control';
import { runService } from '@vsim/service';
import { DirectoryCheckpointStore } from '@vsim/bus';
import { resolve } from 'node:path';
import { version } from '../package.json';

void runService({
  service: 'cpu-node',
  name: 'vsim-cpu-node',
  description: 'vsim cpu-node service: simulates hosts (pCPUs running vCPUs)',
  version,
  role: 'cpu-node',
  flags: [
    {
      name: 'checkpoint-dir',
      value: 'DIR',
      description:
        'checkpoint store (a local directory shared by the scheduler, cpu-nodes and gateway of one machine): where this node stores VM snapshots for checkpoints, and restores them from to resume',
    },
    {
      name: 'node-id',
      value: 'ID',
      description: "node id hosts are assigned by (default: the identity file's, else the instance name)",
    },
  ],
  build: ({ bus, log, flags, extra, identity, shellCounters }) => {
    const nodeId = extra['node-id'] ?? identity?.node ?? flags.instance;
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(nodeId))
      throw new Error(`--node-id must be 1-64 characters of [A-Za-z0-9_-] (it is a NATS subject token), got ${JSON.stringify(nodeId)}`);
    // NATS lets this identity serve and publish only its own node's subjects.
    if (identity && identity.node !== nodeId)
      throw new Error(`--node-id ${nodeId} is not this identity's node (${identity.identity} is node ${identity.node})`);
    const impl = new CpuNodeControlImpl(bus, {
      nodeId,
      instance: flags.instance,
      version,
      log: log.child({ node: nodeId }),
      counters: () => shellCounters,
      checkpointStore: extra['checkpoint-dir'] === undefined ? undefined : new DirectoryCheckpointStore(resolve(extra['checkpoint-dir'])),
    });
    return {
      grpc: [
        {
          definition: CpuNodeControlService,
          implementation: cpuNodeControlServer(impl, (rpc, err) => log.warn({ rpc, err }, 'control call failed')),
        },
      ],
      metadata: { node: nodeId },
      ready: { node: nodeId },
      finishWork: () => impl.finishWork(),
      afterStop: () => impl.closeAll(),
      maxReceiveMessageBytes: CPU_NODE_MAX_MESSAGE_BYTES,
    };
  },
});
