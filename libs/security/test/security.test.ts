// The pieces of @vsim/security without a server: tokens, identity files, sequence windows,
// refusal counting, the nats-server log audit, the generated secrets directory.

import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  IdentityError,
  NatsViolationCounter,
  RefusalCounter,
  RefusedMessage,
  SequenceWindow,
  TokenSet,
  bearerToken,
  existingSecrets,
  instanceIdentities,
  generateSecrets,
  natsServerConfig,
  newToken,
  parseNatsViolation,
  permissionsOf,
  readIdentity,
  tokenHash,
} from '@vsim/security';

describe('tokens', () => {
  it('verifies a token by its hash and names its principal', () => {
    const a = newToken();
    const b = newToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    const set = new TokenSet({ gateway: tokenHash(a) });
    expect(set.verify(a)).toBe('gateway');
    expect(set.verify(b)).toBeUndefined();
    expect(set.verify('')).toBeUndefined();
    expect(set.verify(undefined)).toBeUndefined();
    expect(() => new TokenSet({ x: 'nothex' })).toThrow('token hash of "x" must be 64 hex digits');
  });

  it('reads bearer tokens from an authorization header', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer  abc ')).toBe('abc');
    expect(bearerToken(['Bearer x', 'Bearer y'])).toBe('x');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

describe('sequence windows', () => {
  it('strict: each number must be the last + 1', () => {
    const w = new SequenceWindow(true);
    expect(w.judge('h0', 2)).toBe('gap');
    w.accept('h0', 1, { subject: 's', host: 'h0' });
    w.accept('h0', 2, { subject: 's', host: 'h0' });
    expect(w.judge('h0', 2)).toBe('duplicate');
    expect(w.judge('h0', 1)).toBe('stale');
    expect(w.judge('h0', 4)).toBe('gap');
    expect(() => w.accept('h0', 4, { subject: 's', host: 'h0' })).toThrow(
      new RefusedMessage({ kind: 'sequence', subject: 's', host: 'h0', seq: 4, reason: 'gap sequence number 4 on h0 (last accepted: 2)' }),
    );
    expect(w.lastOf('h0')).toBe(2);
    w.resume('h1', 41);
    expect(w.judge('h1', 42)).toBe('next');
  });

  it('loose: any number above the last', () => {
    const w = new SequenceWindow(false);
    expect(w.judge('h0', 0)).toBe('stale');
    w.accept('h0', 5, { subject: 's' });
    expect(w.judge('h0', 9)).toBe('next');
    expect(w.judge('h0', 5)).toBe('duplicate');
  });
});

describe('refusal counter', () => {
  it('counts by kind and logs with host, vm, vcpu bindings', () => {
    const lines: Record<string, unknown>[] = [];
    const log = (b: Record<string, unknown>) => ({
      warn: (o: object, msg: string) => void lines.push({ ...b, ...o, msg }),
      child: (c: Record<string, unknown>) => log({ ...b, ...c }),
    });
    const c = new RefusalCounter(log({ service: 'hypervisor' }));
    c.record({ kind: 'sender', subject: 'vsim.s.trap.n2', reason: 'x', host: 'h0', vm: 'v', vcpu: 1 });
    c.record({ kind: 'sequence', subject: 'vsim.s.run.n1.h0', reason: 'y', seq: 3 });
    expect(c.asCounters()).toEqual({ refusedSender: 1, refusedSequence: 1, refusedMalformed: 0 });
    expect(lines).toEqual([
      {
        service: 'hypervisor',
        host: 'h0',
        vm: 'v',
        vcpu: 1,
        refused: 'sender',
        subject: 'vsim.s.trap.n2',
        reason: 'x',
        msg: 'data-plane message refused',
      },
      { service: 'hypervisor', refused: 'sequence', subject: 'vsim.s.run.n1.h0', reason: 'y', seq: 3, msg: 'data-plane message refused' },
    ]);
  });
});

describe('nats-server log audit', () => {
  it('parses the violations nats-server 2.9 logs', () => {
    const pfx = '[1] 2026/12/07 16:54:53.072988 [ERR] 127.0.0.1:42502 - cid:6 - "v3.4.0:nats.js:vsim-cpu-node/cpu-node-1" - ';
    expect(parseNatsViolation(`${pfx}Subscription Violation - Nkey "UABC", Subject "vsim.>", SID 1`)).toEqual({
      kind: 'subscribe',
      nkey: 'UABC',
      subject: 'vsim.>',
      client: 'v3.4.0:nats.js:vsim-cpu-node/cpu-node-1',
    });
    expect(parseNatsViolation(`${pfx}Publish Violation - Nkey "UABC", Subject "vsim.s.run.n1.h0"`)).toMatchObject({
      kind: 'publish',
      subject: 'vsim.s.run.n1.h0',
    });
    expect(
      parseNatsViolation('[1] 2026/12/07 16:54:53.080452 [ERR] 127.0.0.1:42510 - cid:7 - "v3.4.0:nats.js" - authentication error - Nkey ""'),
    ).toMatchObject({ kind: 'authentication', nkey: '' });
    expect(parseNatsViolation('[1] 2026/12/07 16:54:52.158466 [INF] Server is ready')).toBeUndefined();
    const c = new NatsViolationCounter((k) => (k === 'UABC' ? 'cpu-node-1' : undefined));
    c.add(`${pfx}Publish Violation - Nkey "UABC", Subject "x"`);
    c.add('[1] 2026/12/07 16:54:53.080452 [ERR] 127.0.0.1:42510 - cid:7 - "v3.4.0:nats.js" - authentication error - Nkey ""');
    expect(c.total).toBe(2);
    expect(Object.fromEntries(c.byIdentity)).toEqual({ 'cpu-node-1': 1, anonymous: 1 });
  });
});

describe('secrets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsim-secrets-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const spec = { cpuNodes: [{ identity: 'cpu-node-1', node: 'n1' }] };

  it('writes one identity file per process, mode 0600 in a 0700 directory', () => {
    const s = generateSecrets(join(dir, 'a'), spec);
    expect(statSync(s.dir).mode & 0o777).toBe(0o700);
    expect(Object.keys(s.files).sort()).toEqual(['client', 'cpu-node-1', 'gateway', 'hypervisor', 'scheduler', 'supervisor']);
    for (const f of [...Object.values(s.files), s.natsConfig, join(s.dir, 'deployment.json')]) expect(statSync(f).mode & 0o777).toBe(0o600);
    const gw = readIdentity(s.files.gateway);
    const node = readIdentity(s.files['cpu-node-1']);
    const client = readIdentity(s.files.client);
    // The gateway's control token opens the cpu-node; the client's token opens the gateway's API.
    expect(node.acceptControl.verify(gw.controlToken)).toBe('gateway');
    expect(node.acceptControl.verify(client.apiToken)).toBeUndefined();
    expect(gw.acceptApi.verify(client.apiToken)).toBe('client');
    expect(client.apiToken).toBe(s.clientTokens.client);
    // Checkers keep hashes only: no file but the client's holds the client token.
    for (const [name, f] of Object.entries(s.files)) if (name !== 'client') expect(readFileSync(f, 'utf8')).not.toContain(s.clientTokens.client);
    expect(node).toMatchObject({ role: 'cpu-node', node: 'n1', inboxPrefix: '_INBOX_cpu-node-1' });
    // nats-server's configuration lists public keys, never seeds.
    const conf = readFileSync(s.natsConfig, 'utf8');
    expect(conf).toContain(node.natsPublicKey);
    expect(conf).not.toMatch(/"SU[A-Z2-7]+"/);
    expect(existingSecrets(s.dir, spec)?.clientTokens).toEqual(s.clientTokens);
    expect(existingSecrets(s.dir, { cpuNodes: [...spec.cpuNodes, { identity: 'cpu-node-2', node: 'n2' }] })).toBeUndefined();
  });

  it('gives every scheduler and hypervisor instance its own identity, with its role', () => {
    const s = generateSecrets(join(dir, 'instances'), { ...spec, schedulers: 2, hypervisors: 3 });
    expect(Object.keys(s.files).sort()).toEqual([
      'client',
      'cpu-node-1',
      'gateway',
      'hypervisor',
      'hypervisor-2',
      'hypervisor-3',
      'scheduler',
      'scheduler-2',
      'supervisor',
    ]);
    const sched2 = readIdentity(s.files['scheduler-2']);
    const hv3 = readIdentity(s.files['hypervisor-3']);
    expect(sched2).toMatchObject({ role: 'scheduler', inboxPrefix: '_INBOX_scheduler-2' });
    expect(hv3).toMatchObject({ role: 'hypervisor' });
    expect(sched2.natsPublicKey).not.toBe(readIdentity(s.files.scheduler).natsPublicKey);
    // The gateway's control token opens each instance.
    expect(sched2.acceptControl.verify(readIdentity(s.files.gateway).controlToken)).toBe('gateway');
    // Reused only for as many instances.
    expect(existingSecrets(s.dir, { ...spec, schedulers: 2, hypervisors: 3 })?.files['scheduler-2']).toBe(s.files['scheduler-2']);
    expect(existingSecrets(s.dir, { ...spec, schedulers: 1, hypervisors: 3 })).toBeUndefined();
    expect(existingSecrets(s.dir, spec)).toBeUndefined();
    expect(() => instanceIdentities('scheduler', 0)).toThrow('scheduler instances must be a positive integer, got 0');
  });

  it('gives each API principal its own token, all accepted by the gateway', () => {
    const s = generateSecrets(join(dir, 'c'), { ...spec, clients: ['alice', 'bob'] });
    const gw = readIdentity(s.files.gateway);
    expect(gw.acceptApi.verify(s.clientTokens.alice)).toBe('alice');
    expect(gw.acceptApi.verify(s.clientTokens.bob)).toBe('bob');
    expect(readIdentity(s.files.bob)).toMatchObject({ role: 'client', apiToken: s.clientTokens.bob, inboxPrefix: '_INBOX_bob' });
  });

  it('refuses an identity file others can read, and names a bad field', () => {
    const s = generateSecrets(join(dir, 'b'), spec);
    chmodSync(s.files.hypervisor, 0o644);
    expect(() => readIdentity(s.files.hypervisor)).toThrow(
      `secrets file ${s.files.hypervisor} is readable by others (mode 0644): chmod 600 ${s.files.hypervisor}`,
    );
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ version: 1, identity: 'x', role: 'cpu-node', nats: { seed: 'SUxyz' } }), { mode: 0o600 });
    expect(() => readIdentity(bad)).toThrow(IdentityError);
    expect(() => readIdentity(bad)).toThrow(/node must be the cpu-node's node id/);
  });

  it('never writes an empty allow list (nats-server reads it as "anything")', () => {
    // The hypervisor publishes nothing but its heartbeat and its own state bucket (it only answers
    // requests on the data plane).
    const hv = permissionsOf('hypervisor', 'hypervisor').publish;
    expect(hv[0]).toBe('vsim-heartbeat.hypervisor.*');
    expect(hv.slice(1).filter((s) => s !== '$JS.API.INFO' && !s.includes('vsim-hypervisor'))).toEqual([]);
    const conf = natsServerConfig([{ identity: 'hypervisor', role: 'hypervisor', publicKey: `U${'A'.repeat(55)}` }]);
    expect(conf).not.toContain('allow: []');
  });
});
