// The committed docker-compose.yml and Dockerfile are exactly what `vsim compose` generates from
// apps/cli/src/deploy/services.ts (Docker cannot run here, so this is the check).

import { readFileSync } from 'fs';
import { resolve } from 'path';
import { composeFile, dockerfile } from '../src/deploy/compose';
import { describeDeployment } from '../src/deploy/services';

const ROOT = resolve(__dirname, '../../..');

function expectCommitted(file: string, generated: string, regenerate: string) {
  const committed = readFileSync(resolve(ROOT, file), 'utf8');
  if (committed !== generated) {
    throw new Error(`${file} differs from the generator's output (apps/cli/src/deploy). Regenerate it with:\n  ${regenerate}`);
  }
}

describe('deployment description', () => {
  it('docker-compose.yml at the repository root is the generated one', () => {
    expectCommitted('docker-compose.yml', composeFile(), 'npx vsim compose > docker-compose.yml');
  });

  it('Dockerfile at the repository root is the generated one', () => {
    expectCommitted('Dockerfile', dockerfile(), 'npx vsim compose --dockerfile > Dockerfile');
  });

  it('describes nats, hypervisor, scheduler, N cpu-nodes with distinct node ids, and the gateway', () => {
    const d = describeDeployment({ kind: 'compose' }, 3);
    expect(d.map((s) => s.name)).toEqual(['nats', 'hypervisor', 'scheduler', 'cpu-node-1', 'cpu-node-2', 'cpu-node-3', 'gateway']);
    expect(d[0].args).toEqual(['-c', '/secrets/nats-server.conf']);
    const ids = d.filter((s) => s.app === 'cpu-node').map((s) => s.args[s.args.indexOf('--node-id') + 1]);
    expect(new Set(ids).size).toBe(3);
    for (const s of d.filter((x) => x.app)) {
      expect(s.args.slice(0, 2)).toEqual(['--nats', 'nats://nats:4222']);
      expect(s.args).toEqual(expect.arrayContaining(['--grpc-host', '0.0.0.0', '--advertise-host', s.name, '--secrets', `/secrets/${s.name}.json`]));
    }
    // Every container mounts the secrets (generated outside the repository) read-only.
    expect(composeFile(3).match(/volumes: \["\$\{VSIM_SECRETS:\?[^}]*\}:\/secrets:ro"\]/g)).toHaveLength(d.length);
    const compose = composeFile();
    expect(compose).toMatch(/^ {2}cpu-node-1:$/m);
    expect(compose).toMatch(/^ {2}cpu-node-2:$/m);
    expect(compose).toContain('"8080:8080"');
    const local = describeDeployment({ kind: 'local', natsUrl: 'nats://127.0.0.1:1234', secretsDir: '/s', httpPort: 0 });
    expect(local.filter((s) => s.app === 'cpu-node')).toHaveLength(2);
    for (const s of local.filter((x) => x.app))
      expect(s.args.slice(0, 6)).toEqual(['--nats', 'nats://127.0.0.1:1234', '--instance', s.name, '--secrets', `/s/${s.name}.json`]);
  });
});
