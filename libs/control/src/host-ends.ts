// When each host's run is over, from its events: a host loop stops at the run's duration or as soon
// as every vCPU on it has halted or faulted (or the host was killed), so a host whose VMs are all
// done has reached its real end however far its virtual clock got. Progress displays (`vsim run`,
// the gateway's Status) use it so a run whose VMs halt early does not sit at a low percentage and
// then jump to a false 100 %.

import { Event } from '@vsim/proto';
import { SimSpec, placeVms } from './simulation';

export class HostEnds {
  /** VMs still running, by host. */
  private readonly running = new Map<string, Set<string>>();
  private readonly hostOfVm: ReadonlyMap<string, string>;

  constructor(spec: SimSpec) {
    this.hostOfVm = placeVms(spec);
    for (const h of spec.hosts) this.running.set(h.id, new Set());
    for (const [vm, host] of this.hostOfVm) this.running.get(host)?.add(vm);
  }

  /** Takes a host's events (any order within the batch); returns whether the host is now over. */
  see(host: string, events: readonly Pick<Event, 'kind' | 'vm'>[]): boolean {
    const vms = this.running.get(host);
    if (!vms) return false;
    for (const e of events) {
      if (e.kind === 'halt' || e.kind === 'fault') vms.delete(e.vm);
      else if (e.kind === 'kill-host') vms.clear();
    }
    return vms.size === 0;
  }

  /** Whether every VM of `host` has ended. */
  done(host: string): boolean {
    return this.running.get(host)?.size === 0;
  }
}
