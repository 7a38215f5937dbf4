// A VM snapshot continued in another process (issue 10, item 2): the snapshot travels over a real
// nats-server to a real child process (fixtures/snapshot-restorer.ts), which restores it into a new
// host executor, runs it on and sends back the events it stamped. With the events from before the
// snapshot they hash to the uninterrupted run's event log.

import { ChildProcess, spawn } from 'child_process';
import { resolve } from 'path';
import { NATS_SERVER_MISSING, NatsBus, NatsServer, findNatsServer, startNatsServer } from '@vsim/bus';
import { HostExecutor, snapshotVm } from '@vsim/executor';
import { VmRecord } from '@vsim/hypervisor';
import { Event, RunReport, VmSnapshot } from '@vsim/proto';
import { HostDriver, REPO_ROOT, driverHostConfig, eventHash, localTrapHandlers, seededRandom } from '@vsim/testkit';
import { SNAPSHOT_CASES } from './snapshot-cases';
import { frameJob } from './fixtures/snapshot-restorer';

const SUBJECT = 'vsim.test.snapshot.restore';
const RUN_NS = 5e6;
const skip = findNatsServer() === undefined && process.env.CI !== 'true';

function startRestorer(url: string): { proc: ChildProcess; ready: Promise<void>; exited: Promise<number | null> } {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', resolve(__dirname, 'fixtures/snapshot-restorer.ts'), '--nats', url, '--subject', SUBJECT],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, TSX_TSCONFIG_PATH: resolve(REPO_ROOT, 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => (err = (err + s).slice(-4000)));
  const ready = new Promise<void>((res, rej) => {
    proc.stdout!.setEncoding('utf8').on('data', (s: string) => s.includes('ready') && res());
    proc.once('exit', (code) => rej(new Error(`snapshot-restorer exited with ${code} before it was ready:\n${err}`)));
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, ready, exited };
}

(skip ? describe.skip : describe)(`a snapshot restored in another process over NATS${skip ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, () => {
  let nats: NatsServer;
  let bus: NatsBus;
  let child: ReturnType<typeof startRestorer>;

  beforeAll(async () => {
    nats = await startNatsServer();
    child = startRestorer(nats.url);
    await child.ready;
    bus = await NatsBus.connect({ servers: nats.url, name: 'snapshot-test' });
  }, 60_000);

  afterAll(async () => {
    await bus?.close();
    child?.proc.kill('SIGTERM');
    const code = await child?.exited;
    await nats?.stop();
    expect(code).toBe(0);
  });

  const cases = SNAPSHOT_CASES.filter((c) => ['rv32 SMP trap-and-emulate', 'rv32 binary-translation', 'ring32 code-patching'].includes(c.name));

  it.each(cases.map((c) => [c.name, c] as const))('%s: the child continues it to the uninterrupted event log', async (_name, c) => {
    const allocators = new Map<string, VmRecord>();
    const exec = new HostExecutor(driverHostConfig(c.setup.vcpus, c.hostIsa), localTrapHandlers(allocators));
    const vm = exec.createVm(c.setup);
    const d = new HostDriver(exec);
    const at = Math.floor(seededRandom(7 + SNAPSHOT_CASES.indexOf(c))() * 5e5);
    await d.runUntil(at, true);
    expect(vm.ended).toBeUndefined();
    const snap = VmSnapshot.encode(snapshotVm(exec, vm.id, { nowNs: d.nowNs })).finish();
    const before = [...d.events];
    const job = { hostIsa: c.hostIsa, pcpus: c.setup.vcpus, nowNs: d.nowNs, steps: [{ untilNs: RUN_NS, exact: false }] };
    const reply = RunReport.decode(await bus.request(SUBJECT, frameJob(job, snap), { timeoutMs: 60_000 }));
    await d.runUntil(RUN_NS);
    expect(reply.events.length).toBeGreaterThan(0);
    expect(reply.nowNs).toBe(d.nowNs);
    expect(eventHash([...before, ...reply.events.map(Event.fromMessage)])).toBe(eventHash(d.events));
  });
});
