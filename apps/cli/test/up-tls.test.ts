// TLS for deployments across machines, on a throwaway certificate authority made here with openssl:
// `vsim up --tls-dir` serves NATS, every gRPC API and the gateway's HTTP API over TLS with that
// CA's certificate; `vsim run --nats` with the client credentials runs examples/two-hosts.yaml
// with the embedded hash; clients that do not verify against the CA, or speak plaintext, fail.

import { ChildProcess, spawn, spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { request } from 'https';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { credentials, Metadata } from '@grpc/grpc-js';
import { connect } from '@nats-io/transport-node';
import { NATS_SERVER_MISSING, findNatsServer } from '@vsim/bus';
import { GatewayClient } from '@vsim/proto';
import { OPENSSL_MISSING, hasOpenssl, makeTestCa } from '@vsim/testkit';

const ROOT = resolve(__dirname, '../../..');
const VSIM = join(ROOT, 'apps/cli/bin/vsim.js');

const skip = (findNatsServer() === undefined || !hasOpenssl()) && process.env.CI !== 'true';

(skip ? describe.skip : describe)(
  `vsim up --tls-dir: TLS on NATS, gRPC and HTTP${skip ? ` (skipped: ${findNatsServer() ? OPENSSL_MISSING : NATS_SERVER_MISSING})` : ''}`,
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'vsim-tls-test-'));
    let up: ChildProcess;
    let stdout = '';
    let stderr = '';
    let exited: Promise<number | null>;
    const line = (name: string) => new RegExp(`^${name}: (\\S*)`, 'm').exec(stdout)![1];

    beforeAll(async () => {
      const ca = makeTestCa(dir);
      up = spawn(process.execPath, [VSIM, 'up', '--cpu-nodes', '1', '--tls-dir', ca.dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      up.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
      up.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      exited = new Promise((r) => up.once('exit', (code) => r(code)));
      const deadline = Date.now() + 45_000;
      while (!/^vsim up: ready/m.test(stdout)) {
        if (up.exitCode !== null) throw new Error(`vsim up exited ${up.exitCode}: ${stderr}`);
        if (Date.now() > deadline) throw new Error(`vsim up not ready after 45 s: ${stdout}${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }, 60_000);

    afterAll(async () => {
      if (up.exitCode === null) {
        up.kill('SIGINT');
        await exited;
      }
      if (/^logs: /m.test(stdout)) rmSync(line('logs'), { recursive: true, force: true }); // vsim up keeps them
      rmSync(dir, { recursive: true, force: true });
    });

    it('runs two-hosts over TLS with the embedded hash; every service says it serves TLS', () => {
      expect(stdout).toMatch(/^NATS: nats:\/\/localhost:\d+ \(TLS\)$/m);
      expect(line('gateway HTTP')).toMatch(/^https:\/\//);
      const r = spawnSync(process.execPath, [VSIM, 'run', '--nats', line('NATS'), 'examples/two-hosts.yaml'], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, VSIM_CREDENTIALS: line('credentials') },
      });
      expect(r.status).toBe(0);
      const embedded = spawnSync(process.execPath, [VSIM, 'run', 'examples/two-hosts.yaml'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
      const hash = /^event-log hash: ([0-9a-f]{64})$/m.exec(embedded.stdout)![1];
      expect(r.stdout).toContain(`event-log hash: ${hash}\n`);
      // Only the simulation's id on stderr: no warning (e.g. an IP address as TLS server name).
      expect(r.stderr).toMatch(/^vsim: simulation \S+ \(for vsim sched-\*, vcpu-\*, cpupool-\*: --sim \S+\)\n$/);
      for (const svc of ['hypervisor', 'scheduler', 'cpu-node-1', 'gateway']) {
        const ready = readFileSync(join(line('logs'), `${svc}.log`), 'utf8')
          .split('\n')
          .find((l) => l.includes('"msg":"ready"'));
        expect(JSON.parse(ready!)).toMatchObject({ tls: true, identity: svc });
      }
    }, 90_000);

    it('refuses clients that do not verify the server against the CA, or speak plaintext', async () => {
      // NATS without the CA: the server's certificate is not trusted.
      await expect(connect({ servers: line('NATS'), reconnect: false, timeout: 5000 })).rejects.toThrow();
      // gRPC in plaintext to a TLS port.
      const gw = new GatewayClient(line('gateway gRPC'), credentials.createInsecure());
      const err = await new Promise<{ code: number }>((res) =>
        gw.status({ sim: 'x' }, new Metadata(), { deadline: Date.now() + 5000 }, (e) => res(e as unknown as { code: number })),
      );
      expect(err?.code).toBeGreaterThan(0);
      gw.close();
      // HTTPS with the CA answers (401 without a token); without it the handshake fails.
      const get = (ca?: Buffer) =>
        new Promise<number>((res, rej) => {
          const req = request(`${line('gateway HTTP')}/v1/gateway`, { ca }, (r) => (r.resume(), res(r.statusCode!)));
          req.on('error', rej);
          req.end();
        });
      expect(await get(readFileSync(join(dir, 'ca.pem')))).toBe(401);
      await expect(get()).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
    }, 30_000);
  },
);
