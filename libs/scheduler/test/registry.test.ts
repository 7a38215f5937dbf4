// The policy registry (as Xen's REGISTER_SCHEDULER): every policy of the vocabulary is registered
// with its constructor, makePolicy builds from it, and a parameter that does not fit the policy's
// schema is refused by name before the policy exists.

import { InProcessBroker } from '@vsim/bus';
import { POLICIES, POLICY_DESCRIPTORS, defaultsOf } from '@vsim/vocabulary';
import { SCHEDULERS, SchedulerService, makePolicy, makeRegisteredPolicy } from '@vsim/scheduler';

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
