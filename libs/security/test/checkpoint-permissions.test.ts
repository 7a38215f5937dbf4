// The checkpoint buckets on a secured JetStream server (the generated configuration, run by the real
// nats-server): the gateway creates them, the scheduler and the gateway read and write checkpoints
// through nats.js's KV and object-store clients, and no other identity can open them — a cpu-node
// or an API client cannot read VM memory or move a simulation's `latest` revision.

import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { JetStreamCheckpointStore, JetStreamStateStore, NATS_SERVER_MISSING, NatsServer, findNatsServer, startNatsServer } from '@vsim/bus';
import { CHECKPOINT_BUCKET, STATE_BUCKET, generateSecrets, natsConnectionOptions, readIdentity } from '@vsim/security';

const skip = findNatsServer() === undefined && process.env.CI !== 'true';
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : undefined);

(skip ? describe.skip : describe)(`checkpoint buckets with the generated permissions${skip ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsim-ckpt-perm-'));
  let nats: NatsServer;
  const conns = new Map<string, NatsConnection>();
  const as = (identity: string) => conns.get(identity)!;

  beforeAll(async () => {
    const secrets = generateSecrets(join(dir, 'secrets'), { cpuNodes: [{ identity: 'cpu-node-1', node: 'n1' }] }, { jetstreamDir: join(dir, 'js') });
    nats = await startNatsServer({ args: ['-c', secrets.natsConfig] });
    for (const [name, file] of Object.entries(secrets.files))
      conns.set(name, await connect({ servers: nats.url, ...natsConnectionOptions(readIdentity(file)) }));
  });

  afterAll(async () => {
    for (const nc of conns.values()) await nc.close();
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets the gateway create the buckets and the scheduler and gateway use them', async () => {
    expect(CHECKPOINT_BUCKET).toBe('vsim-checkpoints'); // the name @vsim/bus uses by default
    const gw = await JetStreamCheckpointStore.open(as('gateway'), { timeoutMs: 3000 });
    const sched = await JetStreamCheckpointStore.open(as('scheduler'), { create: false, timeoutMs: 3000 });
    const big = new Uint8Array(300 * 1024).map((_, i) => i & 0xff);
    await sched.putBlob('sim-1/h0/ckpt-1/vm1.mem', big);
    const r = await sched.putMeta('sim-1/latest', bytes('ckpt-1'), 0);
    expect((await gw.getBlob('sim-1/h0/ckpt-1/vm1.mem'))?.length).toBe(big.length);
    expect(text((await gw.getMeta('sim-1/latest'))?.value)).toBe('ckpt-1');
    await gw.putMeta('sim-1/latest', bytes('ckpt-2'), r);
    expect(await sched.list('sim-1/')).toEqual(['sim-1/h0/ckpt-1/vm1.mem', 'sim-1/latest']);
    await gw.deletePrefix('sim-1/');
    expect(await sched.list('sim-1/')).toEqual([]);
  });

  it.each([
    ['hypervisor', STATE_BUCKET.hypervisor],
    ['gateway', STATE_BUCKET.gateway],
  ])('lets the %s alone keep its state in %s', async (owner, bucket) => {
    const mine = await JetStreamStateStore.open(as(owner), bucket, { timeoutMs: 3000 });
    await mine.put('sim-1/open', bytes('x'));
    const again = await JetStreamStateStore.open(as(owner), bucket, { create: false, timeoutMs: 3000 });
    expect(text(await again.get('sim-1/open'))).toBe('x');
    expect(await again.list('sim-1/')).toEqual(['sim-1/open']);
    await again.deletePrefix('sim-1/');
    for (const other of ['cpu-node-1', 'client', 'scheduler', owner === 'gateway' ? 'hypervisor' : 'gateway'])
      await expect(JetStreamStateStore.open(as(other), bucket, { create: false, timeoutMs: 2000 })).rejects.toThrow(
        new RegExp(`state bucket ${bucket}`),
      );
  });

  it.each(['cpu-node-1', 'client', 'hypervisor'])('refuses the checkpoint buckets to %s', async (identity) => {
    await expect(JetStreamCheckpointStore.open(as(identity), { create: false, timeoutMs: 2000 })).rejects.toThrow(
      /checkpoint buckets vsim-checkpoints/,
    );
    await expect(JetStreamCheckpointStore.open(as(identity), { timeoutMs: 2000 })).rejects.toThrow(/checkpoint buckets/);
  });
});
