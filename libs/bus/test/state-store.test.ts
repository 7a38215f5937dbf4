// The state buckets of replaceable services: the same contract in memory and on a real nats-server
// with JetStream (a second connection, as a restarted process would have, reads what the first wrote).
import { jetstreamManager } from '@nats-io/jetstream';
import { EVENT_RETENTION_MS } from '../src/stream';
import { STATE_RETENTION_MS } from '../src/state-store';
import { JetStreamStateStore, MemoryStateStore, NATS_SERVER_MISSING, NatsBus, NatsServer, StateStore, findNatsServer, startNatsServer } from '../src';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : undefined);
const skipJs = findNatsServer() === undefined && process.env.CI !== 'true';

let server: NatsServer | undefined;
const buses: NatsBus[] = [];
let n = 0;
afterAll(async () => {
  await Promise.all(buses.map((b) => b.close()));
  await server?.stop();
});

async function jetStream(): Promise<[StateStore, () => Promise<StateStore>]> {
  server ??= await startNatsServer({ jetstream: true });
  const bucket = `state-${++n}`;
  const open = async (create: boolean) => {
    const bus = await NatsBus.connect({ servers: server!.url });
    buses.push(bus);
    return JetStreamStateStore.open(bus.nc, bucket, { create });
  };
  return [await open(true), () => open(false)];
}

const kinds: [string, () => Promise<[StateStore, () => Promise<StateStore>]>][] = [
  [
    'memory',
    async () => {
      const s = new MemoryStateStore();
      return [s, async () => s];
    },
  ],
  ...(skipJs ? [] : [['jetstream', jetStream] as [string, () => Promise<[StateStore, () => Promise<StateStore>]>]]),
];

describe.each(kinds)('%s state store', (_name, make) => {
  it('keeps records by key for the next process, lists and deletes by prefix', async () => {
    const [s, reopen] = await make();
    await s.put('sim-1/open', enc('{"instance":"hv-1"}'));
    await s.put('sim-1/vm/vm1.a', enc('r1'));
    await s.put('sim-1/vm/vm1.a', enc('r2'));
    await s.put('sim-2/open', enc('x'));
    const next = await reopen();
    expect(dec(await next.get('sim-1/vm/vm1.a'))).toBe('r2');
    expect(await next.list('sim-1/')).toEqual(['sim-1/open', 'sim-1/vm/vm1.a']);
    expect(await next.list('')).toEqual(['sim-1/open', 'sim-1/vm/vm1.a', 'sim-2/open']);
    await next.deletePrefix('sim-1/');
    expect(await s.list('')).toEqual(['sim-2/open']);
    expect(await s.get('sim-1/open')).toBeUndefined();
    await expect(s.put('a b', enc('x'))).rejects.toThrow(/checkpoint key/);
  });
});

(skipJs ? it.skip : it)(`a missing bucket is named when not created${skipJs ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, async () => {
  server ??= await startNatsServer({ jetstream: true });
  const bus = await NatsBus.connect({ servers: server.url });
  buses.push(bus);
  await expect(JetStreamStateStore.open(bus.nc, 'nobody-made-it', { create: false })).rejects.toThrow(/state bucket nobody-made-it/);
});

(skipJs ? it.skip : it)(`records expire with the events a takeover would follow${skipJs ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, async () => {
  server ??= await startNatsServer({ jetstream: true });
  const bus = await NatsBus.connect({ servers: server.url });
  buses.push(bus);
  await JetStreamStateStore.open(bus.nc, 'expiring');
  const info = await (await jetstreamManager(bus.nc)).streams.info('KV_expiring');
  expect(info.config.max_age).toBe(STATE_RETENTION_MS * 1e6);
  expect(STATE_RETENTION_MS).toBe(EVENT_RETENTION_MS);
});
