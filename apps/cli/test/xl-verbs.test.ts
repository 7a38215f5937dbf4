// The xl verbs on a real `vsim up` cluster (issue 14 items 4 and 5): `vsim list` and the gateway's
// GET /v1/simulations, `vsim list --sim`, vcpu-list, cpupool-list in xl's layouts; vcpu-pin and
// cpupool-migrate act on a running simulation (paused while the commands run, then resumed): the
// event log shows the change applied, and the VMs run only where they were sent afterwards; the
// sched-* tables show times in xl's units (tslice=10ms, ratelimit=1000us), never ns.

import { ChildProcess, execFile, spawn } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { NATS_SERVER_MISSING, findNatsServer } from '@vsim/bus';

const ROOT = resolve(__dirname, '../../..');
const VSIM = join(ROOT, 'apps/cli/bin/vsim.js');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function vsim(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Run> {
  return new Promise((done) =>
    execFile(
      process.execPath,
      [VSIM, ...args],
      { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } },
      (err, stdout, stderr) => done({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr }),
    ),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const skip = findNatsServer() === undefined && process.env.CI !== 'true';

(skip ? describe.skip : describe)(`xl verbs on a vsim up cluster${skip ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsim-xl-test-'));
  let up: ChildProcess;
  let out = '';
  let err = '';
  let env: NodeJS.ProcessEnv = {};
  let nats = '';
  let http = '';
  let token = '';
  const line = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(out)![1];
  const api = (path: string, method = 'GET') => fetch(`${http}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  const at = (...args: string[]) => vsim(env, ...args.slice(0, 1), '--nats', nats, ...args.slice(1));

  beforeAll(async () => {
    up = spawn(process.execPath, [VSIM, 'up', '--cpu-nodes', '1'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    up.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
    up.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
    const deadline = Date.now() + 45_000;
    while (!/^vsim up: ready/m.test(out)) {
      if (up.exitCode !== null) throw new Error(`vsim up exited ${up.exitCode}: ${err}`);
      if (Date.now() > deadline) throw new Error(`vsim up not ready after 45 s: ${out}${err}`);
      await sleep(100);
    }
    nats = line('NATS');
    http = line('gateway HTTP');
    token = line('token');
    env = { VSIM_CREDENTIALS: line('credentials') };
  }, 60_000);

  afterAll(async () => {
    if (up.exitCode === null) {
      const exited = new Promise((r) => up.once('exit', r));
      up.kill('SIGINT');
      await exited;
    }
    const logs = /^logs: (.*)$/m.exec(out)?.[1];
    if (logs) rmSync(logs, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('vsim up prints the gateway gRPC address; vsim list and GET /v1/simulations list nothing yet', async () => {
    expect(out).toMatch(/^gateway gRPC: 127\.0\.0\.1:\d+$/m);
    const r = await at('list');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('Simulation                     Name                 State     Virtual(ms)  Duration(ms)  Hosts  VMs\n');
    expect(await (await api('/v1/simulations')).json()).toEqual({ simulations: [] });
  });

  it('lists, pins and migrates the domains of a running simulation as xl does, and the run follows', async () => {
    // examples/cpupools.yaml without its timed actions: pool default (pCPUs 0-2, Credit2) and rt (pCPU 3, RTDS).
    const text = readFileSync(join(ROOT, 'examples/cpupools.yaml'), 'utf8')
      .replace(/^actions:[\s\S]*$/m, '')
      .replace(/^duration: .*$/m, 'duration: 300ms')
      .replaceAll('../guests/', `${join(ROOT, 'guests')}/`);
    const scenario = join(dir, 'pools.yaml');
    writeFileSync(scenario, text);
    const run = spawn(process.execPath, [VSIM, 'run', '--nats', nats, scenario], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let runOut = '';
    let runErr = '';
    run.stdout!.setEncoding('utf8').on('data', (s: string) => (runOut += s));
    run.stderr!.setEncoding('utf8').on('data', (s: string) => (runErr += s));
    const finished = new Promise<number | null>((r) => run.once('exit', r));
    let sim = '';
    for (let i = 0; i < 300 && sim === ''; i++) {
      sim = /simulation (sim-[0-9A-Z]+)/.exec(runErr)?.[1] ?? '';
      if (sim === '') await sleep(100);
    }
    expect(sim).not.toBe('');
    // Hold it (virtual time stands still) while the commands look and act.
    let paused = false;
    for (let i = 0; i < 100 && !paused; i++) {
      paused = (await api(`/v1/simulations/${sim}/pause`, 'POST')).status === 200;
      if (!paused) await sleep(100);
    }
    expect(paused).toBe(true);

    const listed = await at('list');
    expect(listed.stdout).toMatch(new RegExp(`^${sim} cpupools             paused +\\d+\\.\\d{3}       300\\.000      1    4$`, 'm'));
    const body = (await (await api('/v1/simulations')).json()) as { simulations: { sim: string; state: string; durationNs: number }[] };
    expect(body.simulations).toEqual([
      expect.objectContaining({ sim, name: 'cpupools', state: 'paused', durationNs: 300_000_000, hosts: 1, vms: 4 }),
    ]);

    const domains = await at('list', '--sim', sim, '-c');
    expect(domains.status).toBe(0);
    const rows = domains.stdout.split('\n');
    expect(rows[0]).toBe('Name                                        ID   Mem VCPUs\tState\tTime(s)         Cpupool');
    expect(rows[1]).toMatch(/^compute {33} {5}1 {5}4 {5}1 {5}[r-][b-]-{4} +\d+\.\d{3} {9}default$/);
    // Live domains per pool (the pause may come after io, which sleeps 20 times 1 ms, has halted).
    const live = (pool: string) => rows.filter((r) => r.endsWith(` ${pool}`) && !/ [r-][b-]-s/.test(r)).length;
    const [inDefault, inRt] = [live('default'), live('rt')];
    const ioLive = rows.some((r) => r.startsWith('io ') && !/ [r-][b-]-s/.test(r));

    let vcpus = await at('vcpu-list', '--sim', sim, 'batch');
    expect(vcpus.stdout.split('\n')[0]).toBe('Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)');
    expect(vcpus.stdout.split('\n')[1]).toMatch(/^batch {28} {4}2 {5}0 +[-\d]+ +[r-][b-]- +\d+\.\d{3} {2}0-1 \/ all$/);

    let pools = await at('cpupool-list', '--sim', sim);
    expect(pools.stdout).toMatch(
      new RegExp(
        `^Name {15}CPUs {3}Sched {5}Active {3}Domain count\ndefault {14}3 {3}credit2 {7}y {10}${inDefault}\nrt {19}1 {6}rtds {7}y {10}${inRt}\n$`,
      ),
    );

    // Refused before anything is sent: a pCPU the host does not have, a pool it does not have.
    const badPin = await at('vcpu-pin', '--sim', sim, 'batch', '0', '9');
    expect(badPin.status).toBe(2);
    expect(badPin.stderr).toBe("vsim: vcpu-pin: HARD: '9': the host has pCPUs 0-3\n");
    const badPool = await at('cpupool-migrate', '--sim', sim, 'compute', 'nope');
    expect(badPool.status).toBe(1);
    expect(badPool.stderr).toBe("vsim: cpupool-migrate: unknown cpupool 'nope' on compute's host h0 (its pools: default, rt)\n");

    expect((await at('vcpu-pin', '--sim', sim, 'batch', 'all', '2')).status).toBe(0);
    expect((await at('cpupool-migrate', '--sim', sim, '1', 'rt')).status).toBe(0); // by domain ID, as xl
    vcpus = await at('vcpu-list', '--sim', sim, 'batch');
    expect(vcpus.stdout).toMatch(/ {2}2 \/ all\n$/);
    pools = await at('cpupool-list', '--sim', sim, '-c');
    expect(pools.stdout).toBe('Name               CPU list\ndefault            0,1,2\nrt                 3\n');
    pools = await at('cpupool-list', '--sim', sim, 'rt');
    expect(pools.stdout).toMatch(new RegExp(`^rt {19}1 {6}rtds {7}y {10}${inRt + 1}$`, 'm'));

    // Times in xl's units: Credit2's pool line, RTDS's µs columns for the migrated VM.
    const credit2 = await at('sched-credit2', '--sim', sim);
    expect(credit2.stdout).toBe(
      'Cpupool default: ratelimit=1000us\nName                                ID Weight  Cap\nbatch                                2    256   50\n' +
        (ioLive ? 'io                                   3    256    0\n' : ''),
    );
    const rtds = await at('sched-rtds', '--sim', sim, '-d', 'rt');
    expect(rtds.stdout).toBe(
      'Name                                ID    Period    Budget  Extratime\nrt                                   4     10000      2000        yes\n',
    );
    const show = await at('sched', 'show', '--sim', sim);
    expect(show.stdout).toMatch(
      /^Cpupool default: ratelimit=1000us\n[\s\S]*^Cpupool rt: sched=RTDS\nName {32}ID {4}Period {4}Budget {2}Extratime\ncompute /m,
    );
    expect(show.stdout).not.toMatch(/\{|ns\b/);

    expect((await api(`/v1/simulations/${sim}/resume`, 'POST')).status).toBe(200);
    expect(await finished).toBe(0);
    expect(runOut).toMatch(/^event-log hash: [0-9a-f]{64}$/m);

    // What the scheduler did with the calls: applied (set events), and the VMs ran only where sent.
    const events = (await (await api(`/v1/simulations/${sim}/events`)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { timeNs: number; kind: string; vm: string; pcpu: number; detail: string });
    const set = (vm: string) => events.find((e) => e.kind === 'set' && e.vm === vm)!;
    expect(JSON.parse(set('batch').detail)).toEqual({ pin: [[2]] });
    expect(JSON.parse(set('compute').detail)).toEqual({ pool: 'rt' });
    expect(events.some((e) => e.kind === 'sched.cpupool_migrate' && e.vm === 'compute' && e.detail === 'default -> rt')).toBe(true);
    const ranOn = (vm: string) => new Set(events.filter((e) => e.kind === 'schedule' && e.vm === vm && e.timeNs > set(vm).timeNs).map((e) => e.pcpu));
    expect([...ranOn('batch')]).toEqual([2]);
    expect([...ranOn('compute')]).toEqual([3]);

    const done = await at('list');
    expect(done.stdout).toMatch(new RegExp(`^${sim} cpupools             done         300\\.000       300\\.000      1    4$`, 'm'));
  }, 180_000);
});
