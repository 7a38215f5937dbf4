// vsim-scheduler: owns run queues and policies and drives every host loop of the simulations it is
// given (run orders on vsim.<sim>.run.<node>.<host>, events on vsim.<sim>.events.<host>).
// Control: vsim.v1.SchedulerControl over gRPC. See README.md.

import { SchedulerControlService } from '@vsim/proto';
import { SchedulerControlImpl, schedulerControlServer } from '@vsim/control';
import { BUILTIN_SCHEDULER, IMPLEMENTATION_KEY, runService } from '@vsim/service';
import { DirectoryCheckpointStore } from '@vsim/bus';
import { resolve } from 'node:path';
import { version } from '../package.json';

void runService({
  service: 'scheduler',
  name: 'vsim-scheduler',
  description: 'vsim scheduler service: run queues, scheduling policies, host loops',
  version,
  role: 'scheduler',
  flags: [
    {
      name: 'checkpoint-dir',
      value: 'DIR',
      description:
        'checkpoint store (a local directory shared by the scheduler, cpu-nodes and gateway of one machine): where checkpoints of the simulations it drives go, and resumed hosts are read from',
    },
  ],
  build: ({ bus, log, flags, extra, shellCounters, metrics }) => {
    const impl = new SchedulerControlImpl(bus, {
      instance: flags.instance,
      version,
      log,
      counters: () => shellCounters,
      observer: metrics.scheduler(),
      checkpointStore: extra['checkpoint-dir'] === undefined ? undefined : new DirectoryCheckpointStore(resolve(extra['checkpoint-dir'])),
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
