// The compose stack can be driven by the vsim CLI from the host (issue 14 item 15). Docker cannot
// run here, so this checks that docker-compose.yml agrees with what the CLI and `vsim up` use: the
// same services with the same commands and flags, NATS and the gateway's gRPC published at the
// addresses the CLI reaches (the gateway advertises the published one), every --secrets file one
// that `vsim secrets --compose` generates, and NATS configured from those secrets accepting the
// CLI with client.json and refusing it without; and that the README's walkthrough uses them.

import { execFileSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { parse } from 'yaml';
import { NATS_SERVER_MISSING, findNatsServer, startNatsServer } from '@vsim/bus';
import { COMPOSE_GATEWAY_GRPC_PORT, COMPOSE_HTTP_PORT, NATS_CLIENT_PORT, describeDeployment, serviceCommand } from '../src/deploy/services';

const ROOT = resolve(__dirname, '../../..');
const VSIM = join(ROOT, 'apps/cli/bin/vsim.js');

interface ComposeService {
  image: string;
  build?: string;
  command: string[];
  volumes: string[];
  ports?: string[];
  depends_on?: string[];
}

const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, ComposeService> };
const services = compose.services;
const flag = (cmd: readonly string[], name: string) => (cmd.includes(name) ? cmd[cmd.indexOf(name) + 1] : undefined);

function vsim(...args: string[]): { status: number; stdout: string; stderr: string } {
  try {
    return { status: 0, stdout: execFileSync(process.execPath, [VSIM, ...args], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' }), stderr: '' };
  } catch (e) {
    const err = e as { status: number; stdout: string; stderr: string };
    return { status: err.status, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('docker-compose.yml agrees with the CLI and vsim up', () => {
  const local = describeDeployment({
    kind: 'local',
    natsUrl: 'nats://127.0.0.1:1',
    secretsDir: '/s',
    gatewayGrpcPort: 1,
    advertiseHost: 'h',
    metricsPorts: Object.fromEntries(Object.keys(services).map((name) => [name, 1])),
  });

  it('runs the services vsim up runs, each with the same launcher and flags', () => {
    expect(Object.keys(services)).toEqual(local.map((s) => s.name));
    for (const s of local.filter((x) => x.app)) {
      const cmd = services[s.name].command;
      expect(cmd.slice(0, 2)).toEqual(serviceCommand(s.app!));
      expect(existsSync(join(ROOT, cmd[1]))).toBe(true);
      // The flags vsim up passes (its gateway with a fixed gRPC port, as compose's), with the
      // container's NATS URL and secrets mount.
      const flags = (args: readonly string[]) => args.filter((a) => a.startsWith('--')).sort();
      expect(flags(cmd.slice(2))).toEqual(flags(s.args));
      for (const name of ['--instance', '--node-id']) expect(flag(cmd, name)).toBe(flag(s.args, name));
      expect(flag(cmd, '--nats')).toBe(`nats://nats:${NATS_CLIENT_PORT}`);
      expect(flag(cmd, '--secrets')).toBe(`/secrets/${s.name}.json`);
      expect(services[s.name].volumes).toEqual([expect.stringMatching(/^\$\{VSIM_SECRETS:\?[^}]+\}:\/secrets:ro$/)]);
    }
    expect(services.nats.command).toEqual(['-c', '/secrets/nats-server.conf']);
  });

  it('publishes NATS and the gateway gRPC the CLI needs; the gateway advertises the published address', () => {
    expect(services.nats.ports).toEqual([`${NATS_CLIENT_PORT}:${NATS_CLIENT_PORT}`]);
    expect(services.gateway.ports).toEqual([
      `${COMPOSE_HTTP_PORT}:${COMPOSE_HTTP_PORT}`,
      `${COMPOSE_GATEWAY_GRPC_PORT}:${COMPOSE_GATEWAY_GRPC_PORT}`,
    ]);
    const gw = services.gateway.command;
    // `vsim run --nats` finds the gateway at what it registers: host 127.0.0.1, the published port.
    expect(flag(gw, '--grpc-host')).toBe('0.0.0.0');
    expect(flag(gw, '--grpc-port')).toBe(String(COMPOSE_GATEWAY_GRPC_PORT));
    expect(flag(gw, '--advertise-host')).toBe('127.0.0.1');
    // Nothing else is published: the other services are reached inside the stack only.
    for (const name of ['hypervisor', 'scheduler', 'cpu-node-1', 'cpu-node-2']) expect(services[name].ports).toBeUndefined();
  });

  it('the README walks through a run against the stack and compares its hash with the embedded run', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = /^### Integration testing with docker compose\n([\s\S]*?)(?=^##)/m.exec(readme)?.[1];
    expect(section).toBeDefined();
    expect(section).toContain('npx vsim secrets --compose');
    expect(section).toContain('docker compose up');
    expect(section).toContain(`npx vsim run --nats nats://127.0.0.1:${NATS_CLIENT_PORT} --credentials "$VSIM_SECRETS/client.json"`);
    expect(section).toContain('scripts/compose-check.sh');
    const script = readFileSync(join(ROOT, 'scripts/compose-check.sh'), 'utf8');
    expect(script).toContain(`nats://127.0.0.1:${NATS_CLIENT_PORT}`);
    expect(script).toContain('client.json');
    expect(script).toMatch(/event-log hash/);
  });
});

const skip = findNatsServer() === undefined && process.env.CI !== 'true';

(skip ? describe.skip : describe)(`the compose credentials${skip ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsim-compose-secrets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('vsim secrets --compose writes every file the compose services name, and its NATS admits the CLI with client.json only', async () => {
    const made = vsim('secrets', '--compose', '--cpu-nodes', '2', join(dir, 's'));
    expect(made.status).toBe(0);
    for (const s of Object.values(services)) {
      const secrets = flag(s.command, '--secrets') ?? flag(s.command, '-c');
      expect(existsSync(join(dir, 's', secrets!.replace(/^\/secrets\//, '')))).toBe(true);
    }
    // nats-server with the compose configuration (JetStream's store moved off /data, a free port).
    const conf = readFileSync(join(dir, 's', 'nats-server.conf'), 'utf8');
    expect(conf).toContain('store_dir: "/data"');
    writeFileSync(join(dir, 'nats-server.conf'), conf.replace('store_dir: "/data"', `store_dir: ${JSON.stringify(join(dir, 'js'))}`));
    const nats = await startNatsServer({ args: ['-c', join(dir, 'nats-server.conf')] });
    try {
      const withCreds = vsim('list', '--nats', nats.url, '--credentials', join(dir, 's', 'client.json'));
      expect(withCreds.status).toBe(69);
      expect(withCreds.stderr).toBe(`vsim: list: no gateway found on ${nats.url} (no vsim-gateway registered; start one with 'vsim up')\n`);
      const without = vsim('list', '--nats', nats.url);
      expect(without.status).toBe(69);
      expect(without.stderr).toMatch(/Authorization Violation/);
    } finally {
      await nats.stop();
    }
  }, 60_000);
});
