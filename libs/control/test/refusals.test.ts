// Data-plane messages whose sender or sequence number does not fit are refused, counted and logged
// (with host, vm, vcpu), never applied: forged while a two-host simulation runs on the in-process
// bus (where nothing stops a forger reaching the services — on NATS, subject permissions stop them
// first), the run ends with the undisturbed event-log hash.

import { InProcessBroker } from '@vsim/bus';
import { EventBatch, EventKind, EventMessage, RunOrder, TrapRequest, encode, subjects } from '@vsim/proto';
import type { Refusal } from '@vsim/security';
import { ControlLogger, Coordinator, CpuNodeControlImpl, HypervisorControlImpl, SchedulerControlImpl, runEmbedded } from '@vsim/control';
import { twoHostSpec } from '@vsim/testkit';
import { inProcessControlPlane } from '../src/grpc-adapters';

type Line = Record<string, unknown>;

function captureLog(lines: Line[], bindings: Record<string, unknown> = {}): ControlLogger {
  const at = (level: string) => (obj: object, msg: string) => void lines.push({ level, ...bindings, ...obj, msg });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (b) => captureLog(lines, { ...bindings, ...b }) };
}

describe('refused data-plane messages', () => {
  it('refuses forged traps, run orders and event batches mid-run; the run keeps its hash', async () => {
    const spec = twoHostSpec('remote');
    const undisturbed = (await runEmbedded(spec)).result.eventLogHash;

    const broker = new InProcessBroker();
    const hvLog: Line[] = [];
    const nodeLog: Line[] = [];
    const coordLog: Line[] = [];
    const hv = new HypervisorControlImpl(broker.connect(), { log: captureLog(hvLog, { service: 'hypervisor' }) });
    const n1 = new CpuNodeControlImpl(broker.connect(), { nodeId: 'n1', log: captureLog(nodeLog, { service: 'cpu-node' }) });
    const n2 = new CpuNodeControlImpl(broker.connect(), { nodeId: 'n2' });
    const control = inProcessControlPlane({ hypervisor: hv, nodes: [n1, n2], scheduler: new SchedulerControlImpl(broker.connect()) });
    const forger = broker.connect();
    const sim = 'victim';
    const refusedEvents: Refusal[] = [];
    const attacks: Promise<unknown>[] = [];
    let attacked = false;
    const attack = () => {
      // h0 runs on n1 (assignHosts: hosts in order over the sorted node ids), and VM hello on h0.
      const trap = (seq: number) =>
        encode(
          TrapRequest,
          TrapRequest.fromPartial({ sim, host: 'h0', vm: 'hello', vcpu: 0, cause: 8, seq, kind: 'linux', x: new Array(32).fill(0) }),
        );
      attacks.push(
        // 1. a trap for a VM of n1 sent as n2 (a node may publish only its own trap subject)
        forger.request(subjects.hvTrap(sim, 'n2'), trap(1_000_000), { timeoutMs: 5000 }).then(
          () => 'applied',
          (e: Error) => e.message,
        ),
        // 2. a replayed trap of the right node: its number is not above the last one
        forger.request(subjects.hvTrap(sim, 'n1'), trap(0), { timeoutMs: 5000 }).then(
          () => 'applied',
          (e: Error) => e.message,
        ),
        // 3. a run order replaying order 1
        forger
          .request(subjects.hostRun(sim, 'n1', 'h0'), encode(RunOrder, RunOrder.fromPartial({ sim, host: 'h0', seq: 1, nowNs: 0, untilNs: 1000 })), {
            timeoutMs: 5000,
          })
          .then(
            () => 'applied',
            (e: Error) => e.message,
          ),
      );
      // 4. an event batch that does not start where h0's events stand
      forger.publish(subjects.events(sim, 'h0'), encode(EventBatch, { sim, host: 'h0', firstIndex: 0, events: [] }));
      // 5. an event batch from a newer or forged sender: an event kind this build does not know
      const unknownKind = EventMessage.fromPartial({ host: 'h0', source: 'sched', seq: 1, kind: 99 as EventKind });
      forger.publish(subjects.events(sim, 'h0'), encode(EventBatch, { sim, host: 'h0', firstIndex: 0, events: [unknownKind] }));
    };
    const out = await new Coordinator(control, broker.connect(), {
      log: captureLog(coordLog, { service: 'gateway' }),
      onEvents: (host) => {
        if (host === 'h0' && !attacked) {
          attacked = true;
          attack();
        }
      },
      onRefused: (r) => refusedEvents.push(r),
    }).run(spec, sim);
    const answers = await Promise.all(attacks);

    expect(out.assignment.get('h0')).toBe('n1');
    expect(out.result.eventLogHash).toBe(undisturbed);
    expect(answers[0]).toMatch(/refused \(sender\): VM hello runs on node n1, but node n2 sent its trap/);
    expect(answers[1]).toMatch(/refused \(sequence\): stale sequence number 0 on h0/);
    expect(answers[2]).toMatch(/refused \(sequence\): .*(run order 1|sequence number 1 on h0)/);
    expect(refusedEvents).toEqual([expect.objectContaining({ kind: 'sequence', host: 'h0', seq: 0 })]);

    // Counted: the closed simulation's figures stay in Status.
    const hvc = (await hv.status()).counters;
    expect(hvc).toMatchObject({ refusedSender: 1, refusedSequence: 1, refused: 2 });
    expect((await n1.status()).counters).toMatchObject({ refusedSequence: 1, refused: 1 });
    // Logged, with the message's host, VM and vCPU as bindings.
    expect(hvLog.filter((l) => l.msg === 'data-plane message refused')).toEqual([
      expect.objectContaining({
        level: 'warn',
        service: 'hypervisor',
        host: 'h0',
        vm: 'hello',
        vcpu: 0,
        refused: 'sender',
        subject: 'vsim.victim.trap.n2',
      }),
      expect.objectContaining({ level: 'warn', service: 'hypervisor', host: 'h0', vm: 'hello', vcpu: 0, refused: 'sequence', seq: 0 }),
    ]);
    expect(nodeLog.filter((l) => l.msg === 'data-plane message refused')).toEqual([
      expect.objectContaining({ service: 'cpu-node', host: 'h0', refused: 'sequence', seq: 1, subject: 'vsim.victim.run.n1.h0' }),
    ]);
    // The unknown enum value is refused by field, not turned into a string.
    expect(coordLog.filter((l) => l.msg === 'undecodable EventBatch ignored').map((l) => [l.subject, (l.err as Error).message])).toEqual([
      ['vsim.victim.events.h0', 'Event.kind: unknown value 99'],
    ]);
    expect(coordLog.filter((l) => l.msg === 'data-plane message refused')).toEqual([
      expect.objectContaining({ host: 'h0', refused: 'sequence', subject: 'vsim.victim.events.h0' }),
    ]);
  }, 60_000);
});
