/**
 * `vsim secrets DIR`: generates a deployment's credentials (docs/security.md) — nats-server's
 * configuration and one identity file per process — into DIR, outside any repository, for
 * docker-compose.yml (`--compose`) or services started by hand. `vsim up` does the same on its own.
 */

import { existsSync, readdirSync } from 'fs';
import { generateSecrets } from '@vsim/security';
import { formatOptions, parseArgs, usageError } from '../args';
import { Command, EXIT } from '../command';
import { checkSecretsDir, secretsSpec } from '../deploy/secrets';
import { COMPOSE_JETSTREAM_DIR, COMPOSE_SECRETS_DIR, DEFAULT_CPU_NODES } from '../deploy/services';

const OPTIONS = {
  'cpu-nodes': { type: 'integer', min: 1, valueName: 'N', description: `cpu-node identities (default ${DEFAULT_CPU_NODES})` },
  schedulers: { type: 'integer', min: 1, valueName: 'N', description: 'scheduler identities: scheduler, scheduler-2, ... (default 1)' },
  hypervisors: { type: 'integer', min: 1, valueName: 'N', description: 'hypervisor identities: hypervisor, hypervisor-2, ... (default 1)' },
  clients: { type: 'string', valueName: 'NAMES', description: 'API principals, comma-separated, one token each (default client)' },
  compose: {
    type: 'boolean',
    description: `for docker-compose.yml: nats-server sees DIR at ${COMPOSE_SECRETS_DIR}, JetStream in ${COMPOSE_JETSTREAM_DIR}`,
  },
  'tls-dir': { type: 'string', valueName: 'DIR', description: 'use TLS with DIR/ca.pem, DIR/cert.pem, DIR/key.pem (the cert must name every host)' },
  force: { type: 'boolean', description: "replace DIR's existing secrets" },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const;

const HELP = `Usage: vsim secrets [OPTIONS] DIR

Generates the credentials of a vsim deployment into DIR (created with mode
0700, every file 0600; refused inside a git work tree): nats-server.conf
(one NATS user per identity, limited to its role's subjects; no anonymous
access), an identity file per service (hypervisor.json, scheduler.json,
cpu-node-N.json, gateway.json: its nkey, the tokens of the calls it makes
and accepts), one per API client (client.json: what 'vsim run --credentials'
takes), and supervisor.json. Each client's API token is printed once.

  npx vsim secrets --compose ~/.vsim/secrets && export VSIM_SECRETS=~/.vsim/secrets
  docker compose up

Options:
${formatOptions(OPTIONS)}
`;

export const secretsCommand: Command = {
  name: 'secrets',
  summary: "generate a deployment's credentials (NATS users, tokens, TLS) outside the repository",
  help: HELP,
  run(argv, io) {
    const { options, positionals } = parseArgs(argv, OPTIONS, { command: 'vsim secrets' });
    if (options.help) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    if (positionals.length !== 1) throw usageError('vsim secrets', 'expected one DIR');
    const dir = positionals[0];
    const clients = options.clients
      ?.split(',')
      .map((c) => c.trim())
      .filter(Boolean);
    try {
      checkSecretsDir(dir);
      if (existsSync(dir) && readdirSync(dir).length > 0 && !options.force) throw new Error(`${dir} is not empty (--force replaces its secrets)`);
      const spec = secretsSpec(options['cpu-nodes'] ?? DEFAULT_CPU_NODES, {
        clients,
        tlsDir: options['tls-dir'],
        schedulers: options.schedulers,
        hypervisors: options.hypervisors,
      });
      const s = generateSecrets(dir, spec, options.compose ? { mountedAt: COMPOSE_SECRETS_DIR, jetstreamDir: COMPOSE_JETSTREAM_DIR } : {});
      io.stdout.write(
        [
          `secrets: ${s.dir}`,
          `nats-server: ${s.natsConfig}`,
          ...Object.entries(s.files).map(([name, f]) => `${name.padEnd(12)} ${f}`),
          ...Object.entries(s.clientTokens).map(([name, t]) => `API token of ${name}: ${t}`),
          '',
        ].join('\n'),
      );
      return EXIT.ok;
    } catch (e) {
      io.stderr.write(`vsim: secrets: ${(e as Error).message}\n`);
      return EXIT.failure;
    }
  },
};
