// Faults on a secured `vsim up` cluster (npm run test:faults): per-service NATS identities with
// least-privilege permissions, JetStream, the gateway's API behind a token. vsim up supervises: the
// service the test kills with SIGKILL mid-run is restarted, and the restart takes the simulation
// over from its JetStream key-value bucket (which only its identity may use):
//   - the hypervisor: the client's run completes with the embedded run's hash;
//   - the gateway: the client lost its connection with it; `vsim run --attach SIM` against the
//     restarted gateway gets the embedded run's results.
// With VSIM_TEST_VERBOSE=1 it prints the fault table.

import { ChildProcess, spawn } from 'child_process';
import { rmSync } from 'fs';
import { join } from 'path';
import { NATS_SERVER_MISSING, findNatsServer } from '@vsim/bus';
import { SimResult } from '@vsim/control';
import { FaultRow, REPO_ROOT, faultTable, runVsim, until } from '@vsim/testkit';

const VERBOSE = process.env.VSIM_TEST_VERBOSE === '1';
const skip = findNatsServer() === undefined && process.env.CI !== 'true';

const rows: FaultRow[] = [];
afterAll(() => {
  if (VERBOSE && rows.length > 0) console.log(faultTable(rows));
});

function row(fault: string, result: SimResult | undefined, reference: SimResult): void {
  rows.push({
    fault,
    runs: 1,
    completed: result ? 1 : 0,
    hashIdentical: result ? (result.eventLogHash === reference.eventLogHash ? 'yes' : 'NO') : '-',
    events: result ? `${Math.max(0, reference.events - result.events)} / ${Math.max(0, result.events - reference.events)}` : '-',
  });
}

(skip ? describe.skip : describe)(`faults under a secured vsim up${skip ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, () => {
  let up: ChildProcess;
  let out = '';
  let err = '';
  let reference: SimResult;
  const line = (re: RegExp) => re.exec(out)![1];
  const env = () => ({ ...process.env, VSIM_CREDENTIALS: line(/^credentials: (.*)$/m) });

  beforeAll(async () => {
    up = spawn(process.execPath, [join(REPO_ROOT, 'apps/cli/bin/vsim.js'), 'up', '--cpu-nodes', '2'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    up.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
    up.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
    await until(
      'vsim up ready',
      () => (/^vsim up: ready/m.test(out) ? true : up.exitCode !== null ? Promise.reject(new Error(err)) : undefined),
      60_000,
      100,
    );
    reference = JSON.parse((await runVsim(['run', '--json', '-', 'examples/two-hosts.yaml'], 120_000)).stdout) as SimResult;
  }, 180_000);

  afterAll(async () => {
    if (up.exitCode === null) {
      const done = new Promise((r) => up.once('exit', r));
      up.kill('SIGINT');
      await done;
    }
    const logs = /^logs: (.*)$/m.exec(out)?.[1];
    if (logs) rmSync(logs, { recursive: true, force: true });
  }, 60_000);

  /** `vsim run --nats` of examples/two-hosts.yaml, once its hosts have made progress. */
  async function clientUnderWay(): Promise<{
    sim: string;
    code: Promise<number | null>;
    stdout: () => string;
    stderr: () => string;
    proc: ChildProcess;
  }> {
    const proc = spawn(
      process.execPath,
      [join(REPO_ROOT, 'apps/cli/bin/vsim.js'), 'run', '--nats', line(/^NATS: (\S+)$/m), '--json', '-', 'examples/two-hosts.yaml'],
      { cwd: REPO_ROOT, env: env(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    proc.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    proc.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const code = new Promise<number | null>((r) => proc.once('exit', r));
    const sim = await until('the client to submit', () => /simulation (sim-\S+)/.exec(stderr)?.[1], 60_000);
    const http = line(/^gateway HTTP: (\S+)$/m);
    const token = line(/^token: (\S+)$/m);
    await until(
      'the run to be under way',
      async () => {
        const r = await fetch(`${http}/v1/simulations/${sim}`, { headers: { authorization: `Bearer ${token}` } });
        const s = (await r.json()) as { hostNs?: Record<string, number>; state?: string };
        return Object.values(s.hostNs ?? {}).some((ns) => Number(ns) > 0) || s.state === 'done' ? true : undefined;
      },
      60_000,
      20,
    );
    return { sim, code, stdout: () => stdout, stderr: () => stderr, proc };
  }

  /** Resolves once vsim up reports `name` killed and being restarted (one more time than `before`). */
  const restarted = (name: string, before: number) => until(`${name} restarted`, () => (count(name) > before ? true : undefined), 30_000, 100);
  const count = (name: string) => (err.match(new RegExp(`\\b${name} exited \\(signal SIGKILL\\): restarting`, 'g')) ?? []).length;

  test('kill -9 of the hypervisor mid-run: vsim up restarts it, it takes the run over, same hash', async () => {
    const client = await clientUnderWay();
    const before = count('hypervisor');
    process.kill(Number(line(/^hypervisor\s+pid (\d+)$/m)), 'SIGKILL');
    const status = await client.code;
    const result = status === 0 ? (JSON.parse(client.stdout()) as SimResult) : undefined;
    row('kill -9 hypervisor (vsim up)', result, reference);
    expect([status, status === 0 ? '' : client.stderr()]).toEqual([0, '']);
    expect(result!.eventLogHash).toBe(reference.eventLogHash);
    expect(result!.events).toBe(reference.events);
    await restarted('hypervisor', before);
  }, 240_000);

  test('kill -9 of the gateway mid-run: vsim up restarts it, vsim run --attach gets the same results', async () => {
    const client = await clientUnderWay();
    const before = count('gateway');
    process.kill(Number(line(/^gateway\s+pid (\d+)$/m)), 'SIGKILL');
    client.proc.kill('SIGKILL'); // its connection went with the gateway: a new client reattaches
    await restarted('gateway', before);
    const attached = await until(
      'a reattached client',
      async () => {
        const r = await runVsim(['run', '--nats', line(/^NATS: (\S+)$/m), '--attach', client.sim, '--json', '-'], 120_000, env());
        // Until the restarted gateway has registered, the client finds none.
        return r.status === 0 ? r : /no vsim-gateway|UNAVAILABLE/i.test(r.stderr) ? undefined : Promise.reject(new Error(r.stderr));
      },
      60_000,
      500,
    );
    const result = JSON.parse(attached.stdout) as SimResult;
    row('kill -9 gateway (vsim up), reattach', result, reference);
    expect(result.eventLogHash).toBe(reference.eventLogHash);
    expect(result.events).toBe(reference.events);
  }, 240_000);
});
