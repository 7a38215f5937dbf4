// Timed scenario actions on a host's loop, with a real host executing real guests: pausing a VM
// takes it off the pCPUs for exactly the paused interval, swapping the scheduler mid-run loses no
// vCPU, killing the host stops it at that time.

import { readFileSync } from 'fs';
import { resolve } from 'path';
import { handleTrap } from '@vsim/hypervisor';
import { HostExecutor } from '@vsim/executor';
import { HostLoop, RoundRobinPolicy } from '@vsim/scheduler';

const BIN = resolve(__dirname, '../../../guests/rv32/bin');

function setup(pcpus = 1) {
  const exec = new HostExecutor(
    { sim: 't', id: 'h0', pcpus, clockHz: 1e9, quantumNs: 10_000, trapPath: 'split' },
    {
      exitCost: 1000,
      local: (req) => handleTrap(req, undefined),
      remote: async (req) => handleTrap(req, { id: req.vm, kind: 'linux', brkStart: 0, brk: 0, brkMax: 0 }),
    },
  );
  const loop = new HostLoop('t', 'h0', pcpus, new RoundRobinPolicy(pcpus, 1e6), (order) => exec.run(order));
  for (const id of ['a', 'b']) {
    exec.createVm({ id, kind: 'linux', vcpus: 1, memoryBytes: 16 << 20, image: readFileSync(`${BIN}/checksum.elf`), args: ['100'], engine: 'bt' });
    loop.addVm({ id, vcpus: 1, sched: {} });
  }
  return { exec, loop };
}

describe('scenario actions on a host loop', () => {
  it('pause takes a VM off the pCPU for the paused interval; the other gets it all', async () => {
    const { loop } = setup();
    loop.addAction({ kind: 'pause', at: 4e6, vm: 'a' });
    loop.addAction({ kind: 'unpause', at: 14e6, vm: 'a' });
    const r = await loop.run(20e6);
    const a = r.vcpus.get('a/0')!;
    const b = r.vcpus.get('b/0')!;
    // 20 ms on one pCPU: a runs ~half of the 10 ms it is not paused, b the rest.
    expect(a.runningNs + b.runningNs).toBeGreaterThan(19.9e6);
    expect(a.runningNs).toBeGreaterThan(4e6);
    expect(a.runningNs).toBeLessThan(6e6);
    expect(b.runningNs).toBeGreaterThan(14e6);
    // While paused, a is neither running nor waiting.
    expect(a.waitingNs).toBeLessThan(6e6);
    expect(r.events.filter((e) => e.kind === 'pause' || e.kind === 'unpause').map((e) => [e.kind, e.timeNs])).toEqual([
      ['pause', 4e6],
      ['unpause', 14e6],
    ]);
  });

  it('swapping the scheduler mid-run hands every vCPU over: none lost, none run twice', async () => {
    const { loop } = setup(2);
    loop.addAction({ kind: 'swapScheduler', at: 5e6, policy: 'round-robin', make: () => new RoundRobinPolicy(2, 3e5) });
    const r = await loop.run(10e6);
    for (const k of ['a/0', 'b/0']) {
      const s = r.vcpus.get(k)!;
      // Two vCPUs, two pCPUs: each runs the whole time, before and after the swap.
      expect(s.runningNs).toBeGreaterThan(9.9e6);
      expect(s.runningNs).toBeLessThanOrEqual(10e6);
    }
    expect(r.events.some((e) => e.kind === 'swap-scheduler' && e.timeNs === 5e6)).toBe(true);
  });

  it('killing the host stops its loop at that time and fails its VMs', async () => {
    const { loop } = setup();
    loop.addAction({ kind: 'killHost', at: 3e6 });
    const r = await loop.run(20e6);
    expect(r.endNs).toBe(3e6);
    expect(r.events.filter((e) => e.kind === 'fault').map((e) => e.vm)).toEqual(['a', 'b']);
  });
});
