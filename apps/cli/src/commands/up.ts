/**
 * `vsim up`: a whole vsim cluster on this machine, as deploy/services.ts describes it: its own
 * nats-server (JetStream, temporary store) and every service as its own child process. Prints the
 * NATS URL, the gateway's HTTP URL and one line per process, then runs until SIGINT/SIGTERM, when it
 * stops the children (SIGTERM, SIGKILL after 5 s) and nats-server, removes its temporary
 * directories and exits 0. Child logs go to <log dir>/<service>.log.
 */

import { ChildProcess, spawn } from 'child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync } from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { dirname, join, resolve } from 'path';
import { NATS_SERVER_MISSING, NatsBus, NatsServer, findNatsServer, startNatsServer } from '@vsim/bus';
import { discover } from '@vsim/service';
import { formatOptions, parseArgs, usageError } from '../args';
import { Command, EXIT } from '../command';
import { DEFAULT_CPU_NODES, describeDeployment, serviceCommand } from '../deploy/services';

/** The repository root (the compiled CLI lives in apps/cli/dist, the sources in apps/cli/src/commands). */
const ROOT = ((dir: string): string => {
  for (let d = dir; d !== dirname(d); d = dirname(d)) if (existsSync(join(d, 'apps', 'cli', 'package.json'))) return d;
  return resolve(dir, '../../../..');
})(__dirname);

const OPTIONS = {
  'cpu-nodes': { type: 'integer', min: 1, valueName: 'N', description: `cpu-node processes (default ${DEFAULT_CPU_NODES})` },
  'nats-port': { type: 'integer', min: 1, valueName: 'P', description: 'port of its nats-server (default: a free port; never 4222 unless asked)' },
  'http-port': { type: 'integer', min: 0, valueName: 'P', description: "the gateway's HTTP API port (default: a free port)" },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const;

const HELP = `Usage: vsim up [OPTIONS]

Starts a vsim cluster on this machine: its own nats-server (JetStream on, on
127.0.0.1) and the hypervisor, the scheduler, the cpu-nodes and the gateway,
each its own process. Once every service has registered on NATS, prints the
NATS URL, the gateway's HTTP URL and gRPC address (--gateway of the sched-*
commands) and each process's pid, then keeps running
until interrupted (Ctrl-C), when it stops everything. Drive it with
  vsim run --nats URL SCENARIO.yaml

Options:
${formatOptions(OPTIONS)}

Exit status:
  0    stopped by SIGINT or SIGTERM
  69   the cluster did not come up (see the log directory)
  127  nats-server is not installed
`;

export const EX_UNAVAILABLE = 69;
const STOP_GRACE_MS = 5000;
const READY_TIMEOUT_MS = 60_000;

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly exited: Promise<void>;
}

function stopChild(c: Child): Promise<void> {
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) return Promise.resolve();
  c.proc.kill('SIGTERM');
  const t = setTimeout(() => c.proc.kill('SIGKILL'), STOP_GRACE_MS);
  return c.exited.finally(() => clearTimeout(t));
}

export const upCommand: Command = {
  name: 'up',
  summary: 'start nats-server and every vsim service as local processes',
  help: HELP,
  async run(argv, io) {
    const { options, positionals } = parseArgs(argv, OPTIONS, { command: 'vsim up' });
    if (options.help) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    if (positionals.length > 0) throw usageError('vsim up', `unexpected argument '${positionals[0]}'`);
    if (!findNatsServer()) {
      io.stderr.write(`vsim: ${NATS_SERVER_MISSING}\n`);
      return EXIT.notFound;
    }
    const cpuNodes = options['cpu-nodes'] ?? DEFAULT_CPU_NODES;
    const natsPort = options['nats-port'] ?? (await freePort());
    const httpPort = options['http-port'] ?? (await freePort());
    const logDir = mkdtempSync(join(tmpdir(), 'vsim-up-'));
    const children: Child[] = [];
    let nats: NatsServer | undefined;
    let bus: NatsBus | undefined;
    let stopping: Promise<void> | undefined;
    const stopAll = () => (stopping ??= (async () => {
      await bus?.close().catch(() => undefined);
      await Promise.all(children.map(stopChild));
      await nats?.stop();
      rmSync(logDir, { recursive: true, force: true });
    })());
    let signalled: (sig: string) => void = () => undefined;
    const signal = new Promise<string>((r) => (signalled = r));
    const onSig = (sig: NodeJS.Signals) => signalled(sig);
    process.on('SIGINT', onSig);
    process.on('SIGTERM', onSig);
    try {
      nats = await startNatsServer({ jetstream: true, args: ['-p', String(natsPort)] });
      const services = describeDeployment({ kind: 'local', natsUrl: nats.url, httpPort }, cpuNodes).filter((s) => s.app !== undefined);
      for (const s of services) {
        const fd = openSync(join(logDir, `${s.name}.log`), 'a');
        // The service's bin launcher: its compiled bundle, or the sources through tsx in development.
        const [, ...launcher] = serviceCommand(s.app!);
        const proc = spawn(process.execPath, [...launcher, ...s.args], {
          cwd: ROOT,
          env: { ...process.env, ...s.env },
          stdio: ['ignore', fd, fd],
        });
        closeSync(fd);
        const exited = new Promise<void>((r) => proc.once('exit', () => r()));
        children.push({ name: s.name, proc, exited });
      }
      bus = await NatsBus.connect({ servers: nats.url });
      const want = new Map<string, number>();
      for (const s of services) want.set(s.registersAs!, (want.get(s.registersAs!) ?? 0) + 1);
      const deadline = Date.now() + READY_TIMEOUT_MS;
      let gatewayHttp = '';
      let gatewayGrpc = '';
      for (const [name, n] of want) {
        for (;;) {
          const dead = children.find((c) => c.proc.exitCode !== null || c.proc.signalCode !== null);
          if (dead) throw new Error(`${dead.name} exited (code ${dead.proc.exitCode ?? dead.proc.signalCode}); see ${join(logDir, `${dead.name}.log`)}`);
          const found = await discover(bus, name, 1000);
          if (found.length >= n) {
            if (name === 'vsim-gateway') [gatewayHttp, gatewayGrpc] = [found[0].metadata.http ?? '', found[0].grpc];
            break;
          }
          if (Date.now() > deadline) throw new Error(`${name}: ${found.length} of ${n} registered after ${READY_TIMEOUT_MS / 1000} s; logs in ${logDir}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      await bus.close();
      bus = undefined;
      const out = [
        `NATS: ${nats.url}`,
        `gateway HTTP: http://${gatewayHttp}`,
        `gateway gRPC: ${gatewayGrpc}`,
        `logs: ${logDir}`,
        `${'nats-server'.padEnd(12)} pid ${nats.pid}`,
        ...children.map((c) => `${c.name.padEnd(12)} pid ${c.proc.pid}`),
        'vsim up: ready (Ctrl-C to stop)',
      ];
      io.stdout.write(out.join('\n') + '\n');
      const sig = await Promise.race([signal, ...children.map((c) => c.exited.then(() => `exit of ${c.name}`))]);
      io.stderr.write(`vsim: stopping (${sig})\n`);
      await stopAll();
      return sig.startsWith('SIG') ? EXIT.ok : EX_UNAVAILABLE;
    } catch (e) {
      io.stderr.write(`vsim: ${(e as Error).message.split('\n')[0]}\n`);
      await stopAll();
      return EX_UNAVAILABLE;
    } finally {
      process.off('SIGINT', onSig);
      process.off('SIGTERM', onSig);
    }
  },
};
