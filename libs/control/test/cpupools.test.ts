// cpupools end to end: a scenario splits a host's pCPUs into a pool run by RTDS and the default
// pool run by Credit2; VMs run only on their pool's pCPUs; `set` actions move VMs between pools
// (none lost or run twice, every VM keeps running); the run is deterministic. And the validator
// names the field at fault for a pCPU in two pools, a pool with no pCPUs, an unknown pool.

import { resolve } from 'path';
import { loadScenario, parseScenario, ScenarioError } from '@vsim/scenario';
import { InProcessBroker } from '@vsim/bus';
import { hostPolicySpec, SchedulerService } from '@vsim/scheduler';
import { runEmbedded, simSpecFromScenario } from '@vsim/control';

const BIN = resolve(__dirname, '../../../guests/rv32/bin');

const SCENARIO = `
duration: 300ms
clock: 10MHz
scheduler: { policy: credit2 }
hosts:
  - id: h0
    pcpus: 4
    pools:
      - id: rt
        pcpus: [3]
        scheduler: { policy: rtds }
vms:
  - { id: a, host: h0, kind: linux, memory: 16MiB, image: ${BIN}/checksum.elf, args: ['1000'] }
  - { id: b, host: h0, kind: linux, memory: 16MiB, image: ${BIN}/checksum.elf, args: ['1000'] }
  - { id: m, host: h0, kind: linux, memory: 16MiB, image: ${BIN}/checksum.elf, args: ['1000'], sched: { pool: rt, budget: 5ms, period: 10ms } }
actions:
  - { at: 100ms, set: { vm: m, pool: default } }
  - { at: 200ms, set: { vm: a, pool: rt } }
`;

describe('cpupools', () => {
  it('runs each VM on its pool’s pCPUs only, and moves VMs between pools', async () => {
    const spec = simSpecFromScenario(parseScenario(SCENARIO));
    expect(spec.hosts[0].pools?.map((p) => [p.id, p.pcpus, p.scheduler.policy])).toEqual([['rt', [3], 'rtds']]);
    const { result, log } = await runEmbedded(spec);
    const sched = log.all().filter((e) => e.source === 'sched' && e.kind === 'schedule' && e.vm);
    const pcpusOf = (vm: string, from: number, to: number) =>
      [...new Set(sched.filter((e) => e.vm === vm && e.timeNs >= from && e.timeNs < to).map((e) => e.pcpu))].sort();
    // m: the rt pool (pCPU 3) until 100 ms, then the default pool (0-2); a: default, then rt.
    expect(pcpusOf('m', 0, 100e6)).toEqual([3]);
    for (const p of pcpusOf('m', 100e6, 300e6)) expect([0, 1, 2]).toContain(p);
    for (const p of pcpusOf('a', 0, 200e6)) expect([0, 1, 2]).toContain(p);
    expect(pcpusOf('a', 200e6, 300e6)).toEqual([3]);
    for (const p of pcpusOf('b', 0, 300e6)) expect([0, 1, 2]).toContain(p);
    // RTDS ran m with its budget (5 ms of every 10 ms, plus extratime: alone in its pool it may
    // use the rest) — in any case m kept running in both pools; none was lost.
    const moves = log.all().filter((e) => e.kind === 'sched.cpupool_migrate');
    expect(moves.map((e) => `${e.vm} ${e.detail}`)).toEqual(['m rt -> default', 'a default -> rt']);
    const cpu = new Map(result.vms.map((v) => [v.id, v.cpuNs]));
    for (const vm of ['a', 'b', 'm']) expect(cpu.get(vm)!).toBeGreaterThan(60e6);
    // Never more CPU than the pCPUs had: a vCPU never ran on two of them at once.
    const total = result.vms.reduce((s, v) => s + v.cpuNs, 0);
    expect(total).toBeLessThanOrEqual(4 * result.hosts[0].endNs);
    // Deterministic, pools and moves included.
    const again = await runEmbedded(simSpecFromScenario(parseScenario(SCENARIO)));
    expect(again.result.eventLogHash).toBe(result.eventLogHash);
  });

  it('a scheduler swap on a split host replaces the default pool’s scheduler and keeps the pools', async () => {
    const yaml = SCENARIO.replace(/actions:[\s\S]*$/, 'actions:\n  - { at: 100ms, swapScheduler: { policy: credit } }\n');
    const { log } = await runEmbedded(simSpecFromScenario(parseScenario(yaml)));
    const swap = log.all().find((e) => e.kind === 'swap-scheduler')!;
    expect(JSON.parse(swap.detail).policy).toBe('cpupools');
    const sched = log.all().filter((e) => e.source === 'sched' && e.kind === 'schedule' && e.vm);
    // m stays in its pool (pCPU 3) after the swap; a and b stay on the default pool's pCPUs.
    expect(sched.some((e) => e.vm === 'm' && e.timeNs >= 100e6)).toBe(true);
    for (const e of sched) expect(e.vm === 'm' ? [3] : [0, 1, 2]).toContain(e.pcpu);
    // The default pool is now run by Credit: its accounting trace appears (Credit2 and RTDS have
    // none), from the swap on — its timers are armed when it starts (init_pdata: NOW() + period).
    const acct = log.all().filter((e) => e.kind === 'sched.account');
    expect(acct.length).toBeGreaterThan(0);
    for (const e of acct) expect(e.timeNs).toBeGreaterThanOrEqual(100e6);
    expect(acct[0].timeNs).toBe(100e6 + 15e6); // first csched_acct: acctPhase (tslice / 2) after it started
  });

  it('examples/cpupools.yaml: pins and pools hold, compute moves into the rt pool at 100 ms', async () => {
    const { log } = await runEmbedded(simSpecFromScenario(loadScenario(resolve(__dirname, '../../../examples/cpupools.yaml'))));
    const sched = log.all().filter((e) => e.source === 'sched' && e.kind === 'schedule' && e.vm);
    const pcpusOf = (vm: string, from: number, to: number) =>
      new Set(sched.filter((e) => e.vm === vm && e.timeNs >= from && e.timeNs < to).map((e) => e.pcpu));
    for (const p of pcpusOf('batch', 0, 100e6)) expect([0, 1]).toContain(p);
    for (const p of pcpusOf('batch', 100e6, 200e6)) expect([0, 1, 2]).toContain(p);
    for (const p of pcpusOf('compute', 0, 100e6)) expect([0, 1, 2]).toContain(p);
    expect([...pcpusOf('compute', 100e6, 200e6)]).toEqual([3]);
    expect([...pcpusOf('rt', 0, 200e6)]).toEqual([3]);
  });

  it('a run-time call (SetSchedParams) moves a VM between pools, and an unknown pool is refused at once', () => {
    const svc = new SchedulerService(new InProcessBroker().connect(), 's');
    svc.addHost(
      'h0',
      3,
      hostPolicySpec({ policy: 'credit2', params: {} }, [{ id: 'rt', pcpus: [2], scheduler: { policy: 'rtds', params: {} } }]),
      'n0',
    );
    svc.addVm('h0', { id: 'v', vcpus: 1, sched: { pool: 'rt' } });
    expect(() => svc.setVmParams('v', { pool: 'nope' })).toThrow("v names unknown pool 'nope' (pools: default, rt)");
    expect(() => svc.setVmParams('v', { pool: 'default' })).not.toThrow();
    expect(svc.schedParams().vms).toEqual([{ vm: 'v', host: 'h0', params: { pool: 'default' }, policy: 'credit2' }]); // the pool it moves to decides
  });

  it('refuses bad pool layouts and references, naming the field', () => {
    const issues = (yaml: string) => {
      try {
        parseScenario(yaml);
      } catch (err) {
        if (err instanceof ScenarioError) return err.issues.map((i) => `${i.path}: ${i.message}`);
        throw err;
      }
      return [];
    };
    const base = (pools: string, vmSched = '{}', actions = '[]') => `
duration: 10ms
hosts: [{ id: h0, pcpus: 3, pools: ${pools} }]
vms: [{ id: v, host: h0, memory: 4MiB, image: ${BIN}/sbi-hello.elf, sched: ${vmSched} }]
actions: ${actions}
`;
    expect(issues(base('[{ id: p, pcpus: [0, 1] }, { id: q, pcpus: [1] }]'))).toEqual(["hosts[0].pools[1].pcpus[0]: pCPU 1 is already in pool 'p'"]);
    expect(issues(base('[{ id: p, pcpus: [] }]'))).toEqual(['hosts[0].pools[0].pcpus: needs at least 1 entry']);
    expect(issues(base('[{ id: p, pcpus: [5] }]'))).toEqual(['hosts[0].pools[0].pcpus[0]: host h0 has no pCPU 5 (it has pCPUs 0–2)']);
    expect(issues(base('[{ id: default, pcpus: [0] }]'))).toEqual([
      "hosts[0].pools[0].id: 'default' is the pool of the pCPUs no pool claims; choose another id",
    ]);
    expect(issues(base('[{ id: p, pcpus: [0] }]', '{ pool: nope }'))).toEqual(["vms[0].sched.pool: host h0 has no pool 'nope' (pools: default, p)"]);
    expect(issues(base('[{ id: p, pcpus: [0, 1, 2] }]'))).toEqual([
      "vms[0].host: host h0's pools take every pCPU, so it has no pool 'default': name one in sched.pool (pools: p)",
    ]);
    expect(issues(base('[{ id: p, pcpus: [0] }]', '{}', '[{ at: 1ms, set: { vm: v, pool: q } }]'))).toEqual([
      "actions[0].set.pool: host h0 has no pool 'q' (pools: default, p)",
    ]);
    expect(issues(base('[{ id: p, pcpus: [0] }]', '{ pool: p }', '[{ at: 1ms, set: { vm: v, pool: default } }]'))).toEqual([]);
  });
});
