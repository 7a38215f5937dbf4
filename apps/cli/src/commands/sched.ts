/**
 * Run-time scheduler control of a simulation running on a cluster, as Xen's `xl` does it:
 *
 *   vsim sched-credit  --sim ID [-d VM [-w WEIGHT] [-c CAP]] [-s [-t TSLICE_MS] [-r RATELIMIT_US]]
 *   vsim sched-credit2 --sim ID [-d VM [-w WEIGHT] [-c CAP]] [-s [-r RATELIMIT_US]]
 *   vsim sched-sedf    --sim ID [-d VM [-p PERIOD_MS] [-s SLICE_MS] [-e EXTRA]]
 *   vsim sched-rtds    --sim ID [-d VM [-p PERIOD_US] [-b BUDGET_US] [-e EXTRATIME]]
 *   vsim sched swap    --sim ID --policy POLICY [--params JSON] [--service INSTANCE]   (hot swap)
 *   vsim sched show    --sim ID
 *
 * Flags and units are xl's (xl(1): sched-credit takes tslice in ms and ratelimit in µs, sched-rtds
 * period and budget in µs); vsim converts them to the ns its policies take. Without a value to
 * set, the command prints the current parameters, as xl does. The gateway is found through NATS
 * (--nats URL, as `vsim run --nats`) or given as its gRPC address (--gateway HOST:PORT).
 *
 * Exit status: 0 done; 1 the gateway refused the call (the line says why); 2 usage error; 69 no
 * gateway reachable.
 */

import { DomainList, SchedParams } from '@vsim/proto';
import { OptionSpecs, formatOptions, parseArgs, usageError } from '../args';
import { Command, EXIT } from '../command';
import { CallError, GATEWAY_OPTIONS, GatewayCall, withGateway } from '../gateway-call';
import { TableChoice, schedTables } from '../xl/sched-tables';
import { Io } from '../io';

const NS_PER_US = 1_000;
const NS_PER_MS = 1_000_000;

const WHERE = {
  sim: { type: 'string', valueName: 'ID', description: 'the simulation (the id the gateway gave it, e.g. sim-01JD3W7Q9YXK4M2T8N5R6B1C0A)' },
  ...GATEWAY_OPTIONS,
} as const;

/** One xl per-domain or scheduler-wide option: its flag, the policy key, and the factor to ns. */
interface ParamFlag {
  readonly option: string;
  readonly key: string;
  readonly scale: number;
  readonly scope: 'vm' | 'scheduler';
  /** xl's boolean-as-0/1 options (extra, extratime). */
  readonly boolean?: boolean;
}

interface XlCommandDef {
  readonly name: string;
  readonly policy: string;
  readonly summary: string;
  readonly options: OptionSpecs;
  readonly params: readonly ParamFlag[];
  /** The option that selects scheduler-wide parameters (xl's -s/--schedparam), if the policy has any. */
  readonly schedparam?: string;
  readonly example: string;
}

function xlCommand(def: XlCommandDef): Command {
  const options = {
    ...WHERE,
    domain: { type: 'string', short: 'd', valueName: 'VM', description: 'the VM (xl: domain) whose parameters to show or set' },
    ...def.options,
    help: { type: 'boolean', short: 'h', description: 'show this help' },
  } as const;
  const command = `vsim ${def.name}`;
  const help = `Usage: ${command} --sim ID (--nats URL | --gateway HOST:PORT) [OPTIONS]

${def.summary}, as xl ${def.name} does on Xen: with -d VM and values,
sets that VM's parameters${def.schedparam ? `; with -${def.options[def.schedparam].short} and values, the scheduler-wide ones` : ''};
without values, prints the current ones. Changes take effect at each host's next scheduling
decision (the virtual time the host has reached when the call arrives).

Options:
${formatOptions(options)}

Exit status: 0 done; 1 refused by the gateway or the scheduler (the line says why);
2 usage error; 69 no gateway reachable.

Example:
  ${def.example}
`;
  return {
    name: def.name,
    summary: `${def.summary} of a running simulation (xl ${def.name})`,
    help,
    run: async (argv: readonly string[], io: Io) => {
      const { options: o, positionals } = parseArgs(argv, options, { command });
      const opts = o as Record<string, unknown>;
      if (opts.help) {
        io.stdout.write(help);
        return EXIT.ok;
      }
      if (positionals.length > 0) throw usageError(command, `unexpected argument '${positionals[0]}'`);
      if (typeof opts.sim !== 'string') throw usageError(command, '--sim ID is required');
      const sched = def.schedparam !== undefined && opts[def.schedparam] === true;
      const vm = opts.domain as string | undefined;
      if (sched && vm !== undefined) throw usageError(command, `-d and -${def.options[def.schedparam!].short} are exclusive (as in xl)`);
      const values: Record<string, number | boolean> = {};
      for (const p of def.params) {
        const v = opts[p.option];
        if (v === undefined) continue;
        if ((p.scope === 'scheduler') !== sched) {
          throw usageError(
            command,
            p.scope === 'scheduler' ? `--${p.option} needs -${def.options[def.schedparam!].short}` : `--${p.option} needs -d VM`,
          );
        }
        values[p.key] = p.boolean ? v !== 0 : (v as number) * p.scale;
      }
      try {
        return await withGateway(command, opts as { nats?: string; gateway?: string; credentials?: string; 'token-file'?: string }, async (call) => {
          if (Object.keys(values).length > 0) {
            await call('setSchedParams', { sim: opts.sim, vm: vm ?? '', paramsJson: JSON.stringify(values), policy: def.policy });
            return EXIT.ok;
          }
          io.stdout.write(await showTables(call, opts.sim as string, { policy: def.policy, domain: vm, poolsOnly: sched }));
          return EXIT.ok;
        });
      } catch (e) {
        if (!(e instanceof CallError)) throw e;
        io.stderr.write(`vsim: ${def.name}: ${e.message}\n`);
        return e.exitCode;
      }
    },
  };
}

/** xl's tables of the pools the policy runs (all pools without one), or of one domain (-d). */
async function showTables(call: GatewayCall, sim: string, choice: TableChoice = {}): Promise<string> {
  const [params, list] = await Promise.all([
    call<{ sim: string }, SchedParams>('getSchedParams', { sim }),
    call<{ sim: string }, DomainList>('listDomains', { sim }),
  ]);
  if (choice.domain !== undefined) {
    const d = list.domains.find((x) => x.vm === choice.domain);
    if (!d) throw new CallError(`no VM ${choice.domain} in this simulation`, EXIT.failure);
    if (choice.policy !== undefined && d.scheduler !== choice.policy)
      throw new CallError(`${d.vm} is scheduled by ${d.scheduler}, not ${choice.policy}`, EXIT.failure);
  }
  const text = schedTables(params, list, choice);
  if (text === '' && choice.policy !== undefined) throw new CallError(`no cpupool of this simulation runs ${choice.policy}`, EXIT.failure);
  return text;
}

// xl sched-credit: -d DOMAIN -w WEIGHT -c CAP (percent of one pCPU); -s -t TSLICE (ms) -r RATELIMIT (µs).
const WEIGHT = {
  type: 'integer',
  short: 'w',
  min: 1,
  max: 65535,
  valueName: 'WEIGHT',
  description: 'relative weight (1-65535, default 256)',
} as const;
const CAP = { type: 'integer', short: 'c', min: 0, valueName: 'CAP', description: 'cap in % of one pCPU (0: none)' } as const;
const RATELIMIT = { type: 'integer', short: 'r', min: 0, valueName: 'US', description: 'scheduler-wide rate limit in µs (0: off; with -s)' } as const;
const SCHEDPARAM = { type: 'boolean', short: 's', description: "scheduler-wide parameters instead of a VM's" } as const;

export const schedCreditCommand = xlCommand({
  name: 'sched-credit',
  policy: 'credit',
  summary: 'Show or set Credit scheduler parameters',
  options: {
    weight: WEIGHT,
    cap: CAP,
    schedparam: SCHEDPARAM,
    tslice_ms: { type: 'integer', short: 't', min: 1, valueName: 'MS', description: 'scheduler-wide time slice in ms (with -s)' },
    ratelimit_us: RATELIMIT,
  },
  schedparam: 'schedparam',
  params: [
    { option: 'weight', key: 'weight', scale: 1, scope: 'vm' },
    { option: 'cap', key: 'cap', scale: 1, scope: 'vm' },
    { option: 'tslice_ms', key: 'tslice', scale: NS_PER_MS, scope: 'scheduler' },
    { option: 'ratelimit_us', key: 'ratelimit', scale: NS_PER_US, scope: 'scheduler' },
  ],
  example: 'vsim sched-credit --nats nats://127.0.0.1:4222 --sim $SIM -d web -w 512 -c 50',
});

export const schedCredit2Command = xlCommand({
  name: 'sched-credit2',
  policy: 'credit2',
  summary: 'Show or set Credit2 scheduler parameters',
  options: { weight: WEIGHT, cap: CAP, schedparam: SCHEDPARAM, ratelimit_us: RATELIMIT },
  schedparam: 'schedparam',
  params: [
    { option: 'weight', key: 'weight', scale: 1, scope: 'vm' },
    { option: 'cap', key: 'cap', scale: 1, scope: 'vm' },
    { option: 'ratelimit_us', key: 'ratelimit', scale: NS_PER_US, scope: 'scheduler' },
  ],
  example: 'vsim sched-credit2 --nats nats://127.0.0.1:4222 --sim $SIM -d web -w 512',
});

// xl sched-sedf (Xen <= 4.5): -p PERIOD and -s SLICE in ms, -e EXTRA 0|1.
export const schedSedfCommand = xlCommand({
  name: 'sched-sedf',
  policy: 'sedf',
  summary: 'Show or set SEDF scheduler parameters',
  options: {
    period: { type: 'integer', short: 'p', min: 1, valueName: 'MS', description: 'period in ms' },
    slice: { type: 'integer', short: 's', min: 1, valueName: 'MS', description: 'slice guaranteed per period, in ms' },
    extratime: { type: 'integer', short: 'e', min: 0, max: 1, valueName: '0|1', description: 'may run in slack time' },
  },
  params: [
    { option: 'period', key: 'period', scale: NS_PER_MS, scope: 'vm' },
    { option: 'slice', key: 'slice', scale: NS_PER_MS, scope: 'vm' },
    { option: 'extratime', key: 'extra', scale: 1, scope: 'vm', boolean: true },
  ],
  example: 'vsim sched-sedf --nats nats://127.0.0.1:4222 --sim $SIM -d rt -p 20 -s 5 -e 0',
});

// xl sched-rtds: -p PERIOD and -b BUDGET in µs, -e EXTRATIME 0|1.
export const schedRtdsCommand = xlCommand({
  name: 'sched-rtds',
  policy: 'rtds',
  summary: 'Show or set RTDS scheduler parameters',
  options: {
    period: { type: 'integer', short: 'p', min: 1, valueName: 'US', description: 'period in µs' },
    budget: { type: 'integer', short: 'b', min: 1, valueName: 'US', description: 'budget per period in µs' },
    extratime: { type: 'integer', short: 'e', min: 0, max: 1, valueName: '0|1', description: 'may run beyond its budget when a pCPU is idle' },
  },
  params: [
    { option: 'period', key: 'period', scale: NS_PER_US, scope: 'vm' },
    { option: 'budget', key: 'budget', scale: NS_PER_US, scope: 'vm' },
    { option: 'extratime', key: 'extratime', scale: 1, scope: 'vm', boolean: true },
  ],
  example: 'vsim sched-rtds --nats nats://127.0.0.1:4222 --sim $SIM -d rt -p 10000 -b 4000',
});

const SCHED_OPTIONS = {
  ...WHERE,
  policy: { type: 'string', valueName: 'POLICY', description: 'swap: the new policy (round-robin, credit, credit2, sedf, rtds)' },
  params: { type: 'string', valueName: 'JSON', description: "swap: the new policy's scheduler-wide parameters, a JSON object (ns)" },
  service: {
    type: 'string',
    valueName: 'INSTANCE',
    description: 'swap: hand the simulation to this other scheduler service (its registered instance name)',
  },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const;

const SCHED_HELP = `Usage: vsim sched swap --sim ID (--nats URL | --gateway HOST:PORT) --policy POLICY [--params JSON]
       vsim sched show --sim ID (--nats URL | --gateway HOST:PORT)

swap: hot-swaps the scheduler of a running simulation: at its next scheduling
decision each host hands its run queues over to a new policy (every live vCPU
joins it, blocked and paused ones asleep), so no vCPU is lost or duplicated;
the event log records a swap-scheduler event with where the new policy holds
each vCPU. With --service, the simulation moves to another scheduler service
(another process, e.g. examples/external-scheduler): the current one stops its
loops at their next boundary and hands their state over; the other continues
them under --policy (docs/scheduler-protocol.md §8).
show: prints, for every cpupool, xl's table of its scheduler (as the sched-*
commands print theirs): the pool's parameters in xl's units, a row per domain.

Options:
${formatOptions(SCHED_OPTIONS)}

Exit status: 0 done; 1 refused (the line says why); 2 usage error; 69 no gateway reachable.

Example:
  vsim sched swap --nats nats://127.0.0.1:4222 --sim $SIM --policy credit --params '{"tslice":10000000}'
  vsim sched swap --nats nats://127.0.0.1:4222 --sim $SIM --policy round-robin --service fifo-1
`;

export const schedCommand: Command = {
  name: 'sched',
  summary: 'Hot-swap the scheduler of a running simulation, or show its parameters',
  help: SCHED_HELP,
  run: async (argv, io) => {
    const command = 'vsim sched';
    const { options: o, positionals } = parseArgs(argv, SCHED_OPTIONS, { command });
    if (o.help) {
      io.stdout.write(SCHED_HELP);
      return EXIT.ok;
    }
    const [verb, ...rest] = positionals;
    if (verb !== 'swap' && verb !== 'show')
      throw usageError(command, verb === undefined ? 'expected swap or show' : `unknown subcommand '${verb}' (swap, show)`);
    if (rest.length > 0) throw usageError(command, `unexpected argument '${rest[0]}'`);
    if (o.sim === undefined) throw usageError(command, '--sim ID is required');
    let params = '{}';
    if (verb === 'swap') {
      if (o.policy === undefined) throw usageError(command, 'swap needs --policy POLICY');
      if (o.params !== undefined) {
        let v: unknown;
        try {
          v = JSON.parse(o.params);
        } catch (e) {
          throw usageError(command, `--params is not JSON: ${(e as Error).message}`);
        }
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw usageError(command, '--params must be a JSON object');
        params = o.params;
      }
    }
    try {
      return await withGateway(command, o, async (call) => {
        if (verb === 'swap') {
          await call('swapScheduler', { sim: o.sim, policy: o.policy, paramsJson: params, service: o.service ?? '' });
          return EXIT.ok;
        }
        io.stdout.write(await showTables(call, o.sim!));
        return EXIT.ok;
      });
    } catch (e) {
      if (!(e instanceof CallError)) throw e;
      io.stderr.write(`vsim: sched: ${e.message}\n`);
      return e.exitCode;
    }
  },
};
