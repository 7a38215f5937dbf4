// `vsim gdb SIM VM` against a real `vsim up` and the real debugger: gdb-multiarch in batch mode
// attaches to a VM of a running simulation through the gateway, breaks at printf, steps, reads
// registers and memory, and detaches (the run goes on and ends normally); and a session that only
// reads and continues leaves the run's event-log hash what the same scenario gives embedded.

import { spawn } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { NATS_SERVER_MISSING, findNatsServer } from '@vsim/bus';
import { runEmbedded, simSpecFromScenario } from '@vsim/control';
import { loadScenario } from '@vsim/scenario';
import { GUEST_BIN, REPO_ROOT, UpCluster, hasCommand, startVsimUp } from '@vsim/testkit';

const BIN = join(REPO_ROOT, 'apps/cli/bin/vsim.js');
const GDB = 'gdb-multiarch';
const ELF = join(GUEST_BIN, 'sbi-compute.elf');
const missing = !hasCommand(GDB) ? `${GDB} not installed` : findNatsServer() === undefined && process.env.CI !== 'true' ? NATS_SERVER_MISSING : '';

interface Finished {
  status: number | null;
  stdout: string;
  stderr: string;
}

function finished(child: ReturnType<typeof spawn>, timeoutMs = 120_000): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    }),
  );
}

// One host, one pCPU, Credit, five CPU-bound VMs: the run lasts long enough to debug one of them.
const SCENARIO = `name: gdb-cluster
seed: 5
duration: 10s
clock: 1GHz
scheduler: { policy: credit }
hosts:
  - { id: h0, pcpus: 1 }
vms:
  - { id: dbg, host: h0, memory: 4MiB, image: ${ELF} }
${[1, 2, 3, 4].map((i) => `  - { id: c${i}, host: h0, memory: 4MiB, image: ${ELF} }`).join('\n')}
`;

(missing ? describe.skip : describe)(`vsim gdb on a vsim up cluster, driven by ${GDB}${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let cluster: UpCluster;
  const dir = mkdtempSync(join(tmpdir(), 'vsim-gdb-cluster-'));
  const scenario = join(dir, 'gdb-cluster.yaml');
  const env = () => ({ ...process.env, VSIM_CREDENTIALS: cluster.credentials });

  beforeAll(async () => {
    writeFileSync(scenario, SCENARIO);
    cluster = await startVsimUp([]);
  }, 90_000);

  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts the scenario on the cluster; resolves with its id once it runs, and its run's end. */
  async function startRun(): Promise<{ sim: string; run: Promise<Finished> }> {
    const child = spawn(process.execPath, [BIN, 'run', '--nats', cluster.natsUrl, scenario], { cwd: REPO_ROOT, env: env() });
    const run = finished(child);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await fetch(`${cluster.httpUrl}/v1/simulations`, { headers: { authorization: `Bearer ${cluster.token}` } }).catch(() => undefined);
      const list = res ? ((await res.json()) as { simulations: { sim: string; state: string; name: string }[] }).simulations : [];
      const sim = list.find((s) => s.state === 'running' && s.name === 'gdb-cluster' && !seen.has(s.sim))?.sim;
      if (sim) {
        seen.add(sim);
        // Held at once (virtual time stands still), so that the VM is still at work when gdb
        // attaches however slow this machine is; debug() resumes it once gdb has it stopped.
        await api('POST', `/v1/simulations/${sim}/pause`);
        return { sim, run };
      }
      if (Date.now() > deadline) throw new Error('the simulation did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const seen = new Set<string>();
  const api = async (method: string, path: string): Promise<void> => {
    const res = await fetch(`${cluster.httpUrl}${path}`, { method, headers: { authorization: `Bearer ${cluster.token}` } });
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
  };

  /** `vsim gdb SIM VM --listen 0` and gdb-multiarch -batch with `commands` against it. */
  async function debug(sim: string, vm: string, commands: string[]): Promise<{ vsim: Finished; gdb: Finished }> {
    const vsim = spawn(process.execPath, [BIN, 'gdb', sim, vm, '--http', cluster.httpUrl, '--listen', '0'], { cwd: REPO_ROOT, env: env() });
    const vsimDone = finished(vsim);
    let err = '';
    let attached: () => void;
    const stopped = new Promise<void>((r) => (attached = r));
    const port = await new Promise<string>((resolve, reject) => {
      vsim.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /127\.0\.0\.1:(\d+)/.exec(err);
        if (m) resolve(m[1]);
        if (/stopped on cpu-node/.test(err)) attached();
      });
      vsim.on('exit', () => reject(new Error(`vsim gdb exited before listening: ${err}`)));
    });
    // The host is held by gdb from now on: the simulation may go on (its other hosts would).
    void stopped.then(() => api('POST', `/v1/simulations/${sim}/resume`));
    const ex = ['set architecture riscv:rv32', `target remote :${port}`, ...commands].flatMap((c) => ['-ex', c]);
    const gdb = spawn(GDB, ['-batch', '-nx', ...ex, ELF], { cwd: REPO_ROOT });
    const [g, v] = await Promise.all([finished(gdb), vsimDone]);
    return { vsim: v, gdb: g };
  }

  test('break at printf, step, read registers and memory, detach: the run goes on to its end', async () => {
    const { sim, run } = await startRun();
    const { vsim, gdb } = await debug(sim, 'dbg', [
      'info registers pc',
      'break printf',
      'continue',
      'info registers pc',
      'x/2xw $sp',
      'stepi',
      'info registers pc',
      'delete',
      'detach',
    ]);
    const out = gdb.stdout;
    expect(vsim.stderr).toMatch(/dbg:0 of \S+ stopped on cpu-node/);
    expect(out).toMatch(/Breakpoint 1, 0x[0-9a-f]+ in printf \(\)/);
    const pcs = [...out.matchAll(/^pc\s+(0x[0-9a-f]+)/gm)].map((m) => parseInt(m[1], 16));
    expect(pcs).toHaveLength(3);
    const printf = /Breakpoint 1 at (0x[0-9a-f]+)/.exec(out)![1];
    expect(pcs[1]).toBe(parseInt(printf, 16)); // stopped at the breakpoint
    expect(pcs[2]).not.toBe(pcs[1]); // stepi moved on
    expect(out).toMatch(/^0x[0-9a-f]+:\s+0x[0-9a-f]{8}\s+0x[0-9a-f]{8}$/m); // memory at sp
    expect(out).toMatch(/\(Remote target\) detached/);
    expect(vsim.status).toBe(0);
    const r = await run;
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^dbg\s+h0\s+halted\(0\)/m);
  }, 240_000);

  test('a session that only reads and continues leaves the event-log hash unchanged', async () => {
    const expected = (await runEmbedded(simSpecFromScenario(loadScenario(scenario)))).result.eventLogHash;
    const { sim, run } = await startRun();
    const { vsim, gdb } = await debug(sim, 'dbg', ['info registers pc', 'x/4xw 0x80000000', 'info registers sp', 'continue']);
    expect(gdb.stdout).toMatch(/^pc\s+0x/m);
    expect(gdb.stdout).toMatch(/exited normally/);
    expect(vsim.status).toBe(0);
    const r = await run;
    expect(r.status).toBe(0);
    expect(/event-log hash: ([0-9a-f]{64})/.exec(r.stdout)?.[1]).toBe(expected);
  }, 240_000);
});
