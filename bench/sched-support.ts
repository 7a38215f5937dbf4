// What bench/sched.ts needs from the runtime, in one place.
export { CreditPolicy, handleTrap, HostExecutor, HostLoop } from '@vsim/runtime';
export type { CreditOptions, HostLoopResult } from '@vsim/runtime';

export const vcpuKey = (vm: string, vcpu = 0) => `${vm}/${vcpu}`;
