// The generated nats-server configuration, run by the real nats-server: every identity of a
// deployment can do its job on the very subjects the runtime uses (libs/runtime/src/subjects.ts),
// and nothing else — anonymous connections, publishing or serving another identity's subjects,
// reading a simulation's events without being the gateway, registering under another service's
// name are all refused by the server, which logs each one (nats-audit.ts counts them).

import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { NATS_SERVER_MISSING, NatsServer, findNatsServer, startNatsServer } from '@vsim/bus';
import { subjects } from '@vsim/proto';
import { DeploymentSecrets, NatsViolationCounter, SERVICE_NAME, generateSecrets, natsConnectionOptions, readIdentity } from '@vsim/security';
import { discover, registerService } from '@vsim/service';

const skip = findNatsServer() === undefined && process.env.CI !== 'true';

const te = new TextDecoder();
const bytes = (s: string) => new TextEncoder().encode(s);

(skip ? describe.skip : describe)(`nats-server with the generated permissions${skip ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsim-perm-test-'));
  const logFile = join(dir, 'nats.log');
  let secrets: DeploymentSecrets;
  let nats: NatsServer;
  const conns = new Map<string, NatsConnection>();
  const as = (identity: string) => conns.get(identity)!;
  /** Async permission errors each connection received, by identity. */
  const errors = new Map<string, string[]>();
  const sim = 'sim-01ARZ3NDEKTSV4RRFFQ69G5FAV';

  beforeAll(async () => {
    secrets = generateSecrets(join(dir, 'secrets'), {
      cpuNodes: [
        { identity: 'cpu-node-1', node: 'n1' },
        { identity: 'cpu-node-2', node: 'n2' },
      ],
    });
    nats = await startNatsServer({ args: ['-c', secrets.natsConfig, '-l', logFile] });
    for (const [name, file] of Object.entries(secrets.files)) {
      const nc = await connect({ servers: nats.url, ...natsConnectionOptions(readIdentity(file)) });
      conns.set(name, nc);
      errors.set(name, []);
      void (async () => {
        for await (const s of nc.status()) if (s.type === 'error') errors.get(name)!.push(String(s.error));
      })();
    }
  });

  afterAll(async () => {
    for (const nc of conns.values()) await nc.close();
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Subscribes and resolves with the permission error, or 'subscribed' once the server accepted it. */
  async function trySubscribe(identity: string, subject: string): Promise<string> {
    const nc = as(identity);
    let err = '';
    nc.subscribe(subject, {
      callback: (e) => {
        if (e) err = e.message;
      },
    });
    // The server answers SUB before the flush's PONG: a refusal has arrived once the flush is done.
    await nc.flush();
    return err || 'subscribed';
  }

  /** Messages `listener` receives on `subject` while `publisher` publishes to it. */
  async function delivered(listener: string, publisher: string, subject: string): Promise<number> {
    let n = 0;
    const sub = as(listener).subscribe(subject, { callback: () => void n++ });
    await as(listener).flush();
    as(publisher).publish(subject, bytes('forged'));
    // Once the publisher's flush is done the server has routed the message; once the listener's
    // is, the listener has received it (the server sends it before that PONG).
    await as(publisher)
      .flush()
      .catch(() => undefined);
    await as(listener).flush();
    sub.unsubscribe();
    return n;
  }

  it('refuses an anonymous connection', async () => {
    await expect(connect({ servers: nats.url, reconnect: false })).rejects.toThrow(/Authorization Violation/);
  });

  it("lets the scheduler send run orders that only the host's cpu-node serves", async () => {
    const subject = subjects.hostRun(sim, 'n1', 'h0');
    as('cpu-node-1').subscribe(subject, { callback: (_e, m) => void m.respond(bytes(`report for ${te.decode(m.data)}`)) });
    await as('cpu-node-1').flush();
    const reply = await as('scheduler').request(subject, bytes('order 1'), { timeout: 2000 });
    expect(te.decode(reply.data)).toBe('report for order 1');
    // Another cpu-node cannot serve (nor read) them; nobody but the scheduler can send them.
    expect(await trySubscribe('cpu-node-2', subject)).toMatch(/Permissions Violation for Subscription to "vsim\..*\.run\.n1\.h0"/);
    expect(await delivered('cpu-node-1', 'cpu-node-2', subject)).toBe(0);
    expect(await delivered('cpu-node-1', 'client', subject)).toBe(0);
    expect(await delivered('cpu-node-1', 'gateway', subject)).toBe(0);
  });

  it("lets the gateway send vsim gdb requests that only the VM's cpu-node serves", async () => {
    const subject = subjects.gdb(sim, 'n1');
    as('cpu-node-1').subscribe(subject, { callback: (_e, m) => void m.respond(bytes(`gdb ${te.decode(m.data)}`)) });
    await as('cpu-node-1').flush();
    const reply = await as('gateway').request(subject, bytes('io'), { timeout: 2000 });
    expect(te.decode(reply.data)).toBe('gdb io');
    // Another cpu-node cannot serve them; neither the scheduler nor a client can send them.
    expect(await trySubscribe('cpu-node-2', subject)).toMatch(/Permissions Violation for Subscription to "vsim\..*\.gdb\.n1"/);
    expect(await delivered('cpu-node-1', 'client', subject)).toBe(0);
    expect(await delivered('cpu-node-1', 'scheduler', subject)).toBe(0);
    expect(await delivered('cpu-node-1', 'cpu-node-2', subject)).toBe(0);
  });

  it('lets a cpu-node send traps on its own subject only, answered by the hypervisor alone', async () => {
    as('hypervisor').subscribe(subjects.allTraps(sim), { callback: (_e, m) => void m.respond(bytes(`resolved ${m.subject}`)) });
    await as('hypervisor').flush();
    const reply = await as('cpu-node-1').request(subjects.hvTrap(sim, 'n1'), bytes('trap'), { timeout: 2000 });
    expect(te.decode(reply.data)).toBe(`resolved ${subjects.hvTrap(sim, 'n1')}`);
    expect(await delivered('hypervisor', 'cpu-node-1', subjects.hvTrap(sim, 'n2'))).toBe(0);
    expect(await delivered('hypervisor', 'client', subjects.hvTrap(sim, 'n1'))).toBe(0);
    expect(await trySubscribe('client', subjects.allTraps(sim))).toMatch(/Permissions Violation for Subscription/);
    expect(await trySubscribe('cpu-node-2', subjects.allTraps(sim))).toMatch(/Permissions Violation for Subscription/);
  });

  it("lets only the scheduler ask a host's cpu-node for a checkpoint, and the hypervisor for allocator records", async () => {
    const subject = subjects.checkpoint(sim, 'n1', 'h0');
    as('cpu-node-1').subscribe(subject, { callback: (_e, m) => void m.respond(bytes('snapshots stored')) });
    as('hypervisor').subscribe(subjects.allocators(sim), { callback: (_e, m) => void m.respond(bytes('records')) });
    await as('cpu-node-1').flush();
    await as('hypervisor').flush();
    expect(te.decode((await as('scheduler').request(subject, bytes('checkpoint 1'), { timeout: 2000 })).data)).toBe('snapshots stored');
    expect(te.decode((await as('scheduler').request(subjects.allocators(sim), bytes('vm'), { timeout: 2000 })).data)).toBe('records');
    // Nobody else may ask (a forged request would make a node write snapshots), nor serve them.
    for (const who of ['cpu-node-2', 'gateway', 'client', 'hypervisor']) expect(await delivered('cpu-node-1', who, subject)).toBe(0);
    for (const who of ['cpu-node-1', 'gateway', 'client']) expect(await delivered('hypervisor', who, subjects.allocators(sim))).toBe(0);
    expect(await trySubscribe('cpu-node-2', subject)).toMatch(/Permissions Violation for Subscription/);
    expect(await trySubscribe('client', subjects.allocators(sim))).toMatch(/Permissions Violation for Subscription/);
  });

  it("lets only the gateway read a simulation's events, and only the scheduler publish them", async () => {
    const subject = subjects.events(sim, 'h0');
    expect(await delivered('gateway', 'scheduler', subject)).toBe(1);
    expect(await delivered('gateway', 'cpu-node-1', subject)).toBe(0);
    expect(await delivered('gateway', 'hypervisor', subject)).toBe(0);
    expect(await trySubscribe('client', subjects.allEvents(sim))).toMatch(/Permissions Violation for Subscription/);
    expect(await trySubscribe('cpu-node-1', 'vsim.>')).toMatch(/Permissions Violation for Subscription/);
  });

  it("keeps each identity's inbox its own", async () => {
    expect(await trySubscribe('cpu-node-1', '_INBOX_scheduler.>')).toMatch(/Permissions Violation for Subscription/);
    expect(await trySubscribe('client', '_INBOX.>')).toMatch(/Permissions Violation for Subscription/);
  });

  it('lets each service register under its own name only, and clients find the gateway', async () => {
    const gw = await registerService(as('gateway'), {
      name: SERVICE_NAME.gateway,
      version: '0.1.0',
      metadata: { grpc: '127.0.0.1:1', instance: 'gateway' },
    });
    await as('gateway').flush(); // its subscriptions are in place
    const found = await discover(as('client'), SERVICE_NAME.gateway, 5000);
    expect(found.map((f) => f.instance)).toEqual(['gateway']);
    await gw.stop();
    // A client or a cpu-node posing as the hypervisor: the server refuses the registration's subscriptions.
    expect(await trySubscribe('client', `$SRV.INFO.${SERVICE_NAME.hypervisor}`)).toMatch(/Permissions Violation for Subscription/);
    expect(await trySubscribe('cpu-node-1', `$SRV.INFO.${SERVICE_NAME.hypervisor}`)).toMatch(/Permissions Violation for Subscription/);
    // And cannot look the services up either (only the gateway and the supervisor may).
    expect(await delivered('hypervisor', 'client', `$SRV.INFO.${SERVICE_NAME.hypervisor}`)).toBe(0);
  });

  it('logs every refusal, which the audit counts by identity', async () => {
    const keys = new Map(Object.entries(secrets.files).map(([name, f]) => [readIdentity(f).natsPublicKey, name]));
    const audit = new NatsViolationCounter((k) => keys.get(k));
    for (const line of readFileSync(logFile, 'utf8').split('\n')) audit.add(line);
    expect(audit.byKind.authentication).toBe(1);
    expect(audit.byIdentity.get('anonymous')).toBe(1);
    expect(audit.byKind.subscribe).toBe(12);
    expect(audit.byKind.publish).toBe(18);
    expect(audit.byIdentity.get('client')).toBe(11);
    expect(audit.byIdentity.get('cpu-node-2')).toBe(7);
    // Refused publishes are reported to the publisher too (nats.js: an async permissions error).
    expect(errors.get('client')!.some((e) => /Permissions Violation for Publish/.test(e))).toBe(true);
  });
});
