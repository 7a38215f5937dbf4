// The security suite (issue 11; docs/security.md): a real `vsim up --cpu-nodes 2` cluster (real
// nats-server, every service its own process) with credentials made by `vsim secrets`, a victim
// simulation run by the API principal `client`, and every attack of the list made against it while
// it is paused mid-run — by an anonymous NATS client, by `mallory` (another legitimate API
// principal of the same cluster), and by a compromised cpu-node (the credentials of cpu-node-2).
// Each must be refused, counted (nats-server's refusals as its log counts them, the services' and
// the gateway's in their own counters) and logged, and the victim must end with the hash of an
// undisturbed run. Prints the table (with VSIM_TEST_VERBOSE=1, which the script sets):
// attack → refused → counted → logged → victim hash unchanged.
//   npm run test:security

import { ChildProcess, spawn, spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { Metadata, ServiceError, status as grpcStatus } from '@grpc/grpc-js';
import { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { NATS_SERVER_MISSING, findNatsServer } from '@vsim/bus';
import { SimSpec, VmSpec, cpuNodeControlClient, hypervisorControlClient, runEmbedded, schedulerControlClient } from '@vsim/control';
import { EventBatch, GatewayClient, RunOrder, RunReport, TrapRequest, TrapResolution, encode, subjects } from '@vsim/proto';
import { Identity, NatsViolationCounter, bearerMetadata, natsConnectionOptions, readIdentity } from '@vsim/security';
import { discover, registerService } from '@vsim/service';
import { GUEST_BIN } from '@vsim/testkit';

const ROOT = resolve(__dirname, '../../..');
const VSIM = join(ROOT, 'apps/cli/bin/vsim.js');

const vm = (id: string, host: string, image: string, args: string[]): VmSpec => ({
  id,
  host,
  vcpus: 1,
  memoryBytes: 16 << 20,
  image: `${GUEST_BIN}/${image}`,
  args,
  kind: 'linux',
  engine: 'bt',
  sched: {},
});
/** Two hosts on two cpu-nodes, every trap to the hypervisor service, a few seconds of wall time. */
const VICTIM: SimSpec = {
  name: 'victim',
  seed: 7,
  durationNs: 1e9,
  trapPath: 'remote',
  scheduler: { policy: 'round-robin', params: { timeslice: 1e6 } },
  hosts: [
    { id: 'h0', pcpus: 1, clockHz: 10e6, quantumNs: 100_000 },
    { id: 'h1', pcpus: 1, clockHz: 10e6, quantumNs: 100_000 },
  ],
  vms: [
    vm('hello', 'h0', 'hello.elf', ['x']),
    vm('hog0', 'h0', 'checksum.elf', ['1000']),
    vm('mat', 'h1', 'matmul.elf', ['2']),
    vm('hog1', 'h1', 'checksum.elf', ['1000']),
  ],
};

interface Row {
  readonly attack: string;
  readonly by: string;
  refused: boolean;
  counted: boolean;
  logged: boolean;
}

async function eventually(f: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await f()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const skip = findNatsServer() === undefined && process.env.CI !== 'true';
/** The table is printed on request: npm run test:security sets VSIM_TEST_VERBOSE=1. */
const VERBOSE = process.env.VSIM_TEST_VERBOSE === '1';

(skip ? describe.skip : describe)(`security suite: attacks on a vsim up cluster${skip ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsim-security-'));
  const secrets = join(dir, 'secrets');
  let up: ChildProcess;
  let out = '';
  let err = '';
  const ids = new Map<string, Identity>();
  const nats = new Map<string, NatsConnection>();
  const line = (name: string) => new RegExp(`^${name}: (\\S*)`, 'm').exec(out)![1];
  const logOf = (svc: string) =>
    readFileSync(join(line('logs'), `${svc}.log`), 'utf8')
      .split('\n')
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  const grpcOf = (svc: string) => String(logOf(svc).find((l) => l.msg === 'ready')!.grpc);
  /** nats-server's refusals, counted from its log (the server keeps no counter of them). */
  const audit = () => {
    const c = new NatsViolationCounter((k) => [...ids].find(([, id]) => id.natsPublicKey === k)?.[0]);
    for (const l of readFileSync(join(line('logs'), 'nats-server.log'), 'utf8').split('\n')) c.add(l);
    return c;
  };
  const natsLogged = (what: RegExp) =>
    readFileSync(join(line('logs'), 'nats-server.log'), 'utf8')
      .split('\n')
      .some((l) => what.test(l));
  let gateway: GatewayClient;
  const call = <Req, Res>(method: keyof GatewayClient, req: Req, md: Metadata): Promise<Res> =>
    new Promise((res, rej) => {
      const m = gateway[method] as unknown as (r: Req, md: Metadata, o: { deadline: number }, cb: (e: ServiceError | null, r: Res) => void) => void;
      m.call(gateway, req, md, { deadline: Date.now() + 30_000 }, (e, r) => (e ? rej(e) : res(r)));
    });
  const as = (who: string) => bearerMetadata(ids.get(who)!.apiToken);
  let sim = '';
  const rows: Row[] = [];
  let victimHash = '';
  let reference = '';

  beforeAll(async () => {
    const gen = spawnSync(process.execPath, [VSIM, 'secrets', '--cpu-nodes', '2', '--clients', 'client,mallory', secrets], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (gen.status !== 0) throw new Error(`vsim secrets: ${gen.stderr}`);
    up = spawn(process.execPath, [VSIM, 'up', '--cpu-nodes', '2', '--secrets', secrets], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    up.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
    up.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
    const deadline = Date.now() + 60_000;
    while (!/^vsim up: ready/m.test(out)) {
      if (up.exitCode !== null) throw new Error(`vsim up exited ${up.exitCode}: ${err}`);
      if (Date.now() > deadline) throw new Error(`vsim up not ready: ${out}${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const name of ['client', 'mallory', 'cpu-node-2', 'gateway', 'supervisor']) ids.set(name, readIdentity(join(secrets, `${name}.json`)));
    for (const name of ['mallory', 'cpu-node-2', 'supervisor'])
      nats.set(name, await connect({ servers: line('NATS'), ...natsConnectionOptions(ids.get(name)!) }));
    gateway = new GatewayClient(line('gateway gRPC'), (await import('@grpc/grpc-js')).credentials.createInsecure());
    reference = (await runEmbedded(VICTIM)).result.eventLogHash;
    // The victim: submitted and started by `client`, paused mid-run while the attacks go on.
    const images = Object.fromEntries(VICTIM.vms.map((v) => [v.image, readFileSync(v.image)]));
    ({ sim } = await call<object, { sim: string }>('submit', { scenarioYaml: JSON.stringify(VICTIM), images }, as('client')));
    await call('start', { sim }, as('client'));
    await eventually(
      async () =>
        Object.values((await call<object, { hostNs: Record<string, number> }>('status', { sim }, as('client'))).hostNs).some((ns) => Number(ns) > 0),
      60_000,
    );
    await call('pause', { sim }, as('client'));
  }, 120_000);

  afterAll(async () => {
    gateway?.close();
    for (const nc of nats.values()) await nc.close().catch(() => undefined);
    if (up && up.exitCode === null) {
      up.kill('SIGINT');
      await new Promise((r) => up.once('exit', r));
    }
    if (/^logs: /m.test(out)) rmSync(line('logs'), { recursive: true, force: true }); // vsim up keeps them
    rmSync(dir, { recursive: true, force: true });
  });

  /** Subscribes as `who`; resolves with the permission error, or '' if the server took it. */
  async function trySubscribe(who: string, subject: string): Promise<string> {
    let e = '';
    nats.get(who)!.subscribe(subject, {
      callback: (x) => {
        if (x) e = x.message;
      },
    });
    await nats.get(who)!.flush(); // the server answers SUB before the flush's PONG
    return e;
  }

  /** Publishes as `who` and reports whether nats-server logged a publish violation for it. */
  async function tryPublish(who: string, subject: string, data: Uint8Array): Promise<boolean> {
    nats.get(who)!.publish(subject, data);
    await nats
      .get(who)!
      .flush()
      .catch(() => undefined);
    const key = ids.get(who)!.natsPublicKey;
    return eventually(() => natsLogged(new RegExp(`Publish Violation - Nkey "${key}", Subject "${subject.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`)));
  }

  /** One row whose refusal is nats-server's: `attempt` returns whether each try was refused. */
  async function natsRow(attack: string, who: string, attempt: () => Promise<boolean[]>): Promise<void> {
    const before = audit().byIdentity.get(who) ?? 0;
    const refusals = await attempt();
    const counted = await eventually(() => (audit().byIdentity.get(who) ?? 0) >= before + refusals.length);
    rows.push({
      attack,
      by: 'nats-server',
      refused: refusals.every(Boolean),
      counted,
      logged: counted && natsLogged(/Violation|authentication error/),
    });
  }

  const victimAssignment = async (): Promise<Record<string, string>> => {
    const r = await fetch(`${line('gateway HTTP')}/v1/simulations/${sim}`, { headers: { authorization: `Bearer ${ids.get('client')!.apiToken}` } });
    return ((await r.json()) as { assignment: Record<string, string> }).assignment;
  };

  it("refuses, counts and logs every attack; the victim ends with an undisturbed run's hash", async () => {
    const assignment = await victimAssignment();
    const [hostOf1, hostOf2] = [VICTIM.hosts.find((h) => assignment[h.id] === 'n1')!.id, VICTIM.hosts.find((h) => assignment[h.id] === 'n2')!.id];
    const vmOn = (host: string) => VICTIM.vms.find((v) => v.host === host)!.id;
    const trap = (host: string, seq: number) =>
      encode(TrapRequest, TrapRequest.fromPartial({ sim, host, vm: vmOn(host), vcpu: 0, cause: 8, seq, kind: 'linux', x: new Array(32).fill(0) }));
    const operator = (svc: 'hypervisor' | 'cpu-node-1') =>
      (svc === 'hypervisor' ? hypervisorControlClient : cpuNodeControlClient)(grpcOf(svc), { token: ids.get('gateway')!.controlToken });
    const counters = async (svc: 'hypervisor' | 'cpu-node-1') => {
      const c = operator(svc);
      try {
        return (await c.status({})).counters;
      } finally {
        c.close();
      }
    };

    // 1. Anonymous NATS.
    const anonBefore = audit().byIdentity.get('anonymous') ?? 0;
    const anon = await connect({ servers: line('NATS'), reconnect: false }).then(
      (nc) => (void nc.close(), 'connected'),
      (e: Error) => e.message,
    );
    const anonCounted = await eventually(() => (audit().byIdentity.get('anonymous') ?? 0) > anonBefore);
    rows.push({
      attack: 'anonymous NATS connect',
      by: 'nats-server',
      refused: /Authorization Violation/.test(anon),
      counted: anonCounted,
      logged: anonCounted && natsLogged(/authentication error/),
    });

    // 2. Reading another simulation's subjects: on NATS, and through the gateway.
    await natsRow("read another simulation's events on NATS (client mallory)", 'mallory', async () => [
      /Permissions Violation/.test(await trySubscribe('mallory', subjects.allEvents(sim))),
      /Permissions Violation/.test(await trySubscribe('mallory', `vsim.${sim}.>`)),
    ]);
    const ownerBefore = (await (
      await fetch(`${line('gateway HTTP')}/v1/gateway`, { headers: { authorization: `Bearer ${ids.get('client')!.apiToken}` } })
    ).json()) as Record<string, number>;
    const peek = await Promise.all([
      call('status', { sim }, as('mallory')).then(
        () => 'read',
        (e: ServiceError) => e.code,
      ),
      call('results', { sim }, as('mallory')).then(
        () => 'read',
        (e: ServiceError) => e.code,
      ),
      fetch(`${line('gateway HTTP')}/v1/simulations/${sim}/events`, { headers: { authorization: `Bearer ${ids.get('mallory')!.apiToken}` } }).then(
        (r) => r.status,
      ),
    ]);
    const ownerAfter = (await (
      await fetch(`${line('gateway HTTP')}/v1/gateway`, { headers: { authorization: `Bearer ${ids.get('client')!.apiToken}` } })
    ).json()) as Record<string, number>;
    rows.push({
      attack: "read another principal's simulation via the gateway (mallory)",
      by: 'gateway',
      refused: peek[0] === grpcStatus.NOT_FOUND && peek[1] === grpcStatus.NOT_FOUND && peek[2] === 404,
      counted: ownerAfter.refusedOwner - ownerBefore.refusedOwner === 3,
      logged:
        logOf('gateway').filter((l) => l.msg === 'call refused: the simulation belongs to another principal' && l.caller === 'mallory').length === 3,
    });

    // 3. Forged trap resolutions: serve the victim's traps, or answer into a cpu-node's inbox.
    await natsRow('forged trap resolution (mallory)', 'mallory', async () => [
      /Permissions Violation/.test(await trySubscribe('mallory', subjects.allTraps(sim))),
      await tryPublish('mallory', '_INBOX_cpu-node-1.forged', encode(TrapResolution, TrapResolution.fromPartial({ costCycles: 1 }))),
    ]);
    await natsRow('forged trap resolution (compromised cpu-node-2)', 'cpu-node-2', async () => [
      /Permissions Violation/.test(await trySubscribe('cpu-node-2', subjects.allTraps(sim))),
    ]);

    // 4. Traps a node may send but whose sender or sequence does not fit: refused by the hypervisor.
    const hv0 = await counters('hypervisor');
    const senderReply = await nats.get('cpu-node-2')!.request(subjects.hvTrap(sim, 'n2'), trap(hostOf1, 1_000_000), { timeout: 30_000 });
    const staleReply = await nats.get('cpu-node-2')!.request(subjects.hvTrap(sim, 'n2'), trap(hostOf2, 0), { timeout: 30_000 });
    const hv1 = await counters('hypervisor');
    const refusedLines = logOf('hypervisor').filter((l) => l.msg === 'data-plane message refused');
    const serviceError = (m: { headers?: { get(k: string): string } }) => m.headers?.get('Nats-Service-Error') ?? '';
    rows.push({
      attack: `trap for ${vmOn(hostOf1)} (on n1) sent by compromised cpu-node-2`,
      by: 'hypervisor',
      refused: /refused \(sender\)/.test(serviceError(senderReply)),
      counted: hv1.refusedSender - (hv0.refusedSender ?? 0) === 1,
      logged: refusedLines.some((l) => l.refused === 'sender' && l.host === hostOf1 && l.vm === vmOn(hostOf1) && l.vcpu === 0 && l.sim === sim),
    });
    rows.push({
      attack: 'replayed trap request, stale sequence number (cpu-node-2)',
      by: 'hypervisor',
      refused: /refused \(sequence\)/.test(serviceError(staleReply)),
      counted: hv1.refusedSequence - (hv0.refusedSequence ?? 0) === 1,
      logged: refusedLines.some((l) => l.refused === 'sequence' && l.host === hostOf2 && l.vm === vmOn(hostOf2) && l.seq === 0),
    });

    // 5. Forged run reports: serve another node's run orders, or answer into the scheduler's inbox.
    await natsRow('forged run report (compromised cpu-node-2)', 'cpu-node-2', async () => [
      /Permissions Violation/.test(await trySubscribe('cpu-node-2', subjects.hostRun(sim, 'n1', hostOf1))),
      await tryPublish('cpu-node-2', '_INBOX_scheduler.forged', encode(RunReport, RunReport.fromPartial({ sim, host: hostOf1, seq: 1 }))),
    ]);
    await natsRow('forged run report (mallory)', 'mallory', async () => [
      await tryPublish('mallory', '_INBOX_scheduler.forged', encode(RunReport, RunReport.fromPartial({ sim, host: hostOf1, seq: 1 }))),
    ]);

    // 6. Forged run orders and events: only the scheduler may publish them.
    const order = encode(RunOrder, RunOrder.fromPartial({ sim, host: hostOf1, seq: 1, nowNs: 0, untilNs: 1e6 }));
    await natsRow('forged run order (mallory)', 'mallory', async () => [await tryPublish('mallory', subjects.hostRun(sim, 'n1', hostOf1), order)]);
    await natsRow('forged run order (compromised cpu-node-2)', 'cpu-node-2', async () => [
      await tryPublish('cpu-node-2', subjects.hostRun(sim, 'n1', hostOf1), order),
    ]);
    await natsRow('forged event batch (mallory)', 'mallory', async () => [
      await tryPublish('mallory', subjects.events(sim, hostOf1), encode(EventBatch, { sim, host: hostOf1, events: [], firstIndex: 0 })),
    ]);

    // 7. Fake service registrations: as the hypervisor (mallory), as a scheduler (cpu-node-2).
    for (const [who, name] of [
      ['mallory', 'vsim-hypervisor'],
      ['cpu-node-2', 'vsim-scheduler'],
    ] as const) {
      const before = audit().byIdentity.get(who) ?? 0;
      const fake = await registerService(nats.get(who)!, { name, version: '0.1.0', metadata: { grpc: '127.0.0.1:1', instance: 'evil' } });
      await nats.get(who)!.flush(); // its subscriptions were answered
      const seen = await discover(nats.get('supervisor')!, name, 5000);
      const counted = await eventually(() => (audit().byIdentity.get(who) ?? 0) > before);
      await fake.stop().catch(() => undefined);
      const logged = natsLogged(new RegExp(`Subscription Violation - Nkey "${ids.get(who)!.natsPublicKey}", Subject "\\$SRV\\.[A-Z]+\\.${name}`));
      rows.push({
        attack: `fake service registration (${who} as ${name})`,
        by: 'nats-server',
        refused: seen.length > 0 && seen.every((x) => x.instance !== 'evil') && logged,
        counted,
        logged,
      });
    }

    // 8. The gateway's APIs without a token, or with a wrong one.
    const gw0 = (await (
      await fetch(`${line('gateway HTTP')}/v1/gateway`, { headers: { authorization: `Bearer ${ids.get('client')!.apiToken}` } })
    ).json()) as Record<string, number>;
    const submit = { scenarioYaml: JSON.stringify(VICTIM), images: {} };
    const codes = await Promise.all([
      call('submit', submit, new Metadata()).then(
        () => 0,
        (e: ServiceError) => e.code,
      ),
      call('pause', { sim }, bearerMetadata('not-a-token')).then(
        () => 0,
        (e: ServiceError) => e.code,
      ),
      fetch(`${line('gateway HTTP')}/v1/simulations/${sim}/results`).then((r) => r.status),
      fetch(`${line('gateway HTTP')}/v1/simulations/${sim}/results`, { headers: { authorization: 'Bearer not-a-token' } }).then((r) => r.status),
    ]);
    const gw1 = (await (
      await fetch(`${line('gateway HTTP')}/v1/gateway`, { headers: { authorization: `Bearer ${ids.get('client')!.apiToken}` } })
    ).json()) as Record<string, number>;
    const gwLog = logOf('gateway');
    rows.push({
      attack: 'gateway gRPC and HTTP calls without a token',
      by: 'gateway',
      refused: codes[0] === grpcStatus.UNAUTHENTICATED && codes[2] === 401,
      counted: gw1.refusedCalls - gw0.refusedCalls === 4,
      logged:
        gwLog.some((l) => l.msg === 'gRPC call refused: not authenticated' && l.reason === 'no token') &&
        gwLog.some((l) => l.msg === 'HTTP request refused: not authenticated' && l.reason === 'no token'),
    });
    rows.push({
      attack: 'gateway gRPC and HTTP calls with a wrong token',
      by: 'gateway',
      refused: codes[1] === grpcStatus.UNAUTHENTICATED && codes[3] === 401,
      counted: gw1.refusedCalls - gw0.refusedCalls === 4,
      logged:
        gwLog.some((l) => l.msg === 'gRPC call refused: not authenticated' && l.reason === 'wrong token') &&
        gwLog.some((l) => l.msg === 'HTTP request refused: not authenticated' && l.reason === 'wrong token'),
    });

    // 9. Control calls from identities other than the gateway: no token, a client's API token.
    const node0 = await counters('cpu-node-1');
    const direct = await Promise.all(
      [undefined, ids.get('mallory')!.apiToken].map(async (token) => {
        const c = cpuNodeControlClient(grpcOf('cpu-node-1'), { token });
        const s = schedulerControlClient(grpcOf('scheduler'), { token });
        try {
          return await Promise.all([
            c.closeSimulation({ sim }).then(
              () => 0,
              (e: { code: number }) => e.code,
            ),
            s.closeSimulation({ sim }).then(
              () => 0,
              (e: { code: number }) => e.code,
            ),
          ]);
        } finally {
          c.close();
          s.close();
        }
      }),
    );
    const node1 = await counters('cpu-node-1');
    rows.push({
      attack: 'control calls to a cpu-node and the scheduler from a non-gateway identity',
      by: 'cpu-node, scheduler',
      refused: direct.flat().every((c) => c === grpcStatus.UNAUTHENTICATED),
      counted: node1.refusedCalls - (node0.refusedCalls ?? 0) === 2,
      logged:
        logOf('cpu-node-1').filter((l) => l.msg === 'gRPC call refused: not authenticated' && /CpuNodeControl\/CloseSimulation/.test(String(l.rpc)))
          .length === 2 && logOf('scheduler').filter((l) => l.msg === 'gRPC call refused: not authenticated').length === 2,
    });

    // The victim goes on, and ends as if nothing happened.
    await call('resume', { sim }, as('client'));
    await eventually(
      async () => ['done', 'failed'].includes((await call<object, { state: string }>('status', { sim }, as('client'))).state),
      120_000,
    );
    victimHash = (await call<object, { eventLogHash: string }>('results', { sim }, as('client'))).eventLogHash;

    const yes = (b: boolean) => (b ? 'yes' : 'NO');
    const w = Math.max(...rows.map((r) => r.attack.length));
    const table = [
      `security suite: vsim up --cpu-nodes 2; victim ${sim} (2 hosts on n1 and n2, paused mid-run while attacked)`,
      `${'attack'.padEnd(w)}  ${'refused by'.padEnd(20)}  refused  counted  logged  victim hash unchanged`,
      ...rows.map(
        (r) =>
          `${r.attack.padEnd(w)}  ${r.by.padEnd(20)}  ${yes(r.refused).padEnd(7)}  ${yes(r.counted).padEnd(7)}  ${yes(r.logged).padEnd(6)}  ${yes(victimHash === reference)}`,
      ),
      `victim event-log hash ${victimHash}; undisturbed (embedded) ${reference}`,
      '',
    ].join('\n');
    if (VERBOSE) process.stdout.write(table);
    for (const r of rows)
      expect({ attack: r.attack, refused: r.refused, counted: r.counted, logged: r.logged }).toEqual({
        attack: r.attack,
        refused: true,
        counted: true,
        logged: true,
      });
    expect(victimHash).toBe(reference);
  }, 240_000);
});
