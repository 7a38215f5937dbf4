// vsim-cpu-node: simulates the hosts the coordinator assigns to it (vsim.<sim>.host.<host>.run),
// holding its VMs' memory and vCPU state. Control: vsim.v1.CpuNodeControl over gRPC. See README.md.

import { CpuNodeControlService } from '@vsim/proto';
import { CpuNodeControlImpl, cpuNodeControlServer } from '@vsim/control';
import { runService } from '@vsim/service';
import { version } from '../package.json';

void runService({
  service: 'cpu-node',
  name: 'vsim-cpu-node',
  description: 'vsim cpu-node service: simulates hosts (pCPUs running vCPUs)',
  version,
  flags: [{
    name: 'node-id', value: 'ID', description: 'node id hosts are assigned by (default: the instance name)',
    default: (common) => common.instance,
  }],
  build: ({ bus, log, flags, extra }) => {
    const nodeId = extra['node-id'];
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(nodeId)) throw new Error(`--node-id must be 1-64 characters of [A-Za-z0-9_.-], got ${JSON.stringify(nodeId)}`);
    const impl = new CpuNodeControlImpl(bus, { nodeId, instance: flags.instance, version, log: log.child({ node: nodeId }) });
    return {
      grpc: [{
        definition: CpuNodeControlService,
        implementation: cpuNodeControlServer(impl, (rpc, err) => log.warn({ rpc, err }, 'control call failed')),
      }],
      metadata: { node: nodeId },
      ready: { node: nodeId },
      afterStop: () => impl.closeAll(),
    };
  },
});
