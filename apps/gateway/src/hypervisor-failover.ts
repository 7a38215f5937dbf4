// A run's control calls to a recoverable hypervisor (run-watch.ts) follow it to its replacement: a
// process restarted under the same instance name after a kill -9 listens on another gRPC port, and
// the run's last call (CloseSimulation) must reach it, or it would keep the simulation forever. A
// call that finds the old address dead (UNAVAILABLE) is sent again to the address the instance
// heartbeats now.

import { ControlError, ControlStatus, GrpcControlOptions, HypervisorControl, hypervisorControlClient } from '@vsim/control';
import { LivenessMonitor } from '@vsim/service';

type Client = HypervisorControl & { close(): void };

/** `first` stays the caller's to close; the clients made here are closed by close(). */
export function followHypervisor(
  first: HypervisorControl,
  address: string,
  liveness: LivenessMonitor,
  who: { service: string; instance: string },
  opts: GrpcControlOptions,
): Client {
  let current: HypervisorControl = first;
  let at = address;
  const clients: Client[] = [];
  const call =
    <Req, Res>(f: (c: HypervisorControl) => (req: Req) => Promise<Res>) =>
    async (req: Req): Promise<Res> => {
      try {
        return await f(current)(req);
      } catch (err) {
        const now = liveness.lastOf(who.service, who.instance)?.grpc;
        if (!(err instanceof ControlError) || err.code !== ControlStatus.UNAVAILABLE || !now || now === at) throw err;
        at = now;
        const next = hypervisorControlClient(now, opts);
        clients.push(next);
        current = next;
        return f(current)(req);
      }
    };
  return {
    openSimulation: call((c) => (r) => c.openSimulation(r)),
    registerVm: call((c) => (r) => c.registerVm(r)),
    closeSimulation: call((c) => (r) => c.closeSimulation(r)),
    status: call((c) => (r) => c.status(r)),
    close: () => clients.forEach((c) => c.close()),
  };
}
