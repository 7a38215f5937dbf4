// What bench/sched.ts needs from the runtime, in one place.
export { CreditPolicy, HostLoop, jainIndex, latencySummary, makePolicy } from '@vsim/scheduler';
export { handleTrap } from '@vsim/hypervisor';
export { HostExecutor } from '@vsim/executor';
export type { CreditOptions, HostLoopResult, SchedulerPolicy, VcpuStats } from '@vsim/scheduler';

export const vcpuKey = (vm: string, vcpu = 0) => `${vm}/${vcpu}`;

/**
 * Max-min fair shares by weight, each VM at most one pCPU (single-vCPU VMs, always runnable): the
 * ideal of a work-conserving weighted scheduler (water-filling: VMs whose weighted share would
 * exceed one pCPU get exactly one, the rest share what is left by weight). In pCPUs.
 */
export function weightedMaxMin(weights: readonly number[], pcpus: number): number[] {
  const out = weights.map(() => 0);
  let left = weights.map((_, i) => i);
  let capacity = pcpus;
  for (;;) {
    const total = left.reduce((a, i) => a + weights[i], 0);
    const full = left.filter((i) => (capacity * weights[i]) / total >= 1);
    if (full.length === 0) {
      for (const i of left) out[i] = (capacity * weights[i]) / total;
      return out;
    }
    for (const i of full) out[i] = 1;
    capacity -= full.length;
    left = left.filter((i) => !full.includes(i));
    if (left.length === 0) return out;
  }
}
