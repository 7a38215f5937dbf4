// The test launcher: a real nats-server on a random loopback port, gone (with its files) after stop().
import { existsSync } from 'fs';
import { join } from 'path';
import { NATS_SERVER_MISSING, NatsBus, findNatsServer, startNatsServer, subjectMatches } from '@vsim/bus';

const natsMissing = findNatsServer() === undefined;
const skip = natsMissing && process.env.CI !== 'true';
const test = skip ? (name: string, fn: jest.ProvidesCallback) => it.skip(`${name} (skipped: ${NATS_SERVER_MISSING})`, fn) : it;

describe('startNatsServer', () => {
  test('starts on a random port with JetStream, stops, and cleans up', async () => {
    const server = await startNatsServer({ jetstream: true });
    expect(server.port).not.toBe(4222);
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
    const bus = await NatsBus.connect({ servers: server.url });
    expect(bus.nc.info?.jetstream).toBe(true);
    await bus.close();
    expect(existsSync(join(server.dir, 'js'))).toBe(true);
    await server.stop();
    await server.stop(); // idempotent
    expect(existsSync(server.dir)).toBe(false);
    await expect(NatsBus.connect({ servers: server.url, connection: { reconnect: false, timeout: 500 } })).rejects.toThrow();
  });

  test('two servers at once get different ports', async () => {
    const [a, b] = await Promise.all([startNatsServer(), startNatsServer()]);
    try {
      expect(a.port).not.toBe(b.port);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('says in one line how to install a missing nats-server', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(startNatsServer()).rejects.toThrow(new Error('nats-server not found; install it with: apt-get install -y nats-server'));
    } finally {
      process.env.PATH = path;
    }
  });
});

describe('subjectMatches', () => {
  it.each([
    ['a.b.c', 'a.b.c', true],
    ['a.b.c', 'a.b', false],
    ['a.*.c', 'a.x.c', true],
    ['a.*', 'a.x.c', false],
    ['a.>', 'a.x.c', true],
    ['a.>', 'a', false],
    ['>', 'a', true],
    ['*.*', 'a.b', true],
    ['a.b', 'a.b.c', false],
  ])('%s matches %s: %s', (pattern, subject, want) => {
    expect(subjectMatches(pattern, subject)).toBe(want);
  });
});
