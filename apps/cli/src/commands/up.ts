/**
 * `vsim up`: a whole vsim cluster on this machine, as deploy/services.ts describes it, with
 * credentials: its own nats-server (JetStream; one NATS user per identity, no anonymous access)
 * and every service as its own child process with its own identity file. Secrets are generated
 * into a directory outside the repository (a fresh one removed at exit, or --secrets DIR, kept).
 * Prints the NATS URL, the gateway's addresses, the client credentials file and — once — the API
 * token, and one line per process (with where Prometheus scrapes it); then supervises (deploy/supervisor.ts): a child that dies is
 * restarted, nats-server included, on the same port and configuration. On SIGINT/SIGTERM it stops
 * everything and exits 0; the logs (<logs>/<name>.log) are kept and their path printed.
 */

import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join, resolve } from 'path';
import { NATS_SERVER_MISSING, NatsBus, findNatsServer } from '@vsim/bus';
import {
  DeploymentSecrets,
  IDENTITY,
  NatsViolationCounter,
  existingSecrets,
  generateSecrets,
  natsConnectionOptions,
  readIdentity,
  writeNatsConfig,
} from '@vsim/security';
import { discover } from '@vsim/service';
import { formatOptions, parseArgs, usageError } from '../args';
import { Command, EXIT } from '../command';
import { freePort, untilListening } from '../deploy/ports';
import { checkSecretsDir, secretsSpec } from '../deploy/secrets';
import { DEFAULT_CPU_NODES, Instances, cpuNodesOf, describeDeployment, instanceNamesOf, serviceCommand } from '../deploy/services';
import { Supervisor } from '../deploy/supervisor';

export { freePort } from '../deploy/ports';

/** The repository root (the compiled CLI lives in apps/cli/dist, the sources in apps/cli/src/commands). */
const ROOT = ((dir: string): string => {
  for (let d = dir; d !== dirname(d); d = dirname(d)) if (existsSync(join(d, 'apps', 'cli', 'package.json'))) return d;
  return resolve(dir, '../../../..');
})(__dirname);

const OPTIONS = {
  'cpu-nodes': { type: 'integer', min: 1, valueName: 'N', description: `cpu-node processes (default ${DEFAULT_CPU_NODES})` },
  schedulers: {
    type: 'integer',
    min: 1,
    valueName: 'N',
    description: "scheduler processes, each driving a share of every simulation's hosts (default 1)",
  },
  hypervisors: {
    type: 'integer',
    min: 1,
    valueName: 'N',
    description: 'hypervisor processes, each serving the traps of a share of the cpu-nodes (default 1)',
  },
  'nats-port': { type: 'integer', min: 1, valueName: 'P', description: 'port of its nats-server (default: a free port; never 4222 unless asked)' },
  'http-port': { type: 'integer', min: 0, valueName: 'P', description: "the gateway's HTTP API port (default: a free port)" },
  secrets: {
    type: 'string',
    valueName: 'DIR',
    description:
      'keep the credentials in DIR (reused if made for the same cpu-nodes, schedulers and hypervisors; default: a fresh directory removed at exit)',
  },
  'tls-dir': {
    type: 'string',
    valueName: 'DIR',
    description: 'TLS on NATS, gRPC and HTTP with DIR/ca.pem, cert.pem, key.pem (a cert for localhost and 127.0.0.1) when generating secrets',
  },
  logs: { type: 'string', valueName: 'DIR', description: 'where the logs go (default: a fresh directory); kept at exit' },
  'checkpoint-dir': {
    type: 'string',
    valueName: 'DIR',
    description:
      "the cluster's checkpoint store (scenario checkpoint.interval; vsim run --nats --resume-sim SIM resumes from it); default: none, no checkpoints",
  },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const;

const HELP = `Usage: vsim up [OPTIONS]

Starts a vsim cluster on this machine: its own nats-server (JetStream on, on
127.0.0.1, one user per service identity and no anonymous access) and the
hypervisor, the scheduler, the cpu-nodes and the gateway, each its own process
with its own credentials (generated outside the repository). Once every
service has registered on NATS, prints the NATS URL, the gateway's HTTP URL
and gRPC address (--gateway of the sched-* commands), the client credentials
file, the API token (once), and each process's pid and Prometheus /metrics URL
(docs/metrics.md), then keeps running until
interrupted (Ctrl-C), restarting any process that dies. Drive it with
  VSIM_CREDENTIALS=<the printed file> vsim run --nats URL SCENARIO.yaml

Options:
${formatOptions(OPTIONS)}

Exit status:
  0    stopped by SIGINT or SIGTERM
  69   the cluster did not come up (see the log directory)
  127  nats-server is not installed
`;

export const EX_UNAVAILABLE = 69;
const READY_TIMEOUT_MS = 60_000;

/** The secrets of this run: reused or generated in --secrets DIR, else in a fresh directory. */
function secretsFor(
  dir: string | undefined,
  cpuNodes: number,
  tlsDir: string | undefined,
  instances: Instances,
): { secrets: DeploymentSecrets; temporary: boolean } {
  if (dir === undefined) {
    const tmp = mkdtempSync(join(tmpdir(), 'vsim-secrets-'));
    checkSecretsDir(tmp);
    return { secrets: generateSecrets(tmp, secretsSpec(cpuNodes, { tlsDir, ...instances })), temporary: true };
  }
  checkSecretsDir(dir);
  const spec = secretsSpec(cpuNodes, { tlsDir, ...instances });
  const found = existingSecrets(dir, spec);
  if (found && tlsDir !== undefined && !found.tls)
    throw new Error(`${dir} holds secrets made without TLS: use another --secrets DIR to add --tls-dir`);
  return { secrets: found ?? generateSecrets(dir, spec), temporary: false };
}

export const upCommand: Command = {
  name: 'up',
  summary: 'start nats-server and every vsim service as local processes, with credentials',
  help: HELP,
  async run(argv, io) {
    const { options, positionals } = parseArgs(argv, OPTIONS, { command: 'vsim up' });
    if (options.help) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    if (positionals.length > 0) throw usageError('vsim up', `unexpected argument '${positionals[0]}'`);
    const natsBin = findNatsServer();
    if (!natsBin) {
      io.stderr.write(`vsim: ${NATS_SERVER_MISSING}\n`);
      return EXIT.notFound;
    }
    const cpuNodes = options['cpu-nodes'] ?? DEFAULT_CPU_NODES;
    const instances: Instances = { schedulers: options.schedulers ?? 1, hypervisors: options.hypervisors ?? 1 };
    const names = instanceNamesOf(instances);
    const logDir = options.logs ?? mkdtempSync(join(tmpdir(), 'vsim-up-'));
    mkdirSync(logDir, { recursive: true });
    const say = (line: string) => io.stderr.write(`vsim: ${line}\n`);
    const supervisor = new Supervisor({ report: say });
    let secrets: DeploymentSecrets | undefined;
    let temporary = false;
    let bus: NatsBus | undefined;
    let stopping: Promise<void> | undefined;
    const stopAll = () =>
      (stopping ??= (async () => {
        await bus?.close().catch(() => undefined);
        await supervisor.stop();
        if (temporary && secrets) rmSync(secrets.dir, { recursive: true, force: true });
      })());
    let signalled: (sig: string) => void = () => undefined;
    const signal = new Promise<string>((r) => (signalled = r));
    const onSig = (sig: NodeJS.Signals) => {
      signalled(sig);
      void stopAll(); // at once: no child is restarted from here on
    };
    process.on('SIGINT', onSig);
    process.on('SIGTERM', onSig);
    let audit: NatsViolationCounter | undefined;
    try {
      ({ secrets, temporary } = secretsFor(options.secrets, cpuNodes, options['tls-dir'], instances));
      const s = secrets;
      const natsPort = options['nats-port'] ?? (await freePort());
      const httpPort = options['http-port'] ?? (await freePort());
      const gatewayGrpcPort = await freePort();
      // Each service's Prometheus /metrics, on ports fixed for this run (a restarted service keeps its own).
      const metricsPorts: Record<string, number> = {};
      const taken = new Set([natsPort, httpPort, gatewayGrpcPort]);
      for (const name of [...names.hypervisors, ...names.schedulers, ...cpuNodesOf(cpuNodes).map((n) => n.identity), 'gateway']) {
        let port = await freePort();
        while (taken.has(port)) port = await freePort();
        taken.add(port);
        metricsPorts[name] = port;
      }
      const conf = writeNatsConfig(s.dir, { jetstreamDir: join(logDir, 'jetstream') });
      // nats-server refuses and logs; the audit counts its refusals by identity.
      const keys = new Map(Object.entries(s.files).map(([name, f]) => [readIdentity(f).natsPublicKey, name]));
      audit = new NatsViolationCounter((k) => keys.get(k));
      const counter = audit;
      supervisor.add({
        name: 'nats-server',
        command: natsBin,
        args: ['-c', conf, '-a', '127.0.0.1', '-p', String(natsPort)],
        logFile: join(logDir, 'nats-server.log'),
        onLine: (line) => void counter.add(line),
      });
      // With TLS, by name: the certificate must name localhost (as it does 127.0.0.1 for HTTPS).
      const natsUrl = `nats://${s.tls ? 'localhost' : '127.0.0.1'}:${natsPort}`;
      await untilListening(natsPort, 10_000, () =>
        supervisor.status()[0].state === 'running' ? undefined : `nats-server exited; see ${join(logDir, 'nats-server.log')}`,
      );
      const services = describeDeployment(
        {
          kind: 'local',
          natsUrl,
          secretsDir: s.dir,
          httpPort,
          gatewayGrpcPort,
          advertiseHost: s.tls ? 'localhost' : undefined,
          metricsPorts,
          checkpointDir: options['checkpoint-dir'] === undefined ? undefined : resolve(options['checkpoint-dir']),
        },
        cpuNodes,
        instances,
      ).filter((d) => d.app !== undefined);
      for (const d of services) {
        // The service's bin launcher: its compiled bundle, or the sources through tsx in development.
        const [, ...launcher] = serviceCommand(d.app!);
        supervisor.add({
          name: d.name,
          command: process.execPath,
          args: [...launcher, ...d.args],
          cwd: ROOT,
          env: { ...process.env, ...d.env },
          logFile: join(logDir, `${d.name}.log`),
        });
      }
      // Ready once each has registered (asked as the supervisor, which may only look services up).
      bus = await NatsBus.connect({ servers: natsUrl, connection: natsConnectionOptions(readIdentity(s.files[IDENTITY.supervisor])) });
      const want = new Map<string, number>();
      for (const d of services) want.set(d.registersAs!, (want.get(d.registersAs!) ?? 0) + 1);
      const deadline = Date.now() + READY_TIMEOUT_MS;
      let gatewayHttp = '';
      let gatewayGrpc = '';
      for (const [name, n] of want) {
        for (;;) {
          if (stopping) throw new Error('interrupted before the cluster was ready');
          const dead = supervisor.status().find((c) => c.state === 'given up');
          if (dead) throw new Error(`${dead.name} keeps exiting; see ${join(logDir, `${dead.name}.log`)}`);
          const found = await discover(bus, name, 1000);
          if (found.length >= n) {
            if (name === 'vsim-gateway') [gatewayHttp, gatewayGrpc] = [found[0].metadata.http ?? '', found[0].grpc];
            break;
          }
          if (Date.now() > deadline)
            throw new Error(`${name}: ${found.length} of ${n} registered after ${READY_TIMEOUT_MS / 1000} s; logs in ${logDir}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      await bus.close();
      bus = undefined;
      const scheme = s.tls ? 'https' : 'http';
      const client = s.files[IDENTITY.client];
      io.stdout.write(
        [
          `NATS: ${natsUrl}${s.tls ? ' (TLS)' : ''}`,
          `gateway HTTP: ${scheme}://${gatewayHttp}`,
          `gateway gRPC: ${gatewayGrpc}`,
          `credentials: ${client}`,
          `token: ${s.clientTokens[IDENTITY.client]}`,
          `secrets: ${s.dir}${temporary ? ' (removed at exit)' : ''}`,
          `logs: ${logDir}`,
          ...supervisor.status().map((c) => `${c.name.padEnd(12)} pid ${c.pid}`),
          ...Object.entries(metricsPorts).map(([name, port]) => `metrics: ${name} http://127.0.0.1:${port}/metrics`),
          `vsim up: ready (Ctrl-C to stop); e.g. VSIM_CREDENTIALS=${client} vsim run --nats ${natsUrl} examples/two-hosts.yaml`,
        ].join('\n') + '\n',
      );
      const sig = await signal;
      say(`stopping (${sig})`);
      await stopAll();
      return EXIT.ok;
    } catch (e) {
      say((e as Error).message.split('\n')[0]);
      await stopAll();
      return EX_UNAVAILABLE;
    } finally {
      process.off('SIGINT', onSig);
      process.off('SIGTERM', onSig);
      const restarts = supervisor
        .status()
        .filter((c) => c.restarts > 0)
        .map((c) => `${c.name} ${c.restarts}`);
      if (restarts.length > 0) say(`restarts: ${restarts.join(', ')}`);
      if (audit && audit.total > 0) {
        const by = [...audit.byIdentity].map(([who, n]) => `${who} ${n}`).join(', ');
        say(
          `nats-server refused ${audit.total} (authentication ${audit.byKind.authentication}, publish ${audit.byKind.publish}, subscribe ${audit.byKind.subscribe}): ${by}`,
        );
      }
      say(`logs kept in ${logDir}`);
    }
  },
};
