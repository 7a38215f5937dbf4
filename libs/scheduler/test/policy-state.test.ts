// Exact continuation from an exported loop state (checkpoints, same-policy handovers): for every
// registered policy and cpupools, on CPU-bound, blocking/waking, paused/offline/halting and
// action-laden mixes, a loop exported at random iteration boundaries, passed through JSON, and
// imported into a fresh loop goes on with exactly the events and figures of the uninterrupted run
// — whether the exporting loop stopped there (a handover) or went on (a checkpoint).

import { Event, HostHandover as HostHandoverMsg, encode } from '@vsim/proto';
import { hostHandoverFrom, hostHandoverOf } from '@vsim/control';
import { HostLoop, HostLoopResult, LoopAction, LoopState, PolicySpec, SCHEDULERS, hostPolicySpec, loopActionsOf, makePolicy } from '@vsim/scheduler';
import { SyntheticHost, SyntheticVcpuProfile, seededRandom } from '@vsim/testkit';

const MS = 1e6;
const PCPUS = 4;
const END = 200 * MS;

interface Mix {
  readonly name: string;
  readonly vms: readonly { id: string; profiles: SyntheticVcpuProfile[]; sched?: Record<string, unknown>; online?: number }[];
  readonly actions?: readonly LoopAction[];
}

/** Per-policy VM parameters, so each policy's own (weights, caps, budgets, pins, pools) is exercised. */
function vmParams(policy: string, i: number): Record<string, unknown> {
  switch (policy) {
    case 'credit':
    case 'credit2':
      return { weight: [256, 512, 128][i % 3], ...(i === 2 ? { cap: 50 } : {}) };
    case 'sedf':
      return { slice: [2, 3, 5][i % 3] * MS, period: [10, 20, 25][i % 3] * MS, extra: i % 2 === 0 };
    case 'rtds':
      return { budget: [2, 3, 4][i % 3] * MS, period: [10, 12, 20][i % 3] * MS, extratime: i % 2 === 1 };
    case 'cpupools':
      return i % 3 === 1 ? { pool: 'rt', budget: 2 * MS, period: 7 * MS } : { weight: 256 + 128 * i };
    default:
      return i === 1 ? { pin: [[0, 1]] } : {};
  }
}

const cpuBound: Mix = {
  name: 'cpu-bound',
  vms: [0, 1, 2, 3].map((i) => ({ id: `cb${i}`, profiles: [{}, {}] })),
};
const blocking: Mix = {
  name: 'blocking/waking',
  vms: [
    {
      id: 'io0',
      profiles: [
        { burstNs: 300_000, sleepNs: 700_000 },
        { burstNs: 1.1 * MS, sleepNs: 2.3 * MS },
      ],
    },
    // vCPU 1 sleeps until vCPU 0 wakes it (an IPI), once.
    {
      id: 'io1',
      profiles: [
        { burstNs: 5 * MS, sleepNs: 1 * MS, kick: { afterNs: 9 * MS, vcpu: 1 } },
        { burstNs: 2 * MS, sleepNs: 0 },
      ],
    },
    { id: 'hog', profiles: [{}, {}, {}] },
    { id: 'io2', profiles: [{ burstNs: 50_000, sleepNs: 150_000 }] },
  ],
};
const pausedOffline: Mix = {
  name: 'paused/offline/halting + actions',
  vms: [
    // vCPU 1 offline until vCPU 0 starts it (SBI HSM hart_start); vCPU 2 never started.
    { id: 'smp', profiles: [{ kick: { afterNs: 7 * MS, vcpu: 1 } }, { burstNs: 2 * MS, sleepNs: 1 * MS }, {}], online: 1 },
    { id: 'short', profiles: [{ haltAfterNs: 25 * MS }, { burstNs: 1 * MS, sleepNs: 3 * MS, haltAfterNs: 30 * MS }] },
    { id: 'pz', profiles: [{}, { burstNs: 800_000, sleepNs: 400_000 }] },
    { id: 'bg', profiles: [{}, {}] },
  ],
  actions: [
    { kind: 'pause', at: 10 * MS, vm: 'pz' },
    { kind: 'unpause', at: 31 * MS, vm: 'pz' },
    { kind: 'pause', at: 55 * MS, vm: 'bg' },
    { kind: 'unpause', at: 56 * MS, vm: 'bg' },
    { kind: 'pause', at: 90 * MS, vm: 'pz' },
  ],
};

/** Runtime calls (`xl sched-*`) at times the random boundaries fall before and after. */
function paramActions(policy: string): LoopAction[] {
  switch (policy) {
    case 'credit':
      return [
        { kind: 'set', at: 40 * MS, vm: 'bg', params: { weight: 1024 } },
        { kind: 'setScheduler', at: 70 * MS, params: { tslice: 5 * MS, ratelimit: 500_000 } },
      ];
    case 'credit2':
      return [
        { kind: 'set', at: 40 * MS, vm: 'bg', params: { cap: 30 } },
        { kind: 'setScheduler', at: 70 * MS, params: { ratelimit: 200_000 } },
      ];
    case 'round-robin':
      return [{ kind: 'setScheduler', at: 70 * MS, params: { timeslice: 1 * MS } }];
    case 'rtds':
      return [{ kind: 'set', at: 40 * MS, vm: 'bg', params: { budget: 1 * MS, period: 5 * MS } }];
    case 'cpupools':
      // cpupool_move_domain at run time.
      return [{ kind: 'set', at: 40 * MS, vm: 'bg', params: { pool: 'rt', budget: 1 * MS, period: 5 * MS } }];
    default:
      return [];
  }
}

const SPECS: PolicySpec[] = [
  ...Object.keys(SCHEDULERS).map((policy) => ({ policy, params: {} })),
  { policy: 'round-robin', params: { timeslice: 3 * MS } },
  { policy: 'credit', params: { accounting: 'tick', tslice: 10 * MS } },
  { policy: 'credit2', params: { runqueue: 'cpu' } },
  hostPolicySpec({ policy: 'credit', params: {} }, [{ id: 'rt', pcpus: [3], scheduler: { policy: 'rtds', params: {} } }]),
];

function build(spec: PolicySpec, mix: Mix, withSwap: boolean) {
  const host = new SyntheticHost();
  const events: Event[] = [];
  const loop = new HostLoop(
    'sim',
    'h0',
    PCPUS,
    makePolicy(spec, PCPUS),
    (o) => host.run(o),
    (e) => void events.push(...e),
    spec.params,
  );
  mix.vms.forEach((vm, i) => {
    host.addVm(vm.id, vm.profiles);
    loop.addVm({ id: vm.id, vcpus: vm.profiles.length, sched: vmParams(spec.policy, i), online: vm.online });
  });
  for (const a of mix.actions ?? []) loop.addAction(a);
  if (mix.actions) for (const a of paramActions(spec.policy)) loop.addAction(a);
  if (withSwap) {
    const target: PolicySpec = spec.policy === 'credit' ? { policy: 'credit2', params: {} } : { policy: 'credit', params: {} };
    loop.addAction({ kind: 'swapScheduler', at: 60 * MS, policy: target.policy, params: target.params, make: () => makePolicy(target, PCPUS) });
  }
  return { host, loop, events };
}

/** A fresh loop continuing `state` on `host`, built as a restoring service builds it (SchedulerService.restoreHosts). */
function resume(state: LoopState, host: SyntheticHost): HostLoop {
  const spec = { policy: state.policy!.name, params: state.policy!.params };
  const loop = new HostLoop('sim', 'h0', PCPUS, makePolicy(spec, PCPUS), (o) => host.run(o), undefined, spec.params);
  expect(loop.exactImport(state)).toBe(true);
  loop.importState(state, loopActionsOf(state.actions, PCPUS));
  return loop;
}

function figures(r: HostLoopResult) {
  return { endNs: r.endNs, iterations: r.iterations, vcpus: Object.fromEntries(r.vcpus), pcpus: r.pcpus };
}

/**
 * The same events in the same order. Compared as JSON first (fast on thousands of events); on a
 * difference, the first event that differs is compared field by field, for a readable failure.
 */
function expectSameEvents(actual: readonly Event[], expected: readonly Event[]): void {
  if (JSON.stringify(actual) === JSON.stringify(expected)) return;
  const i = actual.findIndex((e, j) => JSON.stringify(e) !== JSON.stringify(expected[j]));
  expect({ index: i, event: actual[i] }).toEqual({ index: i, event: expected[i] });
  expect(actual.length).toBe(expected.length);
}

const viaJson = (s: LoopState): LoopState => JSON.parse(JSON.stringify(s)) as LoopState;

/** Through Handover/Adopt's message (control.proto HostHandover, its typed LoopState), encoded and decoded. */
function viaProto(s: LoopState): LoopState {
  const msg = hostHandoverOf('sim', { host: 'h0', node: 'n0', pcpus: PCPUS, eventsPublished: 0, state: s });
  return hostHandoverFrom(HostHandoverMsg.decode(encode(HostHandoverMsg, msg))).state;
}

describe('exact continuation from an exported loop state', () => {
  const mixes: [Mix, boolean][] = [
    [cpuBound, false],
    [blocking, false],
    [pausedOffline, false],
    [blocking, true],
  ];
  const rnd = seededRandom(11);
  for (const spec of SPECS) {
    for (const [mix, withSwap] of mixes) {
      const label = `${spec.policy} ${JSON.stringify(spec.params).slice(0, 60)}, ${mix.name}${withSwap ? ', swapped mid-run' : ''}`;
      const draws = [rnd(), rnd(), rnd(), rnd()];
      it(label, async () => {
        const ref = build(spec, mix, withSwap);
        const uninterrupted = await ref.loop.run(END);
        expect(uninterrupted.iterations).toBeGreaterThan(10);
        const boundaries = draws.map((d) => 1 + Math.floor(d * (uninterrupted.iterations - 1)));
        for (const [i, k] of boundaries.entries()) {
          const a = build(spec, mix, withSwap);
          let state: LoopState | undefined;
          let copy: SyntheticHost | undefined;
          let published = 0;
          const run = a.loop;
          const stopping = i % 2 === 0;
          // At order k: ask for the boundary that follows its report (a handover stops there; a
          // checkpoint holds the loop there just long enough to export, then lets it go on).
          const realRun = a.host.run;
          (a.host as { run: typeof realRun }).run = async (o) => {
            const r = await realRun(o);
            if (o.seq === k) {
              if (stopping) run.requestHandover();
              else {
                run.pause();
                void run.whenAtBoundary().then(() => {
                  state = viaJson(run.exportState());
                  copy = a.host.clone();
                  published = a.events.length;
                  run.resume();
                });
              }
            }
            return r;
          };
          const first = await run.run(END);
          if (stopping) {
            expect(first.handedOver).toBe(true);
            state = viaProto(viaJson(run.exportState()));
            copy = a.host;
            published = a.events.length;
          } else {
            // Exporting changed nothing for the loop that went on.
            expectSameEvents(first.events, uninterrupted.events);
            expect(figures(first)).toEqual(figures(uninterrupted));
          }
          expect(state!.seq).toBe(k);
          expect(state!.policy).toBeDefined();
          const b = resume(state!, copy!);
          const second = await b.run(END);
          // What the first loop published up to the boundary, then what the second one did.
          expect(published).toBe(stopping ? first.events.length : published);
          expectSameEvents([...first.events.slice(0, published), ...second.events], uninterrupted.events);
          expect(figures(second)).toEqual(figures(uninterrupted));
        }
      });
    }
  }
});

describe('what an exact import needs', () => {
  /** Credit's run on the blocking mix, exported at order `k` (the loop stops there) and its host. */
  async function exportedAt(k: number) {
    const spec = { policy: 'credit', params: {} };
    const ref = await build(spec, blocking, false).loop.run(END);
    const a = build(spec, blocking, false);
    const realRun = a.host.run;
    (a.host as { run: typeof realRun }).run = async (o) => {
      const r = await realRun(o);
      if (o.seq === k) a.loop.requestHandover();
      return r;
    };
    const first = await a.loop.run(END);
    return { ref, first, state: viaJson(a.loop.exportState()), host: a.host, events: a.events };
  }

  it('without the policy state (a handover from another implementation), the run goes on differently', async () => {
    const { ref, first, state, host } = await exportedAt(40);
    const { policy: _dropped, ...bare } = state;
    const loop = new HostLoop('sim', 'h0', PCPUS, makePolicy({ policy: 'credit', params: {} }, PCPUS), (o) => host.run(o));
    expect(loop.exactImport(bare)).toBe(false);
    loop.importState(bare, loopActionsOf(bare.actions, PCPUS));
    const second = await loop.run(END);
    // Credits, timers and queue order restart: the same figures would mean this test could not fail.
    expect([...first.events, ...second.events]).not.toEqual(ref.events);
  });

  it('a handover to the same policy with other parameters is a swap, not an exact import', async () => {
    const { state } = await exportedAt(10);
    const loop = new HostLoop(
      'sim',
      'h0',
      PCPUS,
      makePolicy({ policy: 'credit', params: { tslice: 5 * MS } }, PCPUS),
      async () => {
        throw new Error('not run');
      },
      undefined,
      { tslice: 5 * MS },
    );
    expect(loop.exactImport(state)).toBe(false);
    loop.importState(state, []);
    expect(loop.exportState().policy?.params).toEqual({ tslice: 5 * MS });
  });

  it('a policy state that does not fit is refused, naming the field, before anything changes', async () => {
    const { state } = await exportedAt(10);
    const fresh = () =>
      new HostLoop('sim', 'h0', PCPUS, makePolicy({ policy: 'credit', params: {} }, PCPUS), async () => {
        throw new Error('not run');
      });
    const policyState = state.policy!.state as { fields: Record<string, unknown> };
    const withFields = (fields: Record<string, unknown>): LoopState => ({
      ...state,
      policy: { ...state.policy!, state: { ...policyState, fields } },
    });
    const { nextAcct: _n, ...missing } = policyState.fields;
    for (const [bad, message] of [
      [withFields(missing), /credit state: fields.nextAcct: missing/],
      [withFields({ ...policyState.fields, svcs: 3 }), /credit state: fields.svcs: expected a Map, got number/],
      [withFields({ ...policyState.fields, bogus: 1 }), /credit state: fields.bogus: credit has no such field/],
      [withFields({ ...policyState.fields, nextTick: { $r: 1e6 } }), /credit state: fields.nextTick: reference 1000000 is out of range/],
      [{ ...state, policy: { ...state.policy!, state: { ...policyState, format: 'x' } } }, /credit state: format: expected 'vsim.policy-state\/1'/],
      [{ ...state, current: [null] }, /current has 1 pCPUs, the host 4/],
      [
        {
          ...state,
          policy: {
            ...state.policy!,
            state: { ...policyState, objects: [...(policyState as unknown as { objects: unknown[] }).objects, JSON.parse('{"o":{"__proto__":1}}')] },
          },
        },
        /credit state: objects\[\d+\]\.o\.__proto__: not a state key/,
      ],
    ] as [LoopState, RegExp][]) {
      const loop = fresh();
      expect(() => loop.importState(bad, [])).toThrow(message);
      expect(loop.exportState().vcpus).toEqual([]); // nothing imported
    }
  });

  it('a state built for another host size is refused', async () => {
    const { state } = await exportedAt(10);
    const small = makePolicy({ policy: 'credit', params: {} }, 2);
    expect(() => small.loadState!(state.policy!.state)).toThrow(/credit state: fields.pcpus: 4 entries, this credit has 2/);
  });

  it('cpupools: a state whose pools differ is refused, naming them', () => {
    const two = makePolicy(
      hostPolicySpec({ policy: 'credit', params: {} }, [{ id: 'rt', pcpus: [3], scheduler: { policy: 'rtds', params: {} } }]),
      PCPUS,
    );
    const other = makePolicy(
      hostPolicySpec({ policy: 'credit', params: {} }, [{ id: 'batch', pcpus: [3], scheduler: { policy: 'rtds', params: {} } }]),
      PCPUS,
    );
    expect(() => other.loadState!(two.saveState!())).toThrow(/cpupools state: pools: the state has pools default, rt, this host default, batch/);
  });
});
