// The scheduler conformance kit (`vsim sched-check`): drives any scheduler service through the
// protocol of docs/scheduler-protocol.md and reports every way it departs from it.
//
// The kit plays every other part of a cluster. As the gateway it calls SchedulerControl (AddHost,
// AddVm, AddAction, Run, Pause, Resume, CloseSimulation) over gRPC; as the cpu-nodes it serves
// vsim.<sim>.run.<node>.<host> with a synthetic host: scripted vCPUs (CPU hogs that halt after a
// budget of CPU time, an I/O-like vCPU that runs a burst, blocks with a timer, and wakes) whose
// behaviour depends only on the CPU time they are given, so the right answers are known; as the
// collector it counts the EventBatches on vsim.<sim>.events.<host>.
//
// The same synthetic scenario runs twice (the first time paused and resumed mid-run through the
// Pause/Resume RPCs); the checks are listed in CHECKS. Wall-clock figures are used only for the
// deadline checks; everything else is virtual time.

import { Bus } from '@vsim/bus';
import { Event, EventBatch, RunOrder, RunReport, RunResult, SchedulerParams, VcpuState, encode, subjects } from '@vsim/proto';
import { SchedulerControl } from '@vsim/control';
import type { EventKindName } from '@vsim/vocabulary';

/** What each check is about; a violation names one of these. */
export const CHECKS = {
  'well-formed': "every RunOrder decodes, names its simulation and host, numbers its iterations 1, 2, ... and continues from the last report's time",
  pcpus: 'an order names each pCPU of the host at most once and only existing pCPUs and vCPUs',
  'one-pcpu': 'no vCPU on two pCPUs at once',
  'runnable-only': 'only runnable vCPUs are run: never a blocked, halted or paused one',
  timers: 'an order never runs past the wake-up time of a blocked vCPU (its timer must be able to wake it)',
  progress: 'every runnable vCPU is scheduled within the starvation bound, and the run reaches its end or the end of all work',
  pause: 'a paused VM never runs; after Pause returns no further run order comes until Resume',
  control: 'every control call the kit makes (AddHost, AddVm, AddAction, Run, Pause, Resume, CloseSimulation) succeeds',
  deadline: 'every control call returns, and every next run order follows a report, within the deadline',
  result: 'Run returns every host, with the per-vCPU run time and state the reports gave, and the number of events actually published',
  determinism: 'the same inputs give the same run orders',
} as const;
export type CheckName = keyof typeof CHECKS;

export interface Violation {
  readonly check: CheckName;
  readonly detail: string;
}

export interface KitOptions {
  /** The scheduler's control API (a gRPC client, or the implementation itself in-process). */
  readonly control: SchedulerControl;
  /** The bus the scheduler uses for its data plane. */
  readonly bus: Bus;
  /** The scheduler to ask for in AddHost (schedulerMessage). Default round-robin with its defaults. */
  readonly scheduler?: SchedulerParams;
  /** Wall-clock bound for every control call but Run, and for each decision. Default 5000 ms. */
  readonly deadlineMs?: number;
  /** Wall-clock bound for a whole Run. Default 60 s. */
  readonly runDeadlineMs?: number;
  /** Virtual time a runnable vCPU may wait before it counts as starved. Default 500 ms. */
  readonly starvationNs?: number;
  /** Prefix of the simulation ids the kit creates (two runs: <prefix>-1, <prefix>-2). */
  readonly simPrefix?: string;
  /** Wall time the synthetic node takes per order, so that Pause lands mid-run. Default 2 ms. */
  readonly orderDelayMs?: number;
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

export interface KitReport {
  readonly violations: readonly Violation[];
  /** Run orders seen per run. */
  readonly orders: readonly number[];
}

// ---- the synthetic scenario ---------------------------------------------------------------------

const MS = 1_000_000;
/** Virtual length of each run; the work below ends well before it under any fair policy. */
const END_NS = 3_000 * MS;

interface VcpuScript {
  /** CPU time until it halts. */
  readonly budgetNs: number;
  /** I/O-like: runs `burstNs`, then blocks `sleepNs` (its timer wakes it), repeatedly. */
  readonly burstNs?: number;
  readonly sleepNs?: number;
}

interface VmScript {
  readonly id: string;
  readonly vcpus: readonly VcpuScript[];
}

interface HostScript {
  readonly id: string;
  readonly pcpus: number;
  readonly vms: readonly VmScript[];
}

/** The cpu-node id the kit answers run orders as (AddHostRequest.node). */
const KIT_NODE = 'sched-check';

const HOSTS: readonly HostScript[] = [
  {
    id: 'h0',
    pcpus: 2,
    vms: [
      { id: 'hog', vcpus: [{ budgetNs: 300 * MS }] },
      { id: 'duo', vcpus: [{ budgetNs: 200 * MS }, { budgetNs: 200 * MS }] },
      { id: 'io', vcpus: [{ budgetNs: 40 * MS, burstNs: 2 * MS, sleepNs: 5 * MS }] },
      { id: 'paused', vcpus: [{ budgetNs: 100 * MS }] },
    ],
  },
  {
    id: 'h1',
    pcpus: 1,
    vms: [
      { id: 'a', vcpus: [{ budgetNs: 100 * MS }] },
      { id: 'b', vcpus: [{ budgetNs: 100 * MS }] },
    ],
  },
];

/** The scenario's timed actions: VM `paused` is paused from 50 ms to 250 ms of virtual time. */
const ACTIONS = [
  { atNs: 50 * MS, kind: 'pause', vm: 'paused' },
  { atNs: 250 * MS, kind: 'unpause', vm: 'paused' },
] as const;

// ---- the synthetic node -------------------------------------------------------------------------

interface SynthVcpu {
  readonly key: string;
  readonly vm: string;
  readonly vcpu: number;
  readonly script: VcpuScript;
  state: VcpuState;
  usedNs: number;
  /** I/O-like: CPU time left in the current burst. */
  burstLeft: number;
  wakeNs: number;
  /** Sum of the ran_ns this node reported for it. */
  reportedNs: number;
  /** Since when it has been runnable and unpaused without running (-1: it is not waiting). */
  waitingSince: number;
  ranOnce: boolean;
}

class SynthHost {
  readonly vcpus = new Map<string, SynthVcpu>();
  now = 0;
  lastSeq = 0;
  eventSeq = 0;
  /** Wall time of the last reply, for the decision deadline. */
  repliedAt = 0;
  /** What each order ran: the determinism fingerprint. */
  readonly trace: string[] = [];
  ordersAfterPause = 0;

  constructor(
    readonly sim: string,
    readonly script: HostScript,
  ) {
    for (const vm of script.vms) {
      vm.vcpus.forEach((s, i) => {
        const key = `${vm.id}/${i}`;
        this.vcpus.set(key, {
          key,
          vm: vm.id,
          vcpu: i,
          script: s,
          state: VcpuState.VCPU_STATE_RUNNABLE,
          usedNs: 0,
          burstLeft: s.burstNs ?? Infinity,
          wakeNs: 0,
          reportedNs: 0,
          waitingSince: 0,
          ranOnce: false,
        });
      });
    }
  }

  /** Paused by the scenario's actions at virtual time t (pause at 50 ms, unpause at 250 ms). */
  pausedAt(vm: string, t: number): boolean {
    return vm === 'paused' && t >= ACTIONS[0].atNs && t < ACTIONS[1].atNs;
  }
}

class Run {
  readonly hosts: Map<string, SynthHost>;
  readonly published = new Map<string, number>();
  readonly violations: Violation[] = [];
  orders = 0;
  paused = false;

  constructor(
    readonly sim: string,
    private readonly opts: Required<Pick<KitOptions, 'deadlineMs' | 'starvationNs' | 'orderDelayMs'>>,
  ) {
    this.hosts = new Map(HOSTS.map((h) => [h.id, new SynthHost(sim, h)]));
    for (const h of HOSTS) this.published.set(h.id, 0);
  }

  violate(check: CheckName, detail: string): void {
    // One line per distinct problem: a policy that is wrong once is usually wrong every iteration.
    if (this.violations.some((v) => v.check === check && v.detail === detail)) return;
    if (this.violations.filter((v) => v.check === check).length >= 5) return;
    this.violations.push({ check, detail: `${this.sim}: ${detail}` });
  }

  /** Answers one RunOrder as a cpu-node would, checking it first. */
  async answer(host: SynthHost, data: Uint8Array, subject: string): Promise<Uint8Array> {
    this.orders++;
    if (this.paused) host.ordersAfterPause++;
    const received = Date.now();
    if (host.repliedAt > 0 && received - host.repliedAt > this.opts.deadlineMs) {
      this.violate(
        'deadline',
        `host ${host.script.id}: next run order ${received - host.repliedAt} ms after the last report (deadline ${this.opts.deadlineMs} ms)`,
      );
    }
    let order: RunOrder;
    try {
      order = RunOrder.decode(data);
    } catch (err) {
      this.violate('well-formed', `undecodable RunOrder on ${subject}: ${(err as Error).message}`);
      throw new Error('undecodable RunOrder', { cause: err });
    }
    const h = host.script.id;
    if (order.sim !== this.sim || order.host !== h) this.violate('well-formed', `order on ${subject} names sim ${order.sim} host ${order.host}`);
    if (order.seq !== host.lastSeq + 1) this.violate('well-formed', `host ${h}: order seq ${order.seq} after ${host.lastSeq}`);
    if (order.nowNs !== host.now)
      this.violate('well-formed', `host ${h}: order ${order.seq} starts at ${order.nowNs} ns, the last report ended at ${host.now} ns`);
    if (!(order.untilNs > order.nowNs))
      this.violate('well-formed', `host ${h}: order ${order.seq} until_ns ${order.untilNs} is not after now_ns ${order.nowNs}`);
    if (order.untilNs > END_NS) this.violate('well-formed', `host ${h}: order ${order.seq} runs to ${order.untilNs} ns, past end_ns ${END_NS}`);
    host.lastSeq = order.seq;
    const now = host.now;
    const until = Math.max(now, Math.min(order.untilNs, END_NS));
    // Which vCPU runs where.
    const onPcpu = new Map<number, SynthVcpu>();
    const placed = new Map<string, number>();
    for (const p of order.pcpus) {
      if (!Number.isInteger(p.pcpu) || p.pcpu < 0 || p.pcpu >= host.script.pcpus) {
        this.violate('pcpus', `host ${h}: order ${order.seq} names pCPU ${p.pcpu} (the host has ${host.script.pcpus})`);
        continue;
      }
      if (onPcpu.has(p.pcpu) || placed.has(`#${p.pcpu}`)) this.violate('pcpus', `host ${h}: order ${order.seq} names pCPU ${p.pcpu} twice`);
      placed.set(`#${p.pcpu}`, 1);
      if (p.vm === '') continue;
      const key = `${p.vm}/${p.vcpu}`;
      const v = host.vcpus.get(key);
      if (!v) {
        this.violate('pcpus', `host ${h}: order ${order.seq} runs unknown vCPU ${key}`);
        continue;
      }
      if (placed.has(key)) {
        this.violate('one-pcpu', `host ${h}: order ${order.seq} at ${now} ns runs ${key} on pCPUs ${placed.get(key)} and ${p.pcpu}`);
        continue;
      }
      placed.set(key, p.pcpu);
      if (v.state !== VcpuState.VCPU_STATE_RUNNABLE) {
        this.violate('runnable-only', `host ${h}: order ${order.seq} at ${now} ns runs ${key}, which is ${VcpuState[v.state]}`);
        continue;
      }
      if (host.pausedAt(v.vm, now)) {
        this.violate('pause', `host ${h}: order ${order.seq} at ${now} ns runs ${key} of paused VM ${v.vm}`);
        continue;
      }
      onPcpu.set(p.pcpu, v);
    }
    // Timers: a blocked vCPU's wake-up must not be skipped over.
    for (const v of host.vcpus.values()) {
      if (v.state === VcpuState.VCPU_STATE_BLOCKED && v.wakeNs > now && order.untilNs > v.wakeNs) {
        this.violate('timers', `host ${h}: order ${order.seq} runs [${now}, ${order.untilNs}] ns past ${v.key}'s wake-up at ${v.wakeNs} ns`);
      }
    }
    // Run: the host stops at until, or at the first vCPU that blocks or halts (unpredictable).
    let stop = until;
    for (const v of onPcpu.values()) stop = Math.min(stop, now + Math.min(v.script.budgetNs - v.usedNs, v.burstLeft));
    const reports: RunReport['vcpus'] = [];
    const events: Event[] = [];
    const ev = (kind: EventKindName, v: SynthVcpu, pcpu: number, detail = '') =>
      events.push(Event.fromPartial({ timeNs: stop, host: h, source: 'node', seq: ++host.eventSeq, pcpu, vm: v.vm, vcpu: v.vcpu, kind, detail }));
    for (const [pcpu, v] of [...onPcpu].sort((a, b) => a[0] - b[0])) {
      const ran = stop - now;
      v.usedNs += ran;
      v.burstLeft -= ran;
      v.reportedNs += ran;
      v.ranOnce = true;
      if (v.usedNs >= v.script.budgetNs) {
        v.state = VcpuState.VCPU_STATE_HALTED;
        ev('halt', v, pcpu, 'budget done');
      } else if (v.burstLeft <= 0) {
        v.state = VcpuState.VCPU_STATE_BLOCKED;
        v.wakeNs = stop + (v.script.sleepNs ?? 0);
        v.burstLeft = v.script.burstNs ?? Infinity;
        ev('block', v, pcpu);
      }
      reports.push({
        vm: v.vm,
        vcpu: v.vcpu,
        state: v.state,
        wakeNs: v.state === VcpuState.VCPU_STATE_BLOCKED ? v.wakeNs : 0,
        ranNs: ran,
        instructions: Math.floor(ran / 10),
      });
    }
    // Starvation: runnable, unpaused vCPUs that were left waiting.
    for (const v of host.vcpus.values()) {
      const waiting = v.state === VcpuState.VCPU_STATE_RUNNABLE && !host.pausedAt(v.vm, now) && ![...onPcpu.values()].includes(v);
      if (!waiting) {
        v.waitingSince = -1;
        continue;
      }
      if (v.waitingSince < 0) v.waitingSince = now;
      if (stop - v.waitingSince > this.opts.starvationNs) {
        this.violate(
          'progress',
          `host ${h}: ${v.key} runnable but not scheduled from ${v.waitingSince} to ${stop} ns (bound ${this.opts.starvationNs} ns)`,
        );
        v.waitingSince = stop; // report a starved vCPU once per bound
      }
    }
    // A blocked vCPU whose timer passed is runnable again (the scheduler must wake it; the node
    // does not report timer wake-ups: they are the scheduler's, as in vsim's host loop).
    for (const v of host.vcpus.values()) {
      if (v.state === VcpuState.VCPU_STATE_BLOCKED && v.wakeNs <= stop) v.state = VcpuState.VCPU_STATE_RUNNABLE;
    }
    host.trace.push(`${order.seq}@${now}-${order.untilNs}:${order.pcpus.map((p) => `${p.pcpu}=${p.vm}/${p.vcpu}`).join(',')}`);
    host.now = stop;
    if (this.opts.orderDelayMs > 0) await new Promise((r) => setTimeout(r, this.opts.orderDelayMs));
    host.repliedAt = Date.now();
    return encode(RunReport, { sim: this.sim, host: h, seq: order.seq, nowNs: stop, vcpus: reports, events: events.map(Event.toMessage) });
  }

  /** After Run: the result against what the node reported and what was published. */
  checkResult(result: RunResult): void {
    for (const host of this.hosts.values()) {
      const h = host.script.id;
      const r = result.hosts.find((x) => x.host === h);
      if (!r) {
        this.violate('result', `RunResult has no host ${h}`);
        continue;
      }
      if (r.endNs !== host.now) this.violate('result', `host ${h}: RunResult end_ns ${r.endNs}, the last report ended at ${host.now} ns`);
      if (r.events !== this.published.get(h))
        this.violate(
          'result',
          `host ${h}: RunResult says ${r.events} events were published, ${this.published.get(h)} arrived on ${subjects.events(this.sim, h)}`,
        );
      for (const v of host.vcpus.values()) {
        const rv = r.vcpus.find((x) => x.vm === v.vm && x.vcpu === v.vcpu);
        if (!rv) {
          this.violate('result', `host ${h}: RunResult has no vCPU ${v.key}`);
          continue;
        }
        if (rv.runningNs !== v.reportedNs) this.violate('result', `host ${h}: ${v.key} running_ns ${rv.runningNs}, the reports gave ${v.reportedNs}`);
        const expected = v.state === VcpuState.VCPU_STATE_HALTED ? VcpuState.VCPU_STATE_HALTED : undefined;
        if (expected !== undefined && rv.state !== expected)
          this.violate('result', `host ${h}: ${v.key} state ${VcpuState[rv.state]}, the reports said HALTED`);
        if (v.state !== VcpuState.VCPU_STATE_HALTED && host.now < END_NS) {
          this.violate(
            'progress',
            `host ${h}: the run stopped at ${host.now} ns with ${v.key} still ${VcpuState[v.state]} (work left: ${v.script.budgetNs - v.usedNs} ns)`,
          );
        }
      }
    }
  }
}

/** Runs the kit; never throws for a misbehaving scheduler (that is a violation), only for kit bugs. */
export async function runSchedCheck(opts: KitOptions): Promise<KitReport> {
  const o = {
    deadlineMs: opts.deadlineMs ?? 5000,
    starvationNs: opts.starvationNs ?? 500 * MS,
    orderDelayMs: opts.orderDelayMs ?? 2,
  };
  const log = opts.log ?? (() => undefined);
  const prefix = opts.simPrefix ?? `schedcheck-${process.pid}`;
  const runs: Run[] = [];
  const all: Violation[] = [];
  for (const n of [1, 2]) {
    const run = new Run(`${prefix}-${n}`, o);
    runs.push(run);
    log(`run ${n}: simulation ${run.sim}${n === 1 ? ' (paused and resumed mid-run)' : ''}`);
    await driveRun(run, opts, o.deadlineMs, n === 1, log);
    all.push(...run.violations);
  }
  // Determinism: both runs must have issued the same orders.
  for (const h of HOSTS) {
    const [a, b] = runs.map((r) => r.hosts.get(h.id)!.trace);
    const i = a.findIndex((x, k) => x !== b[k]);
    if (i >= 0 || a.length !== b.length) {
      const k = i >= 0 ? i : Math.min(a.length, b.length);
      all.push({ check: 'determinism', detail: `host ${h.id}: the runs differ at order ${k + 1}: ${a[k] ?? '(none)'} vs ${b[k] ?? '(none)'}` });
    }
  }
  return { violations: all, orders: runs.map((r) => r.orders) };
}

async function driveRun(run: Run, opts: KitOptions, deadlineMs: number, pauseMidRun: boolean, log: (l: string) => void): Promise<void> {
  const { control, bus } = opts;
  const sim = run.sim;
  const subs = [
    ...[...run.hosts.values()].map((host) =>
      bus.serve(subjects.hostRun(sim, KIT_NODE, host.script.id), (data, meta) => run.answer(host, data, meta.subject)),
    ),
    bus.subscribe(subjects.allEvents(sim), (data, meta) => {
      const h = meta.subject.slice(`vsim.${sim}.events.`.length);
      try {
        const batch = EventBatch.decode(data);
        if (batch.sim !== sim || batch.host !== h)
          run.violate('well-formed', `EventBatch on ${meta.subject} names sim ${batch.sim} host ${batch.host}`);
        const before = run.published.get(h) ?? 0;
        if (Number(batch.firstIndex) !== before)
          run.violate(
            'well-formed',
            `EventBatch on ${meta.subject} says it starts at event ${batch.firstIndex}, but ${before} were published before it`,
          );
        run.published.set(h, before + batch.events.length);
      } catch (err) {
        run.violate('well-formed', `undecodable EventBatch on ${meta.subject}: ${(err as Error).message}`);
      }
    }),
  ];
  await bus.flush();
  /** A control call with the deadline check; undefined when it failed (a violation says why). */
  const rpc = async <T>(what: string, f: () => Promise<T>, limitMs = deadlineMs): Promise<T | undefined> => {
    const t0 = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const out = await Promise.race([
        f(),
        new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`no answer within ${limitMs} ms`)), limitMs))),
      ]);
      return out;
    } catch (err) {
      run.violate(/no answer within/.test((err as Error).message) ? 'deadline' : 'control', `${what} failed: ${(err as Error).message}`);
      return undefined;
    } finally {
      clearTimeout(timer);
      const ms = Date.now() - t0;
      if (ms > limitMs) run.violate('deadline', `${what} took ${ms} ms (deadline ${limitMs} ms)`);
    }
  };
  try {
    for (const h of HOSTS) {
      const ok = await rpc(`AddHost ${h.id}`, () =>
        control.addHost({
          sim,
          host: h.id,
          node: KIT_NODE,
          pcpus: h.pcpus,
          scheduler: opts.scheduler ?? { policy: { $case: 'roundRobin', value: {} } },
        }),
      );
      if (ok === undefined) return;
      for (const vm of h.vms) {
        if (
          (await rpc(`AddVm ${vm.id}`, () =>
            control.addVm({ sim, host: h.id, vm: vm.id, vcpus: vm.vcpus.length, sched: undefined, onlineVcpus: 0 }),
          )) === undefined
        )
          return;
      }
    }
    for (const a of ACTIONS) {
      if (
        (await rpc(`AddAction ${a.kind} ${a.vm}`, () =>
          control.addAction({
            sim,
            atNs: a.atNs,
            kind: a.kind,
            vm: a.vm,
            host: '',
            vmParams: undefined,
            scheduler: undefined,
            migration: undefined,
            balancer: undefined,
          }),
        )) === undefined
      )
        return;
    }
    const running = rpc('Run', () => control.run({ sim, endNs: END_NS }), opts.runDeadlineMs ?? 60_000);
    if (pauseMidRun) {
      // Pause once the run is under way; then no order may come until Resume (one already past
      // the gate when Pause arrived is tolerated per host).
      const t0 = Date.now();
      while (run.orders < 20 && Date.now() - t0 < deadlineMs) await new Promise((r) => setTimeout(r, 1));
      await rpc('Pause', () => control.pause({ sim }));
      run.paused = true;
      await new Promise((r) => setTimeout(r, 200));
      run.paused = false;
      for (const host of run.hosts.values()) {
        if (host.ordersAfterPause > 1)
          run.violate('pause', `host ${host.script.id}: ${host.ordersAfterPause} run orders arrived in the 200 ms after Pause returned`);
      }
      log(`paused after ${run.orders} orders, resumed`);
      await rpc('Resume', () => control.resume({ sim }));
    }
    const result = await running;
    if (result === undefined) return;
    // Every published event must arrive before the result is judged (the collector's rule).
    const t0 = Date.now();
    while (Date.now() - t0 < 2000 && result.hosts.some((h) => (run.published.get(h.host) ?? 0) < h.events))
      await new Promise((r) => setTimeout(r, 10));
    run.checkResult(result);
    log(`run done: ${run.orders} orders, ${run.violations.length} violations`);
  } finally {
    for (const s of subs) s.unsubscribe();
    await rpc('CloseSimulation', () => control.closeSimulation({ sim }));
  }
}
