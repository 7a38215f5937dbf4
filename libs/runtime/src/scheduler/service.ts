// The scheduler service: it owns the run queues and drives each of its hosts' loops, talking to
// the cpu-nodes only through run orders on the bus. Another implementation of the same protocol
// can replace it without the other services changing.

import { Bus } from '@vsim/bus';
import { EventBatch, RunOrder, RunReport, encode } from '@vsim/proto';
import { subjects } from '../subjects';
import { HostLoop, HostLoopResult, LoopVm } from './host-loop';
import { SchedulerPolicy } from './policy';
import { RoundRobinPolicy } from './round-robin';

/** A run order may take long in wall time (a slice of a busy guest): be generous. */
export const RUN_ORDER_TIMEOUT_MS = 120_000;

/** At most this many events per EventBatch message (an event encodes to ~40-100 bytes). */
export const MAX_EVENTS_PER_BATCH = 1000;

export interface PolicySpec {
  readonly policy: string;
  readonly params: Readonly<Record<string, unknown>>;
}

export function makePolicy(spec: PolicySpec, pcpus: number): SchedulerPolicy {
  switch (spec.policy) {
    case 'round-robin': {
      const slice = spec.params.timeslice;
      return new RoundRobinPolicy(pcpus, typeof slice === 'number' ? slice : undefined);
    }
    default:
      throw new RangeError(`scheduler policy '${spec.policy}' is not implemented yet (available: round-robin)`);
  }
}

export class SchedulerService {
  private readonly loops = new Map<string, HostLoop>();
  private readonly published = new Map<string, number>();

  constructor(private readonly bus: Bus, readonly sim: string) {}

  /** Control: take charge of a host. */
  addHost(host: string, pcpus: number, policy: PolicySpec): void {
    const loop = new HostLoop(this.sim, host, pcpus, makePolicy(policy, pcpus),
      async (order) => {
        const reply = await this.bus.request(subjects.hostRun(this.sim, host), encode(RunOrder, order), { timeoutMs: RUN_ORDER_TIMEOUT_MS });
        return RunReport.decode(reply);
      },
      (events) => {
        // Batches stay far below NATS's default 1 MiB max_payload however busy an iteration was.
        for (let i = 0; i < events.length; i += MAX_EVENTS_PER_BATCH) {
          const chunk = events.slice(i, i + MAX_EVENTS_PER_BATCH);
          this.bus.publish(subjects.events(this.sim, host), encode(EventBatch, { sim: this.sim, host, events: chunk }));
          this.published.set(host, (this.published.get(host) ?? 0) + chunk.length);
        }
      },
    );
    this.loops.set(host, loop);
    this.published.set(host, 0);
  }

  /** Events published so far on vsim.<sim>.events.<host> (what a collector must have received). */
  publishedEvents(host: string): number {
    return this.published.get(host) ?? 0;
  }

  hosts(): string[] {
    return [...this.loops.keys()];
  }

  addVm(host: string, vm: LoopVm): void {
    const loop = this.loops.get(host);
    if (!loop) throw new Error(`scheduler does not drive host '${host}'`);
    loop.addVm(vm);
  }

  /** Runs every host's loop to `endNs`, concurrently: hosts never wait for each other. */
  async runAll(endNs: number): Promise<HostLoopResult[]> {
    return Promise.all([...this.loops.values()].map((l) => l.run(endNs)));
  }
}
