// vsim-hypervisor: answers the traps of the simulations it is told to open (vsim.<sim>.trap.<node>)
// and owns each VM's allocator record. Control: vsim.v1.HypervisorControl over gRPC. See README.md.

import { JetStreamStateStore, StateStore } from '@vsim/bus';
import { HypervisorControlService } from '@vsim/proto';
import { STATE_BUCKET } from '@vsim/security';
import { HypervisorControlImpl, hypervisorControlServer } from '@vsim/control';
import { runService } from '@vsim/service';
import { version } from '../package.json';

void runService({
  service: 'hypervisor',
  name: 'vsim-hypervisor',
  description: 'vsim hypervisor service: virtual platforms, trap and hypercall handling',
  version,
  role: 'hypervisor',
  build: async ({ bus, log, flags, shellCounters }) => {
    // With JetStream, the simulations' VM records live in the KV bucket vsim-hypervisor: killed,
    // this process is replaced by the next one started under the same instance name (vsim up
    // restarts it), which takes them over before it registers; the cpu-nodes resend their traps.
    let state: StateStore | undefined;
    if (bus.nc.info?.jetstream) {
      state = await JetStreamStateStore.open(bus.nc, STATE_BUCKET.hypervisor).catch((err: unknown) => {
        log.warn({ err }, 'no state bucket: simulations here are lost if this process dies');
        return undefined;
      });
    } else log.info('NATS has no JetStream: simulations here are lost if this process dies');
    const impl = new HypervisorControlImpl(bus, { instance: flags.instance, version, log, counters: () => shellCounters, state });
    const taken = await impl.recover();
    if (taken.length > 0) log.warn({ simulations: taken }, 'took over the simulations of the previous process');
    return {
      recoverable: state !== undefined,
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
