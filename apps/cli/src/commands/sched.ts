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

import { DomainList, SchedParams, SchedulerParams, SetSchedParamsRequest, SwapSchedulerRequest } from '@vsim/proto';
import { schedulerMessage, schedulerUpdateMessage, vmSchedMessage } from '@vsim/control';
import { OptionSpecs, formatOptions, parseArgs, usageError } from '../args';
import { Command, EXIT } from '../command';
import { CallError, GATEWAY_OPTIONS, GatewayCall, withGateway } from '../gateway-call';
import { TableChoice, schedTables } from '../xl/sched-tables';
import { Io } from '../io';
import {
  POLICIES,
  POLICY_DESCRIPTORS,
  VM_SCHED_PARAMS,
  checkPolicyParams,
  describeRange,
  paramProblem,
  policyDescriptor,
  unknownPolicy,
} from '@vsim/vocabulary';
import type { ParamSpec, PolicyDescriptor, VmSchedKey, XlCommand, XlFlag } from '@vsim/vocabulary';

const NS_PER_US = 1_000;
const NS_PER_MS = 1_000_000;

const WHERE = {
  sim: { type: 'string', valueName: 'ID', description: 'the simulation (the id the gateway gave it, e.g. sim-01JD3W7Q9YXK4M2T8N5R6B1C0A)' },
  ...GATEWAY_OPTIONS,
} as const;

/** Nanoseconds per unit xl takes a time in. */
const NS_PER: Readonly<Record<NonNullable<XlFlag['unit']>, number>> = { ms: NS_PER_MS, us: NS_PER_US };

/** The schema entry of an `xl` flag's parameter (the policy's scheduler-wide ones, or the per-VM ones). */
function specOf(d: PolicyDescriptor, f: XlFlag): ParamSpec {
  return f.scope === 'vm' ? VM_SCHED_PARAMS[f.key as VmSchedKey] : d.params[f.key]!;
}

/** The command-line option of an `xl` flag: an integer in xl's unit (0|1 for a boolean). */
function optionOf(f: XlFlag, spec: ParamSpec) {
  return spec.type === 'bool'
    ? ({ type: 'integer', short: f.short, min: 0, max: 1, valueName: '0|1', description: f.description } as const)
    : ({
        type: 'integer',
        short: f.short,
        min: 0,
        valueName: f.unit === undefined ? f.key.toUpperCase() : f.unit.toUpperCase(),
        description: f.description,
      } as const);
}

/**
 * An option's value as the policy takes it (ns, boolean), checked against the registry's schema as
 * the scenario validator checks it; a problem is worded in the unit the user typed (`-t 5000`:
 * "tslice must be 1–1000 ms, got 5000 ms").
 */
function valueOf(command: string, f: XlFlag, spec: ParamSpec, v: number): number | boolean {
  if (spec.type === 'bool') return v !== 0;
  const scale = f.unit === undefined ? 1 : NS_PER[f.unit];
  const problem = paramProblem(spec, v * scale);
  if (problem === undefined) return v * scale;
  const unit = f.unit === undefined ? '' : ` ${f.unit}`;
  let range = describeRange(spec);
  if (spec.type === 'time') {
    const lo = spec.min === 1 ? '> 0' : `${Math.ceil(spec.min / scale)}`;
    range = spec.max === undefined ? (spec.min === 1 ? lo : `≥ ${lo}`) : `${lo}–${Math.floor(spec.max / scale)}`;
    if (spec.zeroTurnsOff) range = `0 or ${range}`;
  }
  throw usageError(command, `-${f.short} ${v}: ${f.key} must be ${range}${unit}, got ${v}${unit}`);
}

/** `vsim sched-credit`, `sched-credit2`, `sched-sedf`, `sched-rtds`: one per policy of the registry that has an `xl` command. */
function xlCommand(d: PolicyDescriptor & { readonly xl: XlCommand }): Command {
  const xl = d.xl;
  const wide = xl.flags.some((f) => f.scope === 'scheduler');
  const own = Object.fromEntries(xl.flags.map((f) => [f.option, optionOf(f, specOf(d, f))]));
  const options = {
    ...WHERE,
    domain: { type: 'string', short: 'd', valueName: 'VM', description: 'the VM (xl: domain) whose parameters to show or set' },
    ...own,
    ...(wide ? { schedparam: SCHEDPARAM } : {}),
    help: { type: 'boolean', short: 'h', description: 'show this help' },
  } as OptionSpecs;
  const command = `vsim ${xl.command}`;
  const help = `Usage: ${command} --sim ID (--nats URL | --gateway HOST:PORT) [OPTIONS]

${xl.summary}, as xl ${xl.command} does on Xen: with -d VM and values,
sets that VM's parameters${wide ? `; with -${SCHEDPARAM.short} and values, the scheduler-wide ones` : ''};
without values, prints the current ones. Values are checked as the scenario format checks them
(docs: libs/scenario/README.md). Changes take effect at each host's next scheduling decision
(the virtual time the host has reached when the call arrives).

Options:
${formatOptions(options)}

Exit status: 0 done; 1 refused by the gateway or the scheduler (the line says why);
2 usage error; 69 no gateway reachable.

Example:
  ${xl.example}
`;
  return {
    name: xl.command,
    summary: `${xl.summary} of a running simulation (xl ${xl.command})`,
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
      const sched = opts.schedparam === true;
      const vm = opts.domain as string | undefined;
      if (sched && vm !== undefined) throw usageError(command, `-d and -${SCHEDPARAM.short} are exclusive (as in xl)`);
      const values: Record<string, number | boolean> = {};
      for (const f of xl.flags) {
        const v = opts[f.option];
        if (v === undefined) continue;
        if (f.scope === 'scheduler' && !sched)
          throw usageError(command, `-${f.short} (--${f.option}) needs -${SCHEDPARAM.short}: it is a scheduler-wide parameter`);
        if (f.scope === 'vm' && vm === undefined) throw usageError(command, `-${f.short} (--${f.option}) needs -d VM: which VM's ${f.key} to set`);
        values[f.key] = valueOf(command, f, specOf(d, f), v as number);
      }
      try {
        return await withGateway(command, opts as { nats?: string; gateway?: string; credentials?: string; 'token-file'?: string }, async (call) => {
          if (Object.keys(values).length > 0) {
            const typed =
              vm === undefined
                ? { scheduler: schedulerUpdateMessage(values, d.name), vmParams: undefined }
                : { vmParams: vmSchedMessage(values), scheduler: undefined };
            await call('setSchedParams', { sim: opts.sim as string, vm: vm ?? '', policy: d.name, ...typed } satisfies SetSchedParamsRequest);
            return EXIT.ok;
          }
          io.stdout.write(await showTables(call, opts.sim as string, { policy: d.name, domain: vm, poolsOnly: sched }));
          return EXIT.ok;
        });
      } catch (e) {
        if (!(e instanceof CallError)) throw e;
        io.stderr.write(`vsim: ${xl.command}: ${e.message}\n`);
        return e.exitCode;
      }
    },
  };
}

/**
 * xl's tables (xl/sched-tables.ts) of the pools the policy runs (every pool without one), or of
 * one domain (-d); a VM that another policy schedules is refused, naming the command that shows it.
 */
async function showTables(call: GatewayCall, sim: string, choice: TableChoice = {}): Promise<string> {
  const [params, list] = await Promise.all([
    call<{ sim: string }, SchedParams>('getSchedParams', { sim }),
    call<{ sim: string }, DomainList>('listDomains', { sim }),
  ]);
  if (choice.domain !== undefined) {
    const d = list.domains.find((x) => x.vm === choice.domain);
    if (!d) throw new CallError(`no VM ${choice.domain} in this simulation`, EXIT.failure);
    if (choice.policy !== undefined && d.scheduler !== choice.policy) {
      const xl = policyDescriptor(d.scheduler)?.xl;
      throw new CallError(`VM ${d.vm} is scheduled by ${d.scheduler}, not ${choice.policy}${xl ? ` (see vsim ${xl.command})` : ''}`, EXIT.failure);
    }
  }
  const text = schedTables(params, list, choice);
  if (text === '' && choice.policy !== undefined) throw new CallError(`no cpupool of this simulation runs ${choice.policy}`, EXIT.failure);
  return text;
}

const SCHEDPARAM = { type: 'boolean', short: 's', description: "scheduler-wide parameters instead of a VM's" } as const;

/** The `xl sched-*` verbs, one per registered policy with an `xl` command (round-robin has none). */
export const XL_SCHED_COMMANDS: readonly Command[] = POLICY_DESCRIPTORS.filter(
  (d): d is (typeof POLICY_DESCRIPTORS)[number] & { xl: XlCommand } => 'xl' in d,
).map((d) => xlCommand(d));

const SCHED_OPTIONS = {
  ...WHERE,
  policy: { type: 'string', valueName: 'POLICY', description: `swap: the new policy (${POLICIES.join(', ')})` },
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
    let scheduler: SchedulerParams | undefined;
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
      // Checked against the registry's schema before the call, as the scenario validator checks a swapScheduler action.
      const d = policyDescriptor(o.policy);
      if (d === undefined) throw usageError(command, `--policy: ${unknownPolicy(o.policy)}`);
      const problems = checkPolicyParams(d, JSON.parse(params) as Record<string, unknown>);
      if (problems.length > 0) throw usageError(command, `--params: ${problems.map((p) => p.message).join('; ')}`);
      scheduler = schedulerMessage({ policy: o.policy, params: JSON.parse(params) as Record<string, unknown> }, '--params');
    }
    try {
      return await withGateway(command, o, async (call) => {
        if (verb === 'swap') {
          await call('swapScheduler', { sim: o.sim!, scheduler, service: o.service ?? '' } satisfies SwapSchedulerRequest);
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
