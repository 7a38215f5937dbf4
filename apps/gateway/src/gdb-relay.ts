// POST /v1/simulations/:id/gdb — `vsim gdb SIM VM`'s way to the cpu-node that runs the VM
// (docs/gdb.md). The gateway relays each request, as it came from an authenticated caller of its
// own simulation, onto vsim.<sim>.gdb.<node> (which only that cpu-node serves and only the gateway
// may send to: libs/security's role table) and returns the node's reply. It keeps no session state:
// `open` goes to the simulation's cpu-nodes in turn until one has the VM, and the reply names that
// node; the client sends it back with every later request of the session.

import { ControlError, ControlStatus } from '@vsim/control';
import type { NatsBus } from '@vsim/bus';
import { subjects } from '@vsim/proto';
import type { Simulation } from './gateway';

/** How long the gateway waits for a cpu-node's reply (an io request waits at most 2 s for output there). */
export const GDB_RELAY_TIMEOUT_MS = 15_000;

export async function relayGdb(bus: NatsBus, sim: Simulation, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  if (sim.state !== 'running' && sim.state !== 'paused')
    throw new ControlError(ControlStatus.FAILED_PRECONDITION, `simulation ${sim.id} is ${sim.state}: vsim gdb attaches to a running simulation`);
  const nodes = [...new Set(Object.values(sim.assignment ?? {}))].sort();
  if (nodes.length === 0) throw new ControlError(ControlStatus.FAILED_PRECONDITION, `simulation ${sim.id} is not placed on cpu-nodes yet`);
  if (typeof body.vm !== 'string' || !sim.spec.vms.some((v) => v.id === body.vm))
    throw new ControlError(ControlStatus.INVALID_ARGUMENT, `body.vm: simulation ${sim.id} has no VM ${JSON.stringify(body.vm)}`);
  const { node, ...request } = body;
  const ask = async (n: string): Promise<Record<string, unknown>> => {
    const reply = await bus.request(subjects.gdb(sim.id, n), new TextEncoder().encode(JSON.stringify(request)), { timeoutMs: GDB_RELAY_TIMEOUT_MS });
    return { ...(JSON.parse(new TextDecoder().decode(reply)) as Record<string, unknown>), node: n };
  };
  if (request.op !== 'open') {
    if (typeof node !== 'string' || !nodes.includes(node))
      throw new ControlError(ControlStatus.INVALID_ARGUMENT, `body.node: one of the simulation's cpu-nodes (${nodes.join(', ')}), as open replied`);
    return ask(node);
  }
  let last: Record<string, unknown> = {};
  for (const n of nodes) {
    last = await ask(n);
    if (!(typeof last.error === 'string' && last.error.startsWith('no VM '))) return last;
  }
  return last;
}
