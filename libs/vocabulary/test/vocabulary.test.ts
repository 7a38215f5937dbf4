// The vocabulary's own rules: kinds old and new, time formatting for messages, and the schema checks
// the scenario validator and the scheduler share.

import { CREDIT, RTDS, SEDF, checkPolicyParams, checkVmParams, formatNs, vmKindOf } from '@vsim/vocabulary';

describe('vocabulary', () => {
  it('knows the VM kinds by their names and the deprecated sbi', () => {
    expect(vmKindOf('kernel')).toBe('kernel');
    expect(vmKindOf('linux')).toBe('linux');
    expect(vmKindOf('sbi')).toBe('kernel');
    expect(vmKindOf('windows')).toBeUndefined();
    expect(vmKindOf('toString')).toBeUndefined();
  });

  it('formats times as the scenario format writes them', () => {
    expect([0, 7, 500_000, 30e6, 1.5e9].map(formatNs)).toEqual(['0', '7ns', '500us', '30ms', '1.5s']);
  });

  it('checks per-VM parameters against the policy that schedules the VM', () => {
    expect(checkVmParams(CREDIT, { weight: 512, cap: 200, pin: [[0]] }, 2)).toEqual([]);
    expect(checkVmParams(CREDIT, { cap: 300 }, 2)).toEqual([{ key: 'cap', message: 'cap 300 is more than 100 × vcpus (200 for 2 vCPUs)' }]);
    expect(checkVmParams(SEDF, { slice: 20e6 }, 1, { period: 10e6 })).toEqual([
      { key: 'slice', message: 'slice (20ms) is longer than period (10ms)' },
    ]);
    expect(checkVmParams(RTDS, { extratime: 1 }, 1).map((p) => p.message)).toEqual(['extratime expected true or false, got 1']);
    expect(checkVmParams(RTDS, { colour: 'red' }, 1).map((p) => p.key)).toEqual(['colour']);
  });

  it('checks scheduler-wide parameters, an update against the values it keeps', () => {
    expect(checkPolicyParams(CREDIT, { tslice: 10e6 }, { tslice: 30e6, ratelimit: 1e6 })).toEqual([]);
    expect(checkPolicyParams(CREDIT, { tslice: 5e5 }, { ratelimit: 1e6 }).map((p) => p.message)).toEqual(['tslice must be 1ms–1s, got 500us']);
    expect(checkPolicyParams(CREDIT, { tslice: 2e6 }, { ratelimit: 3e6 }).map((p) => p.message)).toEqual([
      'ratelimit (3ms) is longer than tslice (2ms)',
    ]);
    expect(checkPolicyParams(RTDS, { budget: 1 }).map((p) => p.message)).toEqual([
      'budget is not a parameter of rtds; it takes no scheduler-wide parameters',
    ]);
  });
});
