// The SchedulerParams converter (proto-scheduler.ts): every policy's scheduler-wide parameters
// survive plain -> message -> wire -> message -> plain unchanged, and a value of the wrong shape is
// refused with the field at fault named.

import { SchedulerParams } from '@vsim/proto';
import { POLICY_DESCRIPTORS, defaultsOf } from '@vsim/vocabulary';
import { schedulerMessage, schedulerSpecOf, schedulerUpdateMessage } from '../src/proto-scheduler';

const MS = 1_000_000;

/** Through the wire: what the other end of a gRPC call decodes. */
function wire(m: SchedulerParams): SchedulerParams {
  return SchedulerParams.decode(SchedulerParams.encode(m).finish());
}

describe('SchedulerParams converter', () => {
  // Every parameter of every policy, each at a value other than its default where it has one.
  const full: Record<string, Record<string, unknown>> = {
    'round-robin': { timeslice: 3 * MS },
    credit: { tslice: 7 * MS, ratelimit: 0, accounting: 'tick', boost: false, acctPhase: 2 * MS },
    credit2: { ratelimit: 2 * MS, runqueue: 'core', groupSize: 4, maxCpusPerRunqueue: 8 },
    sedf: {},
    rtds: {},
  };

  it('covers every parameter of every registered policy', () => {
    for (const d of POLICY_DESCRIPTORS) expect(Object.keys(full[d.name]!).sort()).toEqual(Object.keys(d.params).sort());
  });

  it.each(POLICY_DESCRIPTORS.map((d) => d.name))('round-trips %s: all parameters, defaults only, none', (policy) => {
    const d = POLICY_DESCRIPTORS.find((x) => x.name === policy)!;
    for (const params of [full[policy]!, defaultsOf(d.params), {}]) {
      expect(schedulerSpecOf(wire(schedulerMessage({ policy, params })))).toEqual({ policy, params });
    }
  });

  it('round-trips each credit2 run-queue arrangement and both credit accountings (the enums)', () => {
    for (const runqueue of ['cpu', 'core', 'socket', 'all'])
      expect(schedulerSpecOf(wire(schedulerMessage({ policy: 'credit2', params: { runqueue } }))).params).toEqual({ runqueue });
    for (const accounting of ['precise', 'tick'])
      expect(schedulerSpecOf(wire(schedulerMessage({ policy: 'credit', params: { accounting } }))).params).toEqual({ accounting });
  });

  it('round-trips cpupools: the default pool and each pool with its own scheduler', () => {
    const spec = {
      policy: 'cpupools',
      params: {
        default: { policy: 'credit', params: { tslice: 10 * MS } },
        pools: [
          { id: 'rt', pcpus: [2, 3], scheduler: { policy: 'rtds', params: {} } },
          { id: 'batch', pcpus: [1], scheduler: { policy: 'credit2', params: { runqueue: 'all' } } },
        ],
      },
    };
    expect(schedulerSpecOf(wire(schedulerMessage(spec)))).toEqual(spec);
  });

  it('types a partial scheduler-wide update as the named policy, or the first that takes every key', () => {
    expect(wire(schedulerUpdateMessage({ ratelimit: 500_000 }, 'credit2')).policy?.$case).toBe('credit2');
    expect(wire(schedulerUpdateMessage({ ratelimit: 500_000 })).policy?.$case).toBe('credit');
    expect(wire(schedulerUpdateMessage({ groupSize: 2 })).policy?.$case).toBe('credit2');
    expect(schedulerSpecOf(wire(schedulerUpdateMessage({ timeslice: MS }))).params).toEqual({ timeslice: MS });
  });

  it('names the field at fault', () => {
    expect(() => schedulerMessage({ policy: 'lottery', params: {} })).toThrow(
      "scheduler: unknown scheduling policy 'lottery' (round-robin, credit, sedf, rtds, credit2)",
    );
    expect(() => schedulerMessage({ policy: 'rtds', params: { tslice: 1 } })).toThrow(
      /^scheduler: tslice is not a parameter of rtds \(it is one of credit\)/,
    );
    expect(() => schedulerMessage({ policy: 'credit', params: { tslice: '30ms' } })).toThrow(
      'scheduler.credit.tslice: expected a non-negative integer (ns), got "30ms"',
    );
    expect(() => schedulerMessage({ policy: 'credit', params: { tslice: -1 } })).toThrow(
      'scheduler.credit.tslice: expected a non-negative integer (ns), got -1',
    );
    expect(() => schedulerMessage({ policy: 'credit', params: { boost: 1 } })).toThrow('scheduler.credit.boost: expected true or false, got 1');
    expect(() => schedulerMessage({ policy: 'credit2', params: { runqueue: 'node' } })).toThrow(
      'scheduler.credit2.runqueue: expected one of cpu, core, socket, all, got "node"',
    );
    expect(() =>
      schedulerMessage({ policy: 'cpupools', params: { default: { policy: 'credit', params: {} }, pools: [{ id: 'p', pcpus: [-1] }] } }),
    ).toThrow('scheduler.cpupools.pools[0].pcpus: expected a list of pCPU ids, got [-1]');
    expect(() => schedulerUpdateMessage({ weight: 3 })).toThrow(/^scheduler\.weight: not a scheduler-wide parameter of any one policy/);
    expect(() => schedulerSpecOf({ policy: undefined })).toThrow('scheduler: names no policy (round-robin, credit, sedf, rtds, credit2, cpupools)');
    expect(() => schedulerSpecOf({ policy: { $case: 'credit', value: { accounting: 0 } } }, 'swap')).toThrow(
      'swap.credit.accounting: expected one of precise, tick, got enum value 0',
    );
  });
});
