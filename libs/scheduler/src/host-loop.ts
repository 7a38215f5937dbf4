// The loop that drives one host through virtual time (architecture.md §4): ask the policy what each
// pCPU runs, send the host a run order until the next known event, account what the report says,
// repeat. Hosts have independent loops; nothing here waits for another host.

import { Event, RunOrder, RunReport, VcpuState, EventStamper } from '@vsim/proto';
import { schedTraceKind } from '@vsim/vocabulary';
import { idleWhileWaiting, newVcpuCounters, PcpuStats, VcpuSchedCounters } from './metrics';
import { PolicyQueues, SchedulerPolicy, VcpuRef, VmSchedParams, vcpuRef } from './policy';
import { CPUPOOLS_POLICY } from './cpupool';
import { PcpuRan, RunSegment, RunSegments, runDetail } from './run-segments';

export interface LoopVm {
  readonly id: string;
  readonly vcpus: number;
  readonly sched: VmSchedParams;
  /** vCPUs 0..online-1 start runnable, the others offline until the guest starts them (SBI HSM); default all. */
  readonly online?: number;
}

/**
 * Per-vCPU figures the loop accumulates (the runstates xenalyze reports, in virtual ns; the
 * scheduling counters of metrics.ts). runningNs + waitingNs + blockedNs + offlineNs is the time the
 * vCPU existed on the host.
 */
export interface VcpuStats extends VcpuSchedCounters {
  runningNs: number;
  /** Runnable but not on a pCPU: time lost to sharing. */
  waitingNs: number;
  blockedNs: number;
  instructions: number;
  state: VcpuState;
}

export interface HostLoopResult {
  readonly host: string;
  /** Virtual time the host's loop reached. */
  readonly endNs: number;
  readonly iterations: number;
  readonly vcpus: ReadonlyMap<string, VcpuStats>;
  /** Per pCPU (by index): busy and idle-while-waiting time. */
  readonly pcpus: readonly PcpuStats[];
  readonly events: readonly Event[];
  /** The loop stopped because its host was handed to another scheduler service (exportState). */
  readonly handedOver?: boolean;
}

/** A pending action in plain data (a swap names its policy instead of carrying a factory). */
export type PlainLoopAction =
  | Exclude<LoopAction, { kind: 'swapScheduler' } | { kind: 'hook' }>
  | { readonly kind: 'swapScheduler'; readonly at: number; readonly policy: string; readonly params?: Readonly<Record<string, unknown>> };

/** A loop's state at an iteration boundary, for another scheduler service to continue it. */
export interface LoopState {
  readonly nowNs: number;
  /** The last run order's seq. */
  readonly seq: number;
  /** The last seq of this loop's own events. */
  readonly eventSeq: number;
  readonly vcpus: readonly {
    readonly vm: string;
    readonly vcpu: number;
    readonly wakeNs: number;
    readonly paused: boolean;
    readonly params: VmSchedParams;
    readonly stats: VcpuStats;
    /** The metrics' per-vCPU bookkeeping (addedNs, wokeAtNs, blockedAtNs, lastPcpu). */
    readonly marks: { addedNs: number; wokeAtNs: number; blockedAtNs: number; lastPcpu: number };
  }[];
  readonly actions: readonly PlainLoopAction[];
  readonly pcpus: readonly PcpuStats[];
  /** Run segments still open at the boundary (run-segments.ts), per pCPU. */
  readonly segments?: readonly (RunSegment | null)[];
  /**
   * The policy the loop runs (name and scheduler-wide parameters, as `currentPolicy`) and its
   * complete internal state (SchedulerPolicy.saveState: JSON data owned by the policy). With it,
   * importState into a loop of the same policy continues exactly; absent from a handover by
   * another implementation, or when the policy cannot save its state.
   */
  readonly policy?: { readonly name: string; readonly params: Readonly<Record<string, unknown>>; readonly state: unknown };
  /** Per pCPU, the vCPU key the last decision gave it (null: idle): `schedule` events mark changes from it. */
  readonly current?: readonly (string | null)[];
  /** The vCPUs the last decision ran (a preemption is counted when one of them then waits). */
  readonly lastRun?: readonly string[];
  /** A killHost action stopped the host. */
  readonly killed?: boolean;
}

export type RunHost = (order: RunOrder) => Promise<RunReport>;

/** Timed actions of a scenario, as they concern one host's loop. */
export type LoopAction =
  | { readonly kind: 'pause' | 'unpause'; readonly at: number; readonly vm: string }
  | { readonly kind: 'set'; readonly at: number; readonly vm: string; readonly params: VmSchedParams }
  | {
      readonly kind: 'swapScheduler';
      readonly at: number;
      readonly policy: string;
      readonly make: () => SchedulerPolicy;
      readonly params?: Readonly<Record<string, unknown>>;
    }
  /** Scheduler-wide parameters (`xl sched-credit -s`), for the policy's setSchedulerParams. */
  | { readonly kind: 'setScheduler'; readonly at: number; readonly params: Readonly<Record<string, unknown>> }
  | { readonly kind: 'killHost'; readonly at: number }
  /**
   * Work another module does at an iteration boundary at virtual time `at` (live migration's rounds,
   * libs/scheduler/src/migration.ts): the loop stops exactly there and awaits `run` before deciding.
   * A loop with a hook pending does not end for want of live vCPUs (a migration may bring one).
   */
  | { readonly kind: 'hook'; readonly at: number; readonly label: string; readonly run: () => Promise<void> | void };

/** A vCPU that left its host's loop (detachVm) to join another's (attachVm), with everything the loop knew of it. */
export type DetachedVcpu = LoopState['vcpus'][number];

interface Tracked {
  ref: VcpuRef;
  stats: VcpuStats;
  wakeNs: number;
  /** Paused by an action: never scheduled, whatever its state, until unpaused. */
  paused: boolean;
  params: VmSchedParams;
  /** When it joined the host. */
  addedNs: number;
  /** When its wake-up timer fired, while it has not run since (-1: no wake-up pending). */
  wokeAtNs: number;
  /** When it blocked (-1: not blocked), so that a wake-up is never dated before it. */
  blockedAtNs: number;
  /** The pCPU it was last given (-1: none yet), for migrations. */
  lastPcpu: number;
}

export class HostLoop {
  private readonly tracked = new Map<string, Tracked>();
  private readonly stamp: EventStamper;
  private readonly events: Event[] = [];
  private now = 0;
  private seq = 0;
  private current: (string | null)[];
  private policy: SchedulerPolicy;
  private readonly actions: LoopAction[] = [];
  private killed = false;
  /** Per pCPU: busy and idle-while-waiting time (metrics.ts). */
  private readonly pcpuStats: PcpuStats[];
  /** The vCPUs the last decision ran, and how many runnable ones it left waiting. */
  private lastRun = new Set<string>();
  private waitingAtDecision = 0;
  private policySpec: { policy: string; params: Readonly<Record<string, unknown>> };
  private readonly segments: RunSegments;
  /** Per pCPU, the wake-up latency the last decision recorded for the vCPU it gave that pCPU. */
  private decisionLatency: (number | undefined)[] = [];

  constructor(
    private readonly sim: string,
    readonly host: string,
    private readonly pcpus: number,
    policy: SchedulerPolicy,
    private readonly runHost: RunHost,
    private readonly onEvents: (events: readonly Event[]) => void = () => undefined,
    policyParams: Readonly<Record<string, unknown>> = {},
  ) {
    this.stamp = new EventStamper(host, 'sched');
    this.current = new Array(pcpus).fill(null);
    this.pcpuStats = Array.from({ length: pcpus }, () => ({ busyNs: 0, idleWaitingNs: 0 }));
    this.segments = new RunSegments(pcpus);
    this.policy = policy;
    this.policySpec = { policy: policy.name, params: policyParams };
    this.attachTrace();
  }

  /** Records the policy's trace points as `sched.<kind>` events. */
  private attachTrace(): void {
    this.policy.trace = (kind, now, f) => {
      // Deadline misses (SEDF, RTDS) are the policy's to detect; the loop counts what it reports.
      if (kind === 'deadline_miss' && f.vm !== undefined) {
        const t = this.tracked.get(`${f.vm}/${f.vcpu ?? 0}`);
        if (t) t.stats.deadlineMisses++;
      }
      this.emit({
        kind: schedTraceKind(kind),
        timeNs: now,
        pcpu: f.pcpu ?? -1,
        vm: f.vm ?? '',
        vcpu: f.vcpu ?? -1,
        detail: f.detail ?? '',
      });
    };
  }

  /** Schedules a timed action; actions at the same time apply in the order they were added. */
  addAction(a: LoopAction): void {
    this.actions.push(a);
    this.actions.sort((x, y) => x.at - y.at); // stable: ties keep insertion order
  }

  addVm(vm: LoopVm): void {
    for (let i = 0; i < vm.vcpus; i++) {
      const ref = vcpuRef(vm.id, i);
      this.tracked.set(ref.key, {
        ref,
        wakeNs: 0,
        paused: false,
        params: vm.sched,
        addedNs: this.now,
        wokeAtNs: -1,
        blockedAtNs: -1,
        lastPcpu: -1,
        stats: { runningNs: 0, waitingNs: 0, blockedNs: 0, instructions: 0, state: VcpuState.VCPU_STATE_RUNNABLE, ...newVcpuCounters() },
      });
      this.policy.add(ref, vm.sched, this.now);
      if (i >= (vm.online ?? vm.vcpus)) {
        this.tracked.get(ref.key)!.stats.state = VcpuState.VCPU_STATE_OFFLINE;
        this.policy.sleep(ref, this.now);
      }
    }
  }

  private alive(): Tracked[] {
    return [...this.tracked.values()].filter((t) => isAlive(t.stats.state));
  }

  /** Applies the actions due at `now`. */
  private async applyActions(): Promise<void> {
    while (this.actions.length > 0 && this.actions[0].at <= this.now) {
      const a = this.actions.shift() as LoopAction;
      switch (a.kind) {
        case 'hook':
          await a.run();
          break;
        case 'pause':
        case 'unpause':
          for (const t of this.vcpusOf(a.vm)) {
            if (t.paused === (a.kind === 'pause')) continue;
            t.paused = a.kind === 'pause';
            if (t.stats.state !== VcpuState.VCPU_STATE_RUNNABLE) continue;
            if (t.paused) this.policy.sleep(t.ref, this.now);
            else this.policy.wake(t.ref, this.now);
          }
          this.emit({ kind: a.kind, vm: a.vm, detail: 'action' });
          break;
        case 'set': {
          // Validated when requested; a swap in between may make the new policy refuse them: then
          // the event says so and the old parameters stay (a run-time call never stops the run).
          const merged = new Map(this.vcpusOf(a.vm).map((t) => [t, { ...t.params, ...a.params }]));
          try {
            for (const [t, params] of merged) this.policy.setParams?.(t.ref, params, this.now);
            for (const [t, params] of merged) t.params = params;
            this.emit({ kind: 'set', vm: a.vm, detail: JSON.stringify(a.params) });
          } catch (err) {
            this.emit({ kind: 'set-refused', vm: a.vm, detail: `${JSON.stringify(a.params)}: ${(err as Error).message}` });
          }
          break;
        }
        case 'setScheduler':
          try {
            if (!this.policy.setSchedulerParams) throw new RangeError(`${this.policy.name} has no scheduler-wide parameters`);
            this.policy.setSchedulerParams(a.params, this.now);
            this.policySpec = withSchedulerParams(this.policySpec, a.params);
            this.emit({ kind: 'set-scheduler', detail: JSON.stringify(a.params) });
          } catch (err) {
            this.emit({ kind: 'set-refused', detail: `${JSON.stringify(a.params)}: ${(err as Error).message}` });
          }
          break;
        case 'swapScheduler': {
          // Hand the run queues over: every live vCPU joins the new policy, the blocked and the
          // paused ones straight to sleep, so none is lost or run twice.
          this.policy = a.make();
          this.attachTrace();
          this.current.fill(null);
          for (const t of this.tracked.values()) {
            // Offline vCPUs (SBI HSM: not started, or stopped) join asleep: a hart_start wakes them.
            if (!isAlive(t.stats.state) && t.stats.state !== VcpuState.VCPU_STATE_OFFLINE) continue;
            this.policy.add(t.ref, t.params, this.now);
            if (t.paused || t.stats.state !== VcpuState.VCPU_STATE_RUNNABLE) this.policy.sleep(t.ref, this.now);
          }
          this.policySpec = { policy: a.policy, params: a.params ?? {} };
          this.emit({ kind: 'swap-scheduler', detail: JSON.stringify({ policy: a.policy, ...this.handover() }) });
          break;
        }
        case 'killHost':
          this.killed = true;
          for (const t of this.tracked.values()) {
            if (!isAlive(t.stats.state)) continue;
            t.stats.state = VcpuState.VCPU_STATE_FAULTED;
            this.emit({ kind: 'fault', vm: t.ref.vm, vcpu: t.ref.vcpu, detail: `host ${this.host} killed` });
          }
          this.emit({ kind: 'kill-host', detail: 'action' });
          break;
      }
    }
  }

  /**
   * After a swap: where the new policy holds every live vCPU. A runnable, unpaused vCPU must be
   * running or queued exactly once, any other nowhere but asleep; `lost` and `duplicated` list
   * the ones that are not (always empty unless a policy has a bug).
   */
  private handover(): { queues?: PolicyQueues; lost: string[]; duplicated: string[] } {
    const queues = this.policy.queues?.();
    if (!queues) return { lost: [], duplicated: [] };
    const seen = new Map<string, number>();
    for (const k of [...queues.running, ...queues.queued.flat()]) if (k !== null) seen.set(k, (seen.get(k) ?? 0) + 1);
    const lost: string[] = [];
    const duplicated: string[] = [];
    for (const t of this.tracked.values()) {
      const n = seen.get(t.ref.key) ?? 0;
      const runnable = !t.paused && t.stats.state === VcpuState.VCPU_STATE_RUNNABLE;
      if (runnable && n === 0) lost.push(t.ref.key);
      if (n > (runnable ? 1 : 0)) duplicated.push(t.ref.key);
    }
    return { queues, lost, duplicated };
  }

  /** The policy this host runs now and its scheduler-wide parameters (as last set). */
  get currentPolicy(): { readonly policy: string; readonly params: Readonly<Record<string, unknown>> } {
    return this.policySpec;
  }

  /** Actions already due, which the next decision applies (e.g. run-time calls made while paused). */
  dueActions(): readonly LoopAction[] {
    return this.actions.filter((a) => a.at <= this.now);
  }

  /** Virtual time this host's loop has reached. */
  get virtualNow(): number {
    return this.now;
  }

  /** A VM's scheduling parameters as last applied (undefined: not on this host). */
  vmParams(vm: string): VmSchedParams | undefined {
    return this.vcpusOf(vm)[0]?.params;
  }

  /** How many vCPUs VM `vm` has on this host. */
  vcpuCount(vm: string): number {
    return this.vcpusOf(vm).length;
  }

  /** The VMs on this host, in the order they were added. */
  vmIds(): string[] {
    return [...new Set([...this.tracked.values()].map((t) => t.ref.vm))];
  }

  private vcpusOf(vm: string): Tracked[] {
    return [...this.tracked.values()].filter((t) => t.ref.vm === vm);
  }

  /** A pending pause: the loop waits on it between iterations. */
  private gate: { promise: Promise<void>; open: () => void } | null = null;

  /**
   * Holds the loop between two iterations (virtual time stands still) until resume(). Pausing
   * changes only when, in wall time, iterations happen, never what they compute.
   */
  pause(): void {
    if (this.gate) return;
    let open!: () => void;
    const promise = new Promise<void>((r) => (open = r));
    this.gate = { promise, open };
  }

  resume(): void {
    this.gate?.open();
    this.gate = null;
  }

  get paused(): boolean {
    return this.gate !== null;
  }

  /**
   * Called at each iteration boundary before the loop goes on (checkpoints, checkpointer.ts): the
   * state exportState() returns then is the one the loop continues from. It may take its time (the
   * loop waits) but must not change the loop.
   */
  private boundaryHook: ((loop: HostLoop) => Promise<void>) | undefined;

  onBoundary(hook: ((loop: HostLoop) => Promise<void>) | undefined): void {
    this.boundaryHook = hook;
  }

  /** The seq of the last run order sent (0: none yet). */
  get orderSeq(): number {
    return this.seq;
  }

  /** False while an iteration runs (from applying its actions to accounting its report). */
  private inIteration = false;
  private boundaryWaiters: (() => void)[] = [];

  /** Between two iterations: before run(), after it returned, or held there by pause(). */
  get atBoundary(): boolean {
    return !this.inIteration;
  }

  /** Resolves once the loop is at an iteration boundary (at once if it is); pause() first to hold it there. */
  whenAtBoundary(): Promise<void> {
    if (this.atBoundary) return Promise.resolve();
    return new Promise((r) => this.boundaryWaiters.push(r));
  }

  private reachBoundary(): void {
    this.inIteration = false;
    const waiters = this.boundaryWaiters;
    this.boundaryWaiters = [];
    for (const w of waiters) w();
  }

  /** Runs the host until `endNs` of virtual time, or until every vCPU has halted or faulted. */
  async run(endNs: number): Promise<HostLoopResult> {
    try {
      return await this.runLoop(endNs);
    } finally {
      this.reachBoundary();
    }
  }

  private async passGate(): Promise<void> {
    while (this.gate) await this.gate.promise;
  }

  private async runLoop(endNs: number): Promise<HostLoopResult> {
    for (;;) {
      // An iteration boundary: code run from here (a hold by pause(), a hook between iterations)
      // may exportState, until the next iteration starts applying its actions.
      this.reachBoundary();
      while (this.gate) await this.gate.promise;
      if (this.boundaryHook && !this.handoverRequested && this.now < endNs && !this.killed) {
        await this.boundaryHook(this); // still at the boundary: exportState is exact here
        await this.passGate(); // paused meanwhile: hold here
      }
      this.inIteration = true;
      if (this.handoverRequested) {
        this.handedOver = true;
        break;
      }
      await this.applyActions();
      if (this.killed || this.now >= endNs || (this.alive().length === 0 && !this.actions.some((a) => a.kind === 'hook'))) break;
      // Timers that have fired wake their vCPUs before the policy decides.
      for (const t of this.tracked.values()) {
        if (t.stats.state === VcpuState.VCPU_STATE_BLOCKED && t.wakeNs > 0 && t.wakeNs <= this.now) {
          t.stats.state = VcpuState.VCPU_STATE_RUNNABLE;
          // Its wake-up latency runs from when the timer fired (possibly inside the last iteration).
          if (!t.paused) t.wokeAtNs = Math.max(t.wakeNs, t.blockedAtNs);
          t.blockedAtNs = -1;
          if (!t.paused) this.policy.wake(t.ref, this.now);
          this.emit({ kind: 'wake', vm: t.ref.vm, vcpu: t.ref.vcpu });
        }
      }
      const decision = this.policy.schedule(this.now);
      let until = Math.min(decision.until, endNs);
      if (this.actions.length > 0) until = Math.min(until, Math.max(this.actions[0].at, this.now + 1));
      for (const t of this.tracked.values()) {
        if (t.stats.state === VcpuState.VCPU_STATE_BLOCKED && t.wakeNs > this.now) until = Math.min(until, t.wakeNs);
      }
      if (!Number.isFinite(until)) until = endNs;
      this.recordSwitches(decision.run);
      this.recordDecisionMetrics(decision.run);
      const order = RunOrder.fromPartial({
        sim: this.sim,
        host: this.host,
        seq: ++this.seq,
        nowNs: this.now,
        untilNs: until,
        pcpus: decision.run.map((v, pcpu) => ({ pcpu, vm: v?.vm ?? '', vcpu: v?.vcpu ?? 0 })),
      });
      const report = await this.runHost(order);
      this.account(order, report);
    }
    if (!this.handedOver) this.logSegments(this.segments.closeAll());
    this.flushEvents();
    this.ended = true;
    return {
      host: this.host,
      endNs: this.now,
      iterations: this.seq,
      vcpus: new Map([...this.tracked].map(([k, t]) => [k, t.stats])),
      events: this.events,
      pcpus: this.pcpuStats.map((p) => ({ ...p })),
      handedOver: this.handedOver,
    };
  }

  // ---- Handover to another scheduler service (docs/scheduler-protocol.md §8) -------------------

  private handoverRequested = false;
  private handedOver = false;

  /** Stops run() at the next iteration boundary (a paused loop is let go to stop there). */
  requestHandover(): void {
    this.handoverRequested = true;
    this.resume();
  }

  /**
   * The state another loop continues from, as plain JSON-safe data sharing nothing with this loop.
   * Only at an iteration boundary (atBoundary): before run(), after it returned, while the loop is
   * held by pause() (once whenAtBoundary() resolved), or from code run between two iterations.
   * The loop may go on afterwards (a checkpoint) or not (a handover).
   */
  exportState(): LoopState {
    if (!this.atBoundary) throw new Error(`host ${this.host}: exportState in the middle of an iteration (wait for whenAtBoundary())`);
    const plain = (a: LoopAction): PlainLoopAction => {
      if (a.kind === 'hook') throw new Error(`host ${this.host}: cannot export its state while ${a.label} is pending`);
      return a.kind === 'swapScheduler' ? { kind: a.kind, at: a.at, policy: a.policy, params: a.params } : a;
    };
    const policyState = this.policy.saveState?.();
    // A deep copy: parameters, actions and segments are shared with the loop otherwise.
    return structuredClone({
      ...(policyState !== undefined ? { policy: { name: this.policySpec.policy, params: this.policySpec.params, state: policyState } } : {}),
      current: [...this.current],
      lastRun: [...this.lastRun],
      killed: this.killed,
      nowNs: this.now,
      seq: this.seq,
      eventSeq: this.stamp.last,
      vcpus: [...this.tracked.values()].map((t) => ({
        vm: t.ref.vm,
        vcpu: t.ref.vcpu,
        wakeNs: t.wakeNs,
        paused: t.paused,
        params: t.params,
        stats: { ...t.stats, wakeLatenciesNs: [...t.stats.wakeLatenciesNs] },
        marks: { addedNs: t.addedNs, wokeAtNs: t.wokeAtNs, blockedAtNs: t.blockedAtNs, lastPcpu: t.lastPcpu },
      })),
      actions: this.actions.map(plain),
      pcpus: this.pcpuStats.map((p) => ({ ...p })),
      segments: this.segments.exportOpen(),
    });
  }

  /** Whether `s` carries a state this loop's policy takes as is (same policy, same parameters). */
  exactImport(s: LoopState): boolean {
    return (
      s.policy !== undefined &&
      this.policy.loadState !== undefined &&
      s.policy.name === this.policySpec.policy &&
      canonicalJson(s.policy.params) === canonicalJson(this.policySpec.params)
    );
  }

  /**
   * Continues a loop exported by exportState (call before run(), on a loop with no VM added);
   * virtual time, the order and event numbering, and every figure carry on. If the state carries
   * this loop's policy with the same parameters (exactImport: a checkpoint, or a handover to the
   * same policy), the policy's own state is loaded and the run goes on with exactly the events
   * it would have had. Otherwise (a handover to a different policy, or a state without one) the
   * live vCPUs join this loop's policy as in a swap, the blocked, offline and paused ones asleep.
   * `actions` are the pending ones, already turned back into LoopActions by the caller. Throws
   * (TypeError naming the field) before changing anything if the policy state does not fit.
   */
  importState(s: LoopState, actions: readonly LoopAction[]): void {
    if (this.tracked.size > 0 || this.seq > 0) throw new Error(`host ${this.host}: importState on a loop that already has state`);
    const exact = this.exactImport(s);
    if (exact) {
      if (s.current !== undefined && s.current.length !== this.pcpus)
        throw new TypeError(`host ${this.host}: current has ${s.current.length} pCPUs, the host ${this.pcpus}`);
      this.policy.loadState!(s.policy!.state);
    }
    this.now = s.nowNs;
    this.seq = s.seq;
    this.stamp.continueFrom(s.eventSeq);
    for (const v of s.vcpus) {
      const ref = vcpuRef(v.vm, v.vcpu);
      const stats = { ...v.stats, wakeLatenciesNs: [...v.stats.wakeLatenciesNs] };
      this.tracked.set(ref.key, { ref, wakeNs: v.wakeNs, paused: v.paused, params: v.params, stats, ...v.marks });
      if (exact) continue; // the policy's state already holds it, where it was
      if (!isAlive(v.stats.state) && v.stats.state !== VcpuState.VCPU_STATE_OFFLINE) continue;
      this.policy.add(ref, v.params, this.now);
      if (v.paused || v.stats.state !== VcpuState.VCPU_STATE_RUNNABLE) this.policy.sleep(ref, this.now);
    }
    if (exact) {
      // As a swap does, a different policy starts from idle pCPUs; the same one from where it was.
      if (s.current) this.current = [...s.current];
      this.lastRun = new Set(s.lastRun ?? []);
      this.killed = s.killed ?? false;
    }
    s.pcpus.forEach((p, i) => {
      if (this.pcpuStats[i]) this.pcpuStats[i] = { ...p };
    });
    this.segments.importOpen(s.segments ?? []);
    for (const a of actions) this.addAction(a);
  }

  // ---- Live migration (migration.ts): a VM's vCPUs leave one loop and join another -------------

  /**
   * Takes VM `vm`'s vCPUs out of this loop at the current iteration boundary (stop-and-copy): out of
   * the policy and off their pCPUs, their open run segments ended. Returns what attachVm needs.
   */
  detachVm(vm: string): DetachedVcpu[] {
    const out: DetachedVcpu[] = [];
    for (const t of this.vcpusOf(vm)) {
      if (isAlive(t.stats.state) || t.stats.state === VcpuState.VCPU_STATE_OFFLINE) this.policy.remove(t.ref, this.now);
      this.tracked.delete(t.ref.key);
      this.lastRun.delete(t.ref.key);
      this.current = this.current.map((k) => (k === t.ref.key ? null : k));
      out.push({
        vm: t.ref.vm,
        vcpu: t.ref.vcpu,
        wakeNs: t.wakeNs,
        paused: t.paused,
        params: t.params,
        stats: { ...t.stats },
        marks: { addedNs: t.addedNs, wokeAtNs: t.wokeAtNs, blockedAtNs: t.blockedAtNs, lastPcpu: t.lastPcpu },
      });
    }
    this.logSegments(this.segments.closeVm(vm));
    return out;
  }

  /**
   * VM vCPUs another loop detached join this one now, with the same scheduling parameters and
   * figures; `goneNs`, the time they were on no host (the downtime), counts as offline.
   */
  attachVm(vcpus: readonly DetachedVcpu[], goneNs: number): void {
    for (const v of vcpus) {
      const ref = vcpuRef(v.vm, v.vcpu);
      if (this.tracked.has(ref.key)) throw new Error(`host ${this.host}: vCPU ${ref.key} is already here`);
      const stats = { ...v.stats, offlineNs: v.stats.offlineNs + goneNs };
      this.tracked.set(ref.key, { ref, wakeNs: v.wakeNs, paused: v.paused, params: v.params, stats, ...v.marks, wokeAtNs: -1, lastPcpu: -1 });
      if (!isAlive(v.stats.state) && v.stats.state !== VcpuState.VCPU_STATE_OFFLINE) continue;
      this.policy.add(ref, v.params, this.now);
      if (v.paused || v.stats.state !== VcpuState.VCPU_STATE_RUNNABLE) this.policy.sleep(ref, this.now);
    }
  }

  /** Per vCPU (`vm/vcpu`): the CPU time it wanted so far (running + waiting), for load balancing. */
  demand(): Map<string, { vm: string; ns: number }> {
    return new Map([...this.tracked].map(([k, t]) => [k, { vm: t.ref.vm, ns: t.stats.runningNs + t.stats.waitingNs }]));
  }

  /** run() has returned: the loop takes no more work (a migration cannot land here). */
  get finished(): boolean {
    return this.ended;
  }

  private ended = false;

  /** An event of this loop's (a migration's), dated now. */
  note(fields: Partial<Event> & { kind: string }): void {
    this.emit(fields);
  }

  private recordSwitches(run: readonly (VcpuRef | null)[]): void {
    run.forEach((v, pcpu) => {
      const key = v?.key ?? null;
      if (key === this.current[pcpu]) return;
      this.current[pcpu] = key;
      this.emit({ kind: 'schedule', pcpu, vm: v?.vm ?? '', vcpu: v?.vcpu ?? -1 });
    });
  }

  /** Preemptions, migrations and wake-up latencies, at each decision (metrics.ts). */
  private recordDecisionMetrics(run: readonly (VcpuRef | null)[]): void {
    const running = new Set<string>();
    this.decisionLatency = run.map(() => undefined);
    run.forEach((v, pcpu) => {
      const t = v && this.tracked.get(v.key);
      if (!t) return;
      running.add(t.ref.key);
      if (t.lastPcpu >= 0 && t.lastPcpu !== pcpu) t.stats.migrations++;
      t.lastPcpu = pcpu;
      if (t.wokeAtNs >= 0) {
        this.decisionLatency[pcpu] = this.now - t.wokeAtNs;
        t.stats.wakeLatenciesNs.push(this.now - t.wokeAtNs);
        t.wokeAtNs = -1;
      }
    });
    const waitingNow = (t: Tracked) => !t.paused && t.stats.state === VcpuState.VCPU_STATE_RUNNABLE && !running.has(t.ref.key);
    for (const k of this.lastRun) {
      const t = this.tracked.get(k);
      if (t && waitingNow(t)) t.stats.preemptions++;
    }
    this.lastRun = running;
    this.waitingAtDecision = [...this.tracked.values()].filter(waitingNow).length;
  }

  /**
   * Adds `ns` (the end of the iteration that finishes at `end`) to the runstate `t` is in: offline
   * if paused or ended; runnable; blocked until its timer fires — after that it is runnable, though
   * the loop wakes it only at the next iteration.
   */
  private addRunstate(t: Tracked, ns: number, end: number): void {
    if (ns <= 0) return;
    const s = t.stats;
    if (t.paused || !isAlive(s.state)) s.offlineNs += ns;
    else if (s.state === VcpuState.VCPU_STATE_RUNNABLE) s.waitingNs += ns;
    else {
      const blocked = t.wakeNs > 0 ? Math.min(ns, Math.max(0, t.wakeNs - (end - ns))) : ns;
      s.blockedNs += blocked;
      s.waitingNs += ns - blocked;
    }
  }

  private account(order: RunOrder, report: RunReport): void {
    if (report.seq !== order.seq || report.nowNs < order.nowNs || report.nowNs > order.untilNs) {
      throw new Error(
        `host ${this.host}: report ${report.seq} at ${report.nowNs} ns does not answer order ${order.seq} [${order.nowNs}, ${order.untilNs}]`,
      );
    }
    // The node's events come as wire messages: a kind, route or path this build does not know fails
    // the report, by field, before anything of it is applied.
    const events = report.events.map(Event.fromMessage);
    const elapsed = report.nowNs - this.now;
    const ran = new Set<string>();
    const pcpuOf = new Map(order.pcpus.filter((p) => p.vm).map((p) => [`${p.vm}/${p.vcpu}`, p.pcpu]));
    const busy = new Array<number>(this.pcpuStats.length).fill(0);
    for (const r of report.vcpus) {
      const t = this.tracked.get(`${r.vm}/${r.vcpu}`);
      if (!t) throw new Error(`host ${this.host}: report names unknown vCPU ${r.vm}/${r.vcpu}`);
      ran.add(t.ref.key);
      t.stats.runningNs += r.ranNs;
      t.stats.onPcpuNs += Math.min(r.ranNs, elapsed);
      t.stats.instructions += r.instructions;
      const pcpu = pcpuOf.get(t.ref.key);
      if (pcpu !== undefined) busy[pcpu] += r.ranNs;
      // A vCPU reported only because another one changed its state (SMP: an IPI, HSM) did not run.
      if (pcpu !== undefined || r.ranNs > 0) this.policy.charge(t.ref, r.ranNs, report.nowNs);
      if (r.state !== t.stats.state) {
        if (r.state === VcpuState.VCPU_STATE_BLOCKED) {
          t.wakeNs = r.wakeNs;
          t.blockedAtNs = this.now + r.ranNs;
          if (!t.paused) this.policy.sleep(t.ref, report.nowNs);
        } else if (r.state === VcpuState.VCPU_STATE_HALTED || r.state === VcpuState.VCPU_STATE_FAULTED) {
          this.policy.remove(t.ref, report.nowNs);
        } else if (r.state === VcpuState.VCPU_STATE_OFFLINE) {
          // SBI HSM: stopped by its guest, or not started yet. Never scheduled until started.
          if (!t.paused && t.stats.state === VcpuState.VCPU_STATE_RUNNABLE) this.policy.sleep(t.ref, report.nowNs);
        } else if (r.state === VcpuState.VCPU_STATE_RUNNABLE && !t.paused) {
          // Made runnable by another vCPU (an IPI woke it, HSM hart_start started it).
          this.policy.wake(t.ref, report.nowNs);
        }
        t.stats.state = r.state;
      }
      // A vCPU that stopped early (blocked, halted, faulted) idles its pCPU for the rest of the
      // iteration, in its new runstate.
      this.addRunstate(t, elapsed - r.ranNs, report.nowNs);
    }
    for (const t of this.tracked.values()) if (!ran.has(t.ref.key)) this.addRunstate(t, elapsed, report.nowNs);
    const idle = busy.map((b) => Math.max(0, elapsed - b));
    idleWhileWaiting(idle, this.waitingAtDecision).forEach((ns, p) => (this.pcpuStats[p].idleWaitingNs += ns));
    // A trap's cost that overran a slice is charged by the host to the vCPU's next slice, which can
    // then exceed the iteration: a pCPU is never counted busy for longer than the iteration.
    busy.forEach((b, p) => (this.pcpuStats[p].busyNs += Math.min(b, elapsed)));
    this.logSegments(this.segments.step(order.nowNs, this.ranPerPcpu(order, report)));
    this.events.push(...events);
    this.pending.push(...events);
    this.now = report.nowNs;
    this.flushEvents();
  }

  /** What each pCPU ran in the iteration `order` started (run-segments.ts). */
  private ranPerPcpu(order: RunOrder, report: RunReport): (PcpuRan | null)[] {
    const byKey = new Map(report.vcpus.map((r) => [`${r.vm}/${r.vcpu}`, r]));
    const ran: (PcpuRan | null)[] = new Array(this.pcpus).fill(null);
    for (const p of order.pcpus) {
      const r = p.vm ? byKey.get(`${p.vm}/${p.vcpu}`) : undefined;
      if (!r || p.pcpu < 0 || p.pcpu >= this.pcpus) continue;
      const t = this.tracked.get(`${r.vm}/${r.vcpu}`)!;
      ran[p.pcpu] = {
        vm: r.vm,
        vcpu: r.vcpu,
        ranNs: r.ranNs,
        runnable: t.stats.state === VcpuState.VCPU_STATE_RUNNABLE && !t.paused,
        latencyNs: this.decisionLatency[p.pcpu],
        balance: this.policy.balance?.(t.ref),
      };
    }
    return ran;
  }

  /** One `run` event per ended segment, dated at its start; `value` is its CPU time in ns. */
  private logSegments(closed: readonly RunSegment[]): void {
    for (const s of closed) this.emit({ kind: 'run', timeNs: s.startNs, pcpu: s.pcpu, vm: s.vm, vcpu: s.vcpu, value: s.ns, detail: runDetail(s) });
  }

  private pending: Event[] = [];

  private emit(fields: Partial<Event> & Pick<Event, 'kind'>): void {
    const e = this.stamp.make({ timeNs: this.now, ...fields });
    this.events.push(e);
    this.pending.push(e);
  }

  private flushEvents(): void {
    if (this.pending.length === 0) return;
    this.onEvents(this.pending);
    this.pending = [];
  }
}

/**
 * A host's policy with new scheduler-wide parameters merged in: on a host split into cpupools,
 * into its default pool's scheduler, which is where they go (CpupoolPolicy.setSchedulerParams).
 */
export function withSchedulerParams(
  spec: { readonly policy: string; readonly params: Readonly<Record<string, unknown>> },
  params: Readonly<Record<string, unknown>>,
): { policy: string; params: Readonly<Record<string, unknown>> } {
  const dflt = (spec.params as { default?: { policy: string; params?: Readonly<Record<string, unknown>> } }).default;
  if (spec.policy === CPUPOOLS_POLICY && dflt) {
    return { policy: spec.policy, params: { ...spec.params, default: { ...dflt, params: { ...dflt.params, ...params } } } };
  }
  return { policy: spec.policy, params: { ...spec.params, ...params } };
}

/** JSON with object keys sorted, to compare parameter sets whatever their key order. */
function canonicalJson(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function isAlive(state: VcpuState): boolean {
  return state === VcpuState.VCPU_STATE_RUNNABLE || state === VcpuState.VCPU_STATE_BLOCKED;
}
