// Execution mode of a VM of kind `linux` (architecture §7): one Linux user program on one vCPU, its
// system calls (ecall from U) exiting to the hypervisor's Linux routine (libs/hypervisor/src/linux.ts)
// and brk served by the allocator (a technique that runs a whole machine image is refused).

import { prepareLinuxProcess } from '@vsim/isa';
import { HypervisedRunner, buildHypervised } from './hypervised';
import type { ExecutionMode } from './runner';

export const LINUX_PROCESS: ExecutionMode = {
  name: 'rv32 Linux process',
  build: (vm) => {
    const setup = vm.setup;
    let brk = { start: 0, max: 0 };
    const bus = buildHypervised(vm, (b, image) => {
      if (setup.vcpus !== 1) throw new RangeError(`VM ${setup.id}: a Linux user program runs on exactly one vCPU`);
      if (setup.technique === 'native' || setup.technique === 'emulation')
        throw new RangeError(`VM ${setup.id}: technique ${setup.technique} runs a machine image (kind kernel), not a Linux user program`);
      return {
        prepare: (hart) => {
          const layout = prepareLinuxProcess(b, hart, image, [setup.id, ...setup.args]);
          brk = { start: layout.brkStart, max: layout.brkMax };
          return undefined;
        },
      };
    });
    return { bus, brk };
  },
  runner: (v, host) => new HypervisedRunner(v, host),
};
