/**
 * `xl vcpu-list` and `xl vcpu-pin` on a simulation running on a cluster:
 *
 *   vsim vcpu-list --sim ID (--nats URL | --gateway HOST:PORT) [DOMAIN...]
 *   vsim vcpu-pin  --sim ID (--nats URL | --gateway HOST:PORT) DOMAIN VCPU|all HARD|- [SOFT|-]
 *
 * vcpu-pin sets the hard affinity (`sched.pin` of the scenario) through the gateway: the scheduler
 * applies it at the host's next decision and migrates a vCPU off a pCPU it may no longer use.
 */

import { DomainInfo, DomainList, SetSchedParamsRequest } from '@vsim/proto';
import { vmSchedMessage } from '@vsim/control';
import { formatOptions, parseArgs, usageError } from '../args';
import { Command, EXIT } from '../command';
import { CallError, GATEWAY_OPTIONS, reportingCallErrors, withGateway } from '../gateway-call';
import { col, cpuSet, findDomain, hostPcpus, parseCpuList, poolName, poolOf, seconds } from '../xl/format';

const OPTIONS = {
  sim: { type: 'string', valueName: 'ID', description: 'the simulation (the id vsim run --nats and vsim list print)' },
  ...GATEWAY_OPTIONS,
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const;

const LIST_HELP = `Usage: vsim vcpu-list --sim ID (--nats URL | --gateway HOST:PORT) [DOMAIN...]

Lists the vCPUs of the simulation's domains (all, or the ones named, by name
or ID) as xl vcpu-list does: Name, ID, VCPU, CPU (the pCPU it runs on or last
ran on; - before it first ran or once it is offline), State (r running,
b blocked, p offline: its VM halted or faulted), Time(s) (virtual CPU time,
three decimals where xl has one) and Affinity (Hard / Soft) as xl prints CPU
sets (all, 0-1,3). vsim models no soft affinity: it is always all.

Options:
${formatOptions(OPTIONS)}

Exit status: 0 done; 1 refused by the gateway (the line says why); 2 usage error;
69 no gateway reachable.

Example:
  vsim vcpu-list --nats nats://127.0.0.1:4222 --sim $SIM web
`;

const PIN_HELP = `Usage: vsim vcpu-pin --sim ID (--nats URL | --gateway HOST:PORT) DOMAIN VCPU|all HARD|- [SOFT|-]

Sets the hard affinity of one vCPU (or all of them) of a running simulation's
domain, as xl vcpu-pin does: HARD is a CPU list of the domain's host, in xl's
syntax (all, 3, 0-3, 0-3,^1); - leaves it as it is. A vCPU running on a pCPU
it may no longer use moves at its host's next scheduling decision; a pin with
no pCPU in the domain's cpupool is refused. vsim models no soft affinity: SOFT
may only be - or absent.

Options:
${formatOptions(OPTIONS)}

Exit status: 0 done; 1 refused (the line says why); 2 usage error; 69 no gateway reachable.

Example:
  vsim vcpu-pin --nats nats://127.0.0.1:4222 --sim $SIM batch all 0-1
`;

/** xl's print_vcpuinfo, one line per vCPU, under vcpulist's header. */
function vcpuTable(list: DomainList, domains: readonly DomainInfo[]): string {
  const lines = [
    `${col('Name', 32, 'left')} ${col('ID', 5)} ${col('VCPU', 5)} ${col('CPU', 5)} ${col('State', 5)} ${col('Time(s)', 9)} Affinity (Hard / Soft)`,
  ];
  for (const d of domains) {
    const n = hostPcpus(d.host, list);
    for (const v of d.vcpus) {
      const where = v.online
        ? `${col(v.pcpu < 0 ? '-' : v.pcpu, 5)} ${col(v.running ? 'r' : '-', 3)}${v.blocked ? 'b' : '-'}- `
        : `${col('-', 5)} ${col('-', 3)}-p `;
      lines.push(`${col(d.vm, 32, 'left')} ${col(d.id, 5)} ${col(v.vcpu, 5)}${where}${seconds(v.cpuNs, 9)}  ${cpuSet(v.affinity, n)} / all`);
    }
  }
  return lines.join('\n') + '\n';
}

function parsed(argv: readonly string[], command: string) {
  const { options: o, positionals } = parseArgs(argv, OPTIONS, { command });
  if (!o.help && o.sim === undefined) throw usageError(command, '--sim ID is required');
  return { o, positionals };
}

export const vcpuListCommand: Command = {
  name: 'vcpu-list',
  summary: 'list the vCPUs of a running simulation: pCPU, state, time, affinity (xl vcpu-list)',
  help: LIST_HELP,
  run: async (argv, io) => {
    const { o, positionals } = parsed(argv, 'vsim vcpu-list');
    if (o.help) {
      io.stdout.write(LIST_HELP);
      return EXIT.ok;
    }
    return reportingCallErrors('vcpu-list', io.stderr, () =>
      withGateway('vsim vcpu-list', o, async (call) => {
        const list = await call<{ sim: string }, DomainList>('listDomains', { sim: o.sim! });
        const only = positionals.map((p) => findDomain(list, p));
        io.stdout.write(vcpuTable(list, only.length > 0 ? only : list.domains));
        return EXIT.ok;
      }),
    );
  },
};

export const vcpuPinCommand: Command = {
  name: 'vcpu-pin',
  summary: 'set the hard affinity of vCPUs of a running simulation (xl vcpu-pin)',
  help: PIN_HELP,
  run: async (argv, io) => {
    const command = 'vsim vcpu-pin';
    const { o, positionals } = parsed(argv, command);
    if (o.help) {
      io.stdout.write(PIN_HELP);
      return EXIT.ok;
    }
    if (positionals.length < 3 || positionals.length > 4)
      throw usageError(command, `expected DOMAIN VCPU|all HARD|- [SOFT|-], got ${positionals.length} argument${positionals.length === 1 ? '' : 's'}`);
    const [domain, vcpuArg, hardArg, softArg] = positionals;
    if (vcpuArg !== 'all' && !/^\d+$/.test(vcpuArg)) throw usageError(command, `invalid argument ${vcpuArg} as VCPU (a vCPU number or all)`);
    if (softArg !== undefined && softArg !== '-')
      throw usageError(command, `soft affinity '${softArg}': vsim models hard affinity only (give - or nothing)`);
    if (hardArg === '-') return EXIT.ok; // xl: '-' leaves the hard affinity alone, and there is no soft one to set
    return reportingCallErrors('vcpu-pin', io.stderr, () =>
      withGateway(command, o, async (call) => {
        const list = await call<{ sim: string }, DomainList>('listDomains', { sim: o.sim! });
        const d = findDomain(list, domain);
        if (vcpuArg !== 'all' && Number(vcpuArg) >= d.vcpus.length)
          throw new CallError(
            `${d.vm} has ${d.vcpus.length} vCPU${d.vcpus.length === 1 ? '' : 's'} (0-${d.vcpus.length - 1}), not ${vcpuArg}`,
            EXIT.failure,
          );
        const n = hostPcpus(d.host, list);
        let hard: number[];
        try {
          hard = parseCpuList(hardArg, n);
        } catch (e) {
          throw new CallError(`HARD: ${(e as Error).message}`, EXIT.usage);
        }
        const pool = poolOf(d, list);
        const poolCpus = pool?.pcpus ?? [];
        if (!hard.some((c) => poolCpus.includes(c)))
          throw new CallError(
            `could not set affinity: ${cpuSet(hard, n)} has no pCPU of ${d.vm}'s cpupool ${pool ? poolName(pool, list) : d.pool} (${cpuSet(poolCpus, n)})`,
            EXIT.failure,
          );
        // The scheduler takes one pCPU list per vCPU: the others keep theirs (no pin: its whole pool).
        const pin = d.vcpus.map((v) => (vcpuArg === 'all' || v.vcpu === Number(vcpuArg) ? hard : v.affinity.length > 0 ? v.affinity : poolCpus));
        await call('setSchedParams', {
          sim: o.sim!,
          vm: d.vm,
          policy: '',
          vmParams: vmSchedMessage({ pin }),
          scheduler: undefined,
        } satisfies SetSchedParamsRequest);
        return EXIT.ok;
      }),
    );
  },
};
