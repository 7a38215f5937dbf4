// `vsim up` as a user runs it (a real child process with its own nats-server and one process per
// service, each with its own credentials), driven by `vsim run --nats` with the client credentials
// it printed: the cluster's per-VM results and event-log hash equal the embedded run's; without
// credentials NATS and the gateway refuse; a rejected scenario and a missing gateway are one-line
// errors; a service or nats-server killed with SIGKILL is restarted and the cluster keeps giving
// the same hash; SIGINT stops everything (exit 0, no process left behind, logs kept).

import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { NATS_SERVER_MISSING, findNatsServer, startNatsServer } from '@vsim/bus';

const ROOT = resolve(__dirname, '../../..');
const VSIM = join(ROOT, 'apps/cli/bin/vsim.js');

function vsim(env: NodeJS.ProcessEnv, ...args: string[]) {
  const r = spawnSync(process.execPath, [VSIM, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every process whose parent is `pid`, and theirs. */
function descendants(pid: number): number[] {
  const out = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  const rows = out
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number));
  const found: number[] = [];
  const walk = (p: number) => rows.filter(([, pp]) => pp === p).forEach(([c]) => (found.push(c), walk(c)));
  walk(pid);
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const skip = findNatsServer() === undefined && process.env.CI !== 'true';

(skip ? describe.skip : describe)(`vsim up + vsim run --nats${skip ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsim-up-test-'));
  let up: ChildProcess;
  let stdout = '';
  let stderr = '';
  let exited: Promise<number | null>;
  let natsUrl = '';
  let pids: number[] = [];
  /** two-hosts.yaml's hash, embedded. */
  let twoHostsHash = '';
  /** The client credentials vsim up printed. */
  let creds: NodeJS.ProcessEnv = {};
  const line = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(stdout)![1];

  beforeAll(async () => {
    up = spawn(process.execPath, [VSIM, 'up', '--cpu-nodes', '2'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    up.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    up.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    exited = new Promise((r) => up.once('exit', (code) => r(code)));
    const deadline = Date.now() + 45_000;
    while (!/^vsim up: ready/m.test(stdout)) {
      if (up.exitCode !== null) throw new Error(`vsim up exited ${up.exitCode}: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`vsim up not ready after 45 s: ${stdout}${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    natsUrl = /^NATS: (nats:\/\/127\.0\.0\.1:\d+)$/m.exec(stdout)![1];
    pids = [...stdout.matchAll(/ pid (\d+)$/gm)].map((m) => Number(m[1]));
    creds = { VSIM_CREDENTIALS: line('credentials') };
  }, 60_000);

  afterAll(() => {
    if (up.exitCode === null) up.kill('SIGKILL');
    for (const p of pids) if (alive(p)) process.kill(p, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the NATS URL (never 4222), the gateway URL, the credentials, the token and a pid per process', () => {
    expect(natsUrl).not.toMatch(/:4222$/);
    expect(stdout).toMatch(/^gateway HTTP: http:\/\/127\.0\.0\.1:\d+$/m);
    expect(stdout).toMatch(/^logs: .*vsim-up-\w+$/m);
    expect(stdout).toMatch(/^token: [A-Za-z0-9_-]{43}$/m);
    // Outside the repository, readable by the owner alone.
    expect(line('credentials').startsWith(ROOT)).toBe(false);
    expect(statSync(line('credentials')).mode & 0o777).toBe(0o600);
    for (const s of ['nats-server', 'hypervisor', 'scheduler', 'cpu-node-1', 'cpu-node-2', 'gateway'])
      expect(stdout).toMatch(new RegExp(`^${s}\\s+pid \\d+$`, 'm'));
    expect(pids).toHaveLength(6);
    expect(descendants(up.pid!).sort()).toEqual(expect.arrayContaining([...pids].sort()));
  });

  it('runs examples/two-hosts.yaml on the cluster with the embedded results and event-log hash', () => {
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    const remote = vsim(creds, 'run', '--nats', natsUrl, '--json', a, 'examples/two-hosts.yaml');
    // Only the simulation's id, which the sched-* commands need (issue 14 item 4).
    expect(remote.stderr).toMatch(/^vsim: simulation (\S+) \(for vsim sched-\*, vcpu-\*, cpupool-\*: --sim \1\)\n$/);
    expect(remote.status).toBe(0);
    const embedded = vsim({}, 'run', '--json', b, 'examples/two-hosts.yaml');
    expect(embedded.status).toBe(0);
    const { wallSeconds: wa, ...ra } = JSON.parse(readFileSync(a, 'utf8'));
    const { wallSeconds: wb, ...rb } = JSON.parse(readFileSync(b, 'utf8'));
    expect(typeof wa).toBe('number');
    expect(typeof wb).toBe('number');
    expect(ra).toEqual(rb);
    expect(ra.eventLogHash).toMatch(/^[0-9a-f]{64}$/);
    twoHostsHash = rb.eventLogHash;
    // The same summary, but for the wall time.
    const strip = (s: string) => s.replace(/wall time: [\d.]+ s/, 'wall time: - s');
    expect(strip(remote.stdout)).toBe(strip(embedded.stdout));
  }, 60_000);

  it('reports a scenario the gateway rejects, one line per issue naming the path, exit 2', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'name: bad\nduration: 1ms\nhosts: [{ id: h0, pcpus: 0 }]\nvms: []\n');
    const r = vsim(creds, 'run', '--nats', natsUrl, bad);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^vsim: .*bad\.yaml: hosts\[0\]\.pcpus: /m);
    for (const line of r.stderr.trimEnd().split('\n')) expect(line).toMatch(/^vsim: /);
  });

  it('says so when no gateway is registered (exit 69)', async () => {
    const empty = await startNatsServer();
    try {
      const r = vsim({}, 'run', '--nats', empty.url, 'examples/two-hosts.yaml');
      expect(r.status).toBe(69);
      expect(r.stderr).toBe(`vsim: no gateway found on ${empty.url} (no vsim-gateway registered; start one with 'vsim up')\n`);
    } finally {
      await empty.stop();
    }
  });

  it('refuses a client without credentials, or with a wrong token', async () => {
    const r = vsim({}, 'run', '--nats', natsUrl, 'examples/two-hosts.yaml');
    expect(r.status).toBe(69);
    expect(r.stderr).toMatch(
      /^vsim: cannot reach NATS at .*: Authorization Violation \(a secured cluster: give --credentials FILE or set VSIM_CREDENTIALS/,
    );
    const http = line('gateway HTTP');
    expect((await fetch(`${http}/v1/simulations/x`)).status).toBe(401);
    expect((await fetch(`${http}/v1/simulations/x`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    const token = line('token');
    expect((await fetch(`${http}/v1/simulations/x`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
    const wrong = join(dir, 'wrong.token');
    writeFileSync(wrong, 'not-the-token\n');
    const w = vsim(creds, 'run', '--nats', natsUrl, '--token-file', wrong, 'examples/two-hosts.yaml');
    expect(w.status).toBe(69);
    expect(w.stderr).toMatch(/the bearer token is not accepted/);
  });

  it('restarts a service and nats-server killed with SIGKILL; the cluster keeps its results', async () => {
    const pidOf = (name: string) => Number(new RegExp(`^${name}\\s+pid (\\d+)$`, 'm').exec(stdout)![1]);
    process.kill(pidOf('cpu-node-1'), 'SIGKILL');
    process.kill(pidOf('nats-server'), 'SIGKILL');
    const deadline = Date.now() + 10_000;
    while (!(/cpu-node-1 exited \(signal SIGKILL\): restarting/.test(stderr) && /nats-server exited \(signal SIGKILL\): restarting/.test(stderr))) {
      if (Date.now() > deadline) throw new Error(`no restart reported: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(up.exitCode).toBeNull();
    // New processes (children of vsim up) replace the killed ones.
    const killed = [pidOf('cpu-node-1'), pidOf('nats-server')];
    let now = descendants(up.pid!);
    while (now.length < 6) {
      if (Date.now() > deadline) throw new Error(`not restarted: children ${now.join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
      now = descendants(up.pid!);
    }
    for (const k of killed) expect(now).not.toContain(k);
    // Registered again; the same results (retry while the restarted node registers).
    let r = vsim(creds, 'run', '--nats', natsUrl, 'examples/two-hosts.yaml');
    for (let i = 0; i < 20 && r.status !== 0; i++) {
      await new Promise((res) => setTimeout(res, 500));
      r = vsim(creds, 'run', '--nats', natsUrl, 'examples/two-hosts.yaml');
    }
    expect(r.stderr).toMatch(/^vsim: simulation sim-\S+ /);
    expect(twoHostsHash).not.toBe('');
    expect(r.stdout).toContain(`event-log hash: ${twoHostsHash}\n`);
    pids = [...pids, ...now];
  }, 90_000);

  it('stops every child and nats-server on SIGINT, exits 0, keeps the logs', async () => {
    up.kill('SIGINT');
    expect(await exited).toBe(0);
    for (const p of pids) expect(alive(p)).toBe(false);
    const logDir = line('logs');
    expect(readFileSync(join(logDir, 'gateway.log'), 'utf8')).toMatch(/"msg":"ready"/);
    expect(stderr).toContain(`vsim: logs kept in ${logDir}\n`);
    expect(stderr).toMatch(/vsim: restarts: nats-server 1, cpu-node-1 1/);
    // The temporary secrets went with the cluster.
    expect(() => statSync(line('credentials'))).toThrow();
    rmSync(logDir, { recursive: true, force: true });
  }, 30_000);
});
