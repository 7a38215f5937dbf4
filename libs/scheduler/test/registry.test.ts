// The policy registry (as Xen's REGISTER_SCHEDULER): every policy of the vocabulary is registered
// with its constructor, makePolicy builds from it, and a parameter that does not fit the policy's
// schema is refused by name before the policy exists.

import { InProcessBroker } from '@vsim/bus';
import { POLICIES, POLICY_DESCRIPTORS, RTDS, SEDF, checkVmParams, defaultsOf, vmParamDefault } from '@vsim/vocabulary';
import {
  RTDS_DEFAULT_BUDGET_NS,
  RTDS_DEFAULT_PERIOD_NS,
  RtdsPolicy,
  SEDF_DEFAULT_PERIOD_NS,
  SEDF_DEFAULT_SLICE_NS,
  SCHEDULERS,
  SchedulerService,
  makePolicy,
  makeRegisteredPolicy,
} from '@vsim/scheduler';

const MS = 1e6;

describe('policy registry', () => {
  it('registers every policy of the vocabulary, each built from its defaults', () => {
    expect(Object.keys(SCHEDULERS).sort()).toEqual([...POLICIES].sort());
    for (const d of POLICY_DESCRIPTORS) {
      expect(SCHEDULERS[d.name].descriptor).toBe(d);
      expect(makeRegisteredPolicy(d.name, defaultsOf(d.params), 2).name).toBe(d.name);
    }
  });

  it('refuses an unknown policy and a parameter of another policy, naming them', () => {
    expect(() => makePolicy({ policy: 'cfs', params: {} }, 1)).toThrow("unknown scheduling policy 'cfs' (round-robin, credit, sedf, rtds, credit2)");
    expect(() => makePolicy({ policy: 'rtds', params: { tslice: 10 } }, 1)).toThrow(
      'rtds: tslice is not a parameter of rtds (it is one of credit); it takes no scheduler-wide parameters',
    );
    expect(() => makePolicy({ policy: 'credit2', params: { runqueue: 'numa' } }, 1)).toThrow(
      'credit2: runqueue must be one of cpu, core, socket, all, got "numa"',
    );
  });
});

describe('run-time values are checked as the scenario validator checks them', () => {
  const svc = () => {
    const s = new SchedulerService(new InProcessBroker().connect(), 'sim');
    s.addHost('h0', 1, { policy: 'credit', params: {} }, 'n0');
    s.addVm('h0', { id: 'web', vcpus: 1, sched: { weight: 256, cap: 0 } });
    return s;
  };

  it('cap over 100 × vcpus, a weight out of range, an RTDS key on a Credit VM', () => {
    expect(() => svc().setVmParams('web', { cap: 500 }, 'credit')).toThrow('VM web: cap 500 is more than 100 × vcpus (100 for 1 vCPU)');
    expect(() => svc().setVmParams('web', { weight: 0 }, 'credit')).toThrow('VM web: weight must be 1–65535, got 0');
    expect(() => svc().setVmParams('web', { budget: 1e6 })).toThrow('VM web: budget is a parameter of rtds, not credit (credit reads weight, cap)');
    expect(() => svc().setVmParams('web', { cap: 100 }, 'credit')).not.toThrow();
  });

  it('scheduler-wide: a tslice out of range, a ratelimit longer than the current tslice', () => {
    expect(() => svc().setSchedulerParams({ tslice: 5e9 }, 'credit')).toThrow('credit: tslice must be 1ms–1s, got 5s');
    expect(() => svc().setSchedulerParams({ ratelimit: 40e6 }, 'credit')).toThrow('credit: ratelimit (40ms) is longer than tslice (30ms)');
  });
});

describe('per-VM defaults per policy (issue 14 item 13)', () => {
  it("RTDS's are rt.c's RTDS_DEFAULT_BUDGET / RTDS_DEFAULT_PERIOD (4 ms / 10 ms), SEDF keeps its own (10 ms / 100 ms)", () => {
    expect([vmParamDefault(RTDS, 'budget'), vmParamDefault(RTDS, 'period')]).toEqual([4 * MS, 10 * MS]);
    expect([vmParamDefault(SEDF, 'slice'), vmParamDefault(SEDF, 'period')]).toEqual([10 * MS, 100 * MS]);
    expect([RTDS_DEFAULT_BUDGET_NS, RTDS_DEFAULT_PERIOD_NS, SEDF_DEFAULT_SLICE_NS, SEDF_DEFAULT_PERIOD_NS]).toEqual([
      4 * MS,
      10 * MS,
      10 * MS,
      100 * MS,
    ]);
  });

  it('an RTDS VM with only period 5ms is accepted and runs 4 ms of each 5 ms period', () => {
    expect(checkVmParams(RTDS, { period: 5 * MS }, 1)).toEqual([]);
    const rtds = new RtdsPolicy(1);
    const v = { vm: 'rt', vcpu: 0, key: 'rt/0' };
    rtds.add(v, { period: 5 * MS, extratime: false }, 0);
    const d = rtds.schedule(0);
    expect(d.run[0]?.key).toBe('rt/0');
    expect(d.until).toBe(4 * MS); // its budget: RTDS's default, not the 10 ms a shared default gave
    rtds.charge(v, 4 * MS, 4 * MS);
    expect(rtds.schedule(4 * MS).run[0]).toBeNull(); // depleted until its next period at 5 ms
  });

  it('budget or slice longer than the period is refused, naming the field, over each policy’s defaults', () => {
    expect(checkVmParams(RTDS, { budget: 20 * MS }, 1)).toEqual([{ key: 'budget', message: 'budget (20ms) is longer than period (10ms)' }]);
    expect(checkVmParams(RTDS, { period: 3 * MS }, 1)).toEqual([{ key: 'budget', message: 'budget (4ms) is longer than period (3ms)' }]);
    expect(checkVmParams(SEDF, { period: 5 * MS }, 1)).toEqual([{ key: 'slice', message: 'slice (10ms) is longer than period (5ms)' }]);
    const s = new SchedulerService(new InProcessBroker().connect(), 'sim');
    s.addHost('h0', 1, { policy: 'rtds', params: {} }, 'n0');
    s.addVm('h0', { id: 'rt', vcpus: 1, sched: {} });
    expect(() => s.setVmParams('rt', { period: 5 * MS }, 'rtds')).not.toThrow();
    expect(() => s.setVmParams('rt', { period: 5 * MS, budget: 6 * MS }, 'rtds')).toThrow('VM rt: budget (6ms) is longer than period (5ms)');
  });
});
