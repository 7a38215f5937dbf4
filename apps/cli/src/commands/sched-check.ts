/**
 * `vsim sched-check URL|SUBJECT`: the scheduler conformance kit. Finds a scheduler service on NATS
 * and drives it through the scheduler protocol (docs/scheduler-protocol.md) with synthetic hosts
 * and vCPUs (sched-check/kit.ts), then prints each violation on its own line.
 *
 * Exit status: 0 no violation; 1 violations (one line each); 2 usage error; 69 NATS unreachable or
 * no such scheduler registered.
 */

import { NatsBus } from '@vsim/bus';
import { schedulerControlClient, schedulerMessage } from '@vsim/control';
import { SchedulerParams } from '@vsim/proto';
import { discover } from '@vsim/service';
import { formatOptions, parseArgs, usageError } from '../args';
import { Command, EXIT } from '../command';
import { EX_UNAVAILABLE } from '../run/remote';
import { CHECKS, runSchedCheck } from '../sched-check/kit';

const DEFAULT_SERVICE = 'vsim-scheduler';

const OPTIONS = {
  nats: {
    type: 'string',
    valueName: 'URL',
    description: 'NATS server, when the argument is a SUBJECT (default $VSIM_NATS_URL or nats://127.0.0.1:4222)',
  },
  instance: { type: 'string', valueName: 'NAME', description: 'check the registered instance of that name (default: the first by name)' },
  grpc: { type: 'string', valueName: 'HOST:PORT', description: "the scheduler's gRPC address, instead of the one it registered" },
  policy: { type: 'string', valueName: 'POLICY', description: 'policy to ask for in AddHost', default: 'round-robin' },
  params: { type: 'string', valueName: 'JSON', description: "the policy's parameters", default: '{}' },
  'deadline-ms': { type: 'integer', min: 1, valueName: 'MS', description: 'bound on every control call and every decision', default: 5000 },
  'starvation-ms': { type: 'integer', min: 1, valueName: 'MS', description: 'virtual time a runnable vCPU may wait unscheduled', default: 500 },
  verbose: { type: 'boolean', short: 'v', description: 'progress lines on stderr' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const;

const HELP = `Usage: vsim sched-check [OPTIONS] URL|SUBJECT

The scheduler conformance kit: drives a scheduler service through the scheduler
protocol (docs/scheduler-protocol.md) and reports every violation, one per line.
The kit plays the rest of the cluster: it calls SchedulerControl over gRPC, serves
the run orders of two synthetic hosts over NATS (CPU hogs, an I/O-like vCPU that
blocks and wakes, a VM paused from 50 to 250 ms) and counts the published events.
It runs the scenario twice, pausing and resuming the first run mid-way.

URL is the NATS server the scheduler is registered on (nats://host:port); the
scheduler is found there as ${DEFAULT_SERVICE}. SUBJECT instead names the
registration: a service name or a NATS service API subject ($SRV.INFO.NAME or
$SRV.INFO.NAME.ID), on the server of --nats.

Checks:
${Object.entries(CHECKS)
  .map(([k, v]) => `  ${k.padEnd(14)}${v}`)
  .join('\n')}

Options:
${formatOptions(OPTIONS)}

Exit status: 0 no violation; 1 violations; 2 usage error; 69 NATS unreachable or
no such scheduler registered.

Examples:
  vsim sched-check nats://127.0.0.1:4222
  vsim sched-check --nats nats://127.0.0.1:4222 '$SRV.INFO.vsim-scheduler'
`;

/** The NATS URL and the registration to look for, from the positional argument. */
export function parseTarget(
  arg: string,
  natsFlag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): { nats: string; service: string; id?: string } {
  if (/^(nats|tls|ws|wss):\/\//.test(arg) || /^[A-Za-z0-9.-]+:\d+$/.test(arg)) {
    if (natsFlag !== undefined) throw usageError('vsim sched-check', 'give the NATS server either as the argument or with --nats, not both');
    return { nats: arg, service: DEFAULT_SERVICE };
  }
  const m = /^(?:\$SRV\.(?:INFO|PING|STATS)\.)?([A-Za-z0-9_-]+)(?:\.([A-Za-z0-9]+))?$/.exec(arg);
  if (!m) throw usageError('vsim sched-check', `'${arg}' is neither a NATS URL nor a service subject ($SRV.INFO.NAME[.ID] or NAME)`);
  return { nats: natsFlag ?? env.VSIM_NATS_URL ?? 'nats://127.0.0.1:4222', service: m[1], id: m[2] };
}

export const schedCheckCommand: Command = {
  name: 'sched-check',
  summary: 'check a scheduler service against the scheduler protocol (conformance kit)',
  help: HELP,
  run: async (argv, io) => {
    const { options: o, positionals } = parseArgs(argv, OPTIONS, { command: 'vsim sched-check' });
    if (o.help) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    if (positionals.length !== 1) throw usageError('vsim sched-check', 'expected one URL or SUBJECT (see --help)');
    const target = parseTarget(positionals[0], o.nats);
    let scheduler: SchedulerParams;
    try {
      const params = JSON.parse(o.params) as unknown;
      if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new Error('--params: expected a JSON object');
      scheduler = schedulerMessage({ policy: o.policy, params: params as Record<string, unknown> }, '--params');
    } catch (e) {
      throw usageError('vsim sched-check', e instanceof SyntaxError ? `--params is not JSON: ${e.message}` : (e as Error).message);
    }
    let bus: NatsBus;
    try {
      bus = await NatsBus.connect({ servers: target.nats.split(',').map((s) => s.trim()), connection: { maxReconnectAttempts: 0, timeout: 5000 } });
    } catch (e) {
      io.stderr.write(`vsim: sched-check: cannot reach NATS at ${target.nats}: ${(e as Error).message}\n`);
      return EX_UNAVAILABLE;
    }
    try {
      let address = o.grpc;
      let who = address ?? '';
      if (address === undefined) {
        const found = (await discover(bus, target.service, 2000)).filter(
          (s) => (target.id === undefined || s.id === target.id) && (o.instance === undefined || s.instance === o.instance),
        );
        if (found.length === 0) {
          io.stderr.write(
            `vsim: sched-check: no ${target.service}${target.id ? ` with id ${target.id}` : ''}${o.instance ? ` named ${o.instance}` : ''} registered on ${target.nats}\n`,
          );
          return EX_UNAVAILABLE;
        }
        address = found[0].grpc;
        who = `${target.service} ${found[0].instance} at ${address}`;
      }
      const control = schedulerControlClient(address, { deadlineMs: o['deadline-ms'] * 2, runDeadlineMs: 120_000 });
      try {
        const report = await runSchedCheck({
          control,
          bus,
          scheduler,
          deadlineMs: o['deadline-ms'],
          starvationNs: o['starvation-ms'] * 1e6,
          log: o.verbose ? (l) => io.stderr.write(`vsim: sched-check: ${l}\n`) : undefined,
        });
        for (const v of report.violations) io.stdout.write(`VIOLATION ${v.check}: ${v.detail}\n`);
        io.stdout.write(
          `sched-check: ${report.violations.length} violation${report.violations.length === 1 ? '' : 's'} (${Object.keys(CHECKS).length} checks, 2 runs, ${report.orders.join(' + ')} run orders) against ${who}\n`,
        );
        return report.violations.length === 0 ? EXIT.ok : EXIT.failure;
      } finally {
        control.close();
      }
    } finally {
      await bus.close().catch(() => undefined);
    }
  },
};
