// xl's CPU-set syntax both ways and the sched-* tables, without a cluster (xl-verbs.test.ts runs
// the commands on one): times in xl's units, never ns; defaults shown for what was never set.

import { DomainList, SchedParams } from '@vsim/proto';
import { schedulerMessage } from '@vsim/control';
import { cpuSet, parseCpuList } from '../src/xl/format';
import { schedTables } from '../src/xl/sched-tables';

describe('CPU sets as xl prints and parses them', () => {
  it.each([
    [[], 4, 'all'],
    [[0, 1, 2, 3], 4, 'all'],
    [[0, 1], 4, '0-1'],
    [[3, 0, 1, 5, 6, 7], 8, '0-1,3,5-7'],
    [[9], 4, 'none'],
  ])('print_bitmap %j of %d CPUs -> %s', (ids, n, text) => expect(cpuSet(ids, n)).toBe(text));

  it.each([
    ['all', [0, 1, 2, 3]],
    ['2', [2]],
    ['0-2', [0, 1, 2]],
    ['0-3,^1', [0, 2, 3]],
    ['all,^0-1', [2, 3]],
  ])('parse_cpurange %s', (text, ids) => expect(parseCpuList(text, 4)).toEqual(ids));

  it.each([
    ['4', "'4': the host has pCPUs 0-3"],
    ['x', "'x' is not a CPU, a range N-M, ^N or all"],
    ['3-1', "'3-1': the range is empty"],
  ])('refuses %s naming the item', (text, message) => expect(() => parseCpuList(text, 4)).toThrow(message));
});

describe('sched-* tables', () => {
  const list: DomainList = {
    pools: [{ host: 'h0', pool: 'default', scheduler: 'credit', pcpus: [0, 1] }],
    domains: [
      { vm: 'web', id: 1, host: 'h0', memoryBytes: 1 << 22, pool: 'default', scheduler: 'credit', paused: false, shutdown: '', vcpus: [] },
      { vm: 'db', id: 2, host: 'h0', memoryBytes: 1 << 22, pool: 'default', scheduler: 'credit', paused: false, shutdown: '', vcpus: [] },
    ],
  };
  const params = (host: object): SchedParams => ({
    hosts: [
      { host: 'h0', policy: 'credit', scheduler: schedulerMessage({ policy: 'credit', params: host as Record<string, unknown> }), nowNs: 5_000_000 },
    ],
    vms: [
      { vm: 'web', host: 'h0', policy: 'credit', params: { weight: 512, cap: 50, slice: 10_000_000, pin: [] } },
      { vm: 'db', host: 'h0', policy: 'credit', params: { pin: [] } },
    ],
  });

  it('shows Credit as xl sched-credit does: tslice in ms, ratelimit in µs, defaults for what was never set', () => {
    expect(schedTables(params({ tslice: 10_000_000 }), list, { policy: 'credit' })).toBe(
      [
        'Cpupool default: tslice=10ms ratelimit=1000us migration-delay=0us',
        'Name                                ID Weight  Cap',
        'web                                  1    512   50',
        'db                                   2    256    0',
        '',
      ].join('\n'),
    );
    expect(schedTables(params({ ratelimit: 500_000 }), list, { policy: 'credit', poolsOnly: true })).toBe(
      'Cpupool default: tslice=30ms ratelimit=500us migration-delay=0us\n',
    );
    expect(schedTables(params({}), list, { policy: 'credit', domain: 'db' })).toBe(
      'Name                                ID Weight  Cap\ndb                                   2    256    0\n',
    );
  });

  it('shows nothing for a policy no pool runs', () => {
    expect(schedTables(params({}), list, { policy: 'rtds' })).toBe('');
  });
});
