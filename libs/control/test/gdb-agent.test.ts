// The cpu-node's end of `vsim gdb` (libs/executor/src/debug) on the embedded path: every service
// in this process on the in-process broker, the requests sent as the gateway sends them. A
// breakpoint stops the vCPU at its address with its host held (a second session on the host is
// refused), a step moves it, detach lets the run finish. (apps/cli/test/gdb-cluster.test.ts runs
// gdb-multiarch through a real cluster, and checks the hash of a read-and-continue session.)

import { InProcessBroker } from '@vsim/bus';
import { gdbFramePacket } from '@vsim/isa';
import { subjects } from '@vsim/proto';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join, resolve } from 'path';
import { loadScenario } from '@vsim/scenario';
import { Coordinator, CpuNodeControlImpl, HypervisorControlImpl, SchedulerControlImpl, SimSpec, simSpecFromScenario } from '../src';
import { inProcessControlPlane } from '../src/grpc-adapters';
import { GUEST_BIN } from '@vsim/testkit';

const ELF = resolve(GUEST_BIN, 'sbi-compute.elf');
/** printf+48 in sbi-compute.elf (where `break printf` puts its breakpoint): called once per progress line. */
const PRINTF_BP = 0x80001268;

const SCENARIO = join(mkdtempSync(join(tmpdir(), 'vsim-gdb-agent-')), 'gdb-agent.yaml');
writeFileSync(
  SCENARIO,
  `name: gdb-agent
seed: 1
duration: 10s
clock: 1GHz
scheduler: { policy: credit }
hosts: [{ id: h0, pcpus: 1 }]
vms:
  - { id: dbg, host: h0, memory: 4MiB, image: ${ELF} }
  - { id: other, host: h0, memory: 4MiB, image: ${ELF} }
`,
);
afterAll(() => rmSync(dirname(SCENARIO), { recursive: true, force: true }));

function spec(): SimSpec {
  return simSpecFromScenario(loadScenario(SCENARIO));
}

/** A simulation started on the embedded services, and a way to send gdb requests to its node. */
function start(sim: string) {
  const broker = new InProcessBroker();
  const buses = [broker.connect(), broker.connect(), broker.connect(), broker.connect(), broker.connect()];
  const [hv, node, sched, coord, gw] = buses;
  const control = inProcessControlPlane({
    hypervisor: new HypervisorControlImpl(hv),
    nodes: [new CpuNodeControlImpl(node, { nodeId: 'n0' })],
    scheduler: new SchedulerControlImpl(sched),
  });
  // The run waits for the first session before it starts: a host's slices run synchronously, so a
  // short guest could otherwise end before the debugger's first request is even handled.
  let attached!: () => void;
  const ready = new Promise<void>((r) => (attached = r));
  const run = new Coordinator(control, coord, { beforeRun: () => ready }).run(spec(), sim);
  const ask = async (body: Record<string, unknown>, timeoutMs = 30_000): Promise<{ data?: string; at?: number; ended?: boolean; error?: string }> =>
    JSON.parse(new TextDecoder().decode(await gw.request(subjects.gdb(sim, 'n0'), new TextEncoder().encode(JSON.stringify(body)), { timeoutMs })));
  const text = (r: { data?: string }) => Buffer.from(r.data ?? '', 'base64').toString('latin1');
  /** Sends a packet (or raw bytes) and returns what the stub sent back within waitMs. */
  const io = async (session: string, wire: string, waitMs = 0) =>
    text(await ask({ session, op: 'io', vm: 'dbg', data: Buffer.from(wire, 'latin1').toString('base64'), waitMs }));
  /** Polls until the stub sends something (a stop reply). */
  const poll = async (session: string) => {
    for (let i = 0; i < 60; i++) {
      const out = text(await ask({ session, op: 'io', vm: 'dbg', waitMs: 2000 }));
      if (out) return out;
    }
    throw new Error('no stop reply');
  };
  const open = async (session: string) => {
    for (;;) {
      // Until the node serves the subject (no responders) and has created the VM.
      // (A short timeout: a request sent as the node subscribes may not be delivered.)
      const r = await ask({ session, op: 'open', vm: 'dbg' }, 1_000).catch(() => ({ error: 'no VM yet' }));
      if (!r.error?.startsWith('no VM ')) {
        attached();
        return r;
      }
      await new Promise((w) => setTimeout(w, 20));
    }
  };
  /** Ends the test's session (the host runs on, whatever an assertion left), then the connections. */
  const close = async (session = 'a') => {
    attached();
    await ask({ session, op: 'close', vm: 'dbg' }).catch(() => undefined);
    await Promise.all(buses.map((b) => b.close()));
  };
  return { run, ask, io, poll, open, close };
}

const pkt = (p: string) => gdbFramePacket(p);
const hex32 = (n: number) => [0, 8, 16, 24].map((s) => ((n >>> s) & 0xff).toString(16).padStart(2, '0')).join('');

describe('vsim gdb: the cpu-node debug agent', () => {
  it('stops at a breakpoint with the host held, single-steps, detaches; the run finishes', async () => {
    const s = start('gdb-bp');
    try {
      expect(await s.open('a')).toEqual({});
      expect(await s.io('a', pkt('?'))).toBe(`+${pkt('T05thread:1;')}`);
      expect(await s.io('a', pkt(`Z0,${PRINTF_BP.toString(16)},4`))).toBe(`+${pkt('OK')}`);
      expect(await s.io('a', pkt('c'))).toBe('+');
      expect(await s.poll('a')).toBe(pkt('T05thread:1;'));
      expect(await s.io('a', pkt('p20'))).toBe(`+${pkt(hex32(PRINTF_BP))}`);
      // The breakpoint is out of memory while stopped: gdb reads the program's own code.
      expect(await s.io('a', pkt(`m${PRINTF_BP.toString(16)},4`))).toBe(`+${pkt('eff0dfa4')}`);
      // A second session on the same host is refused while this one holds it.
      expect((await s.ask({ session: 'b', op: 'open', vm: 'other' })).error).toMatch(/host h0 is already being debugged \(VM dbg\)/);
      expect(await s.io('a', pkt('s'))).toBe(`+${pkt('T05thread:1;')}`);
      expect(await s.io('a', pkt('p20'))).not.toBe(`+${pkt(hex32(PRINTF_BP))}`);
      expect(await s.io('a', pkt(`z0,${PRINTF_BP.toString(16)},4`))).toBe(`+${pkt('OK')}`);
      expect(await s.io('a', pkt('D'))).toBe(`+${pkt('OK')}`);
      const { result } = await s.run;
      expect(result.vms.map((v) => v.state)).toEqual(['halted', 'halted']);
    } finally {
      await s.close();
    }
  }, 40_000);
});
