// vsim-scheduler: owns run queues and policies and drives every host loop of the simulations it is
// given (run orders on vsim.<sim>.run.<node>.<host>, events on vsim.<sim>.events.<host>).
// Control: vsim.v1.SchedulerControl over gRPC. See README.md.

import { SchedulerControlService } from '@vsim/proto';
import { SchedulerControlImpl, schedulerControlServer } from '@vsim/control';
import { BUILTIN_SCHEDULER, IMPLEMENTATION_KEY, runService } from '@vsim/service';
import { version } from '../package.json';

void runService({
  service: 'scheduler',
  name: 'vsim-scheduler',
  description: 'vsim scheduler service: run queues, scheduling policies, host loops',
  version,
  role: 'scheduler',
  build: ({ bus, log, flags, shellCounters, metrics }) => {
    const impl = new SchedulerControlImpl(bus, {
      instance: flags.instance,
      version,
      log,
      counters: () => shellCounters,
      observer: metrics.scheduler(),
    });
    return {
      // How the gateway tells vsim's own scheduler from an external one registered under the same name.
      metadata: { [IMPLEMENTATION_KEY]: BUILTIN_SCHEDULER },
      grpc: [
        {
          definition: SchedulerControlService,
          implementation: schedulerControlServer(impl, (rpc, err) => log.warn({ rpc, err }, 'control call failed')),
        },
      ],
      finishWork: () => impl.finishWork(),
    };
  },
});
