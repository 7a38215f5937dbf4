// vsim-hypervisor: answers the traps of the simulations it is told to open (vsim.<sim>.trap.<node>)
// and owns each VM's allocator record. Control: vsim.v1.HypervisorControl over gRPC. See README.md.

import { HypervisorControlService } from '@vsim/proto';
import { HypervisorControlImpl, hypervisorControlServer } from '@vsim/control';
import { runService } from '@vsim/service';
import { version } from '../package.json';

void runService({
  service: 'hypervisor',
  name: 'vsim-hypervisor',
  description: 'vsim hypervisor service: virtual platforms, trap and hypercall handling',
  version,
  role: 'hypervisor',
  build: ({ bus, log, flags, shellCounters }) => {
    const impl = new HypervisorControlImpl(bus, { instance: flags.instance, version, log, counters: () => shellCounters });
    return {
      grpc: [
        {
          definition: HypervisorControlService,
          implementation: hypervisorControlServer(impl, (rpc, err) => log.warn({ rpc, err }, 'control call failed')),
        },
      ],
      finishWork: () => impl.finishWork(),
      afterStop: () => impl.closeAll(),
    };
  },
});
