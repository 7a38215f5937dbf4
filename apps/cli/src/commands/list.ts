/**
 * `vsim list`: the caller's simulations on a cluster, with their state and the virtual time they
 * reached; `vsim list --sim ID`: that simulation's domains (VMs) in `xl list`'s layout.
 *
 *   vsim list (--nats URL | --gateway HOST:PORT)
 *   vsim list --sim ID (--nats URL | --gateway HOST:PORT) [-c] [DOMAIN...]
 */

import { DomainInfo, DomainList, SimulationList } from '@vsim/proto';
import { formatOptions, parseArgs, usageError } from '../args';
import { Command, EXIT } from '../command';
import { CallError, GATEWAY_OPTIONS, withGateway } from '../gateway-call';
import { col, findDomain, poolName, seconds } from '../xl/format';

const OPTIONS = {
  sim: { type: 'string', valueName: 'ID', description: "list this simulation's domains (VMs), as xl list does" },
  cpupool: { type: 'boolean', short: 'c', description: "with --sim: add each domain's cpupool (xl list -c)" },
  ...GATEWAY_OPTIONS,
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const;

const HELP = `Usage: vsim list (--nats URL | --gateway HOST:PORT)
       vsim list --sim ID (--nats URL | --gateway HOST:PORT) [-c] [DOMAIN...]

Without --sim: the simulations you submitted to the cluster's gateway (oldest
first), each with its state (created, queued, running, paused, done, failed)
and the virtual time it reached out of its duration. The Simulation column is
the id every sched-*, vcpu-* and cpupool-* command takes as --sim.

With --sim: the simulation's domains as xl list shows a Xen host's: Name, ID
(the VM's position in the scenario, from 1), Mem (MiB), VCPUs, State
(r running, b blocked, p paused, s shut down, then why: - halted, c faulted)
and Time(s), the virtual CPU time it used (three decimals, where xl has one).

Options:
${formatOptions(OPTIONS)}

Exit status: 0 done; 1 refused by the gateway (the line says why); 2 usage error;
69 no gateway reachable.

Examples:
  vsim list --nats nats://127.0.0.1:4222 --credentials ~/.vsim/up/client.json
  vsim list --nats nats://127.0.0.1:4222 --sim $SIM -c
`;

export const listCommand: Command = {
  name: 'list',
  summary: "list the simulations on a cluster, or one simulation's domains (xl list)",
  help: HELP,
  run: async (argv, io) => {
    const command = 'vsim list';
    const { options: o, positionals } = parseArgs(argv, OPTIONS, { command });
    if (o.help) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    if (o.sim === undefined && (positionals.length > 0 || o.cpupool))
      throw usageError(command, `${o.cpupool ? '-c' : `'${positionals[0]}'`} lists domains: give --sim ID`);
    try {
      return await withGateway(command, o, async (call) => {
        if (o.sim === undefined) {
          const list = await call<object, SimulationList>('listSimulations', {});
          io.stdout.write(simulationsTable(list));
          return EXIT.ok;
        }
        const list = await call<{ sim: string }, DomainList>('listDomains', { sim: o.sim });
        const only = positionals.map((p) => findDomain(list, p));
        io.stdout.write(domainsTable(list, only.length > 0 ? only : list.domains, o.cpupool));
        return EXIT.ok;
      });
    } catch (e) {
      if (!(e instanceof CallError)) throw e;
      io.stderr.write(`vsim: list: ${e.message}\n`);
      return e.exitCode;
    }
  },
};

function simulationsTable(list: SimulationList): string {
  const ms = (ns: number) => (ns / 1e6).toFixed(3);
  const lines = [
    `${col('Simulation', 31, 'left')}${col('Name', 21, 'left')}${col('State', 8, 'left')}${col('Virtual(ms)', 13)}${col('Duration(ms)', 14)}${col('Hosts', 7)}${col('VMs', 5)}`,
  ];
  for (const s of list.simulations) {
    lines.push(
      `${col(s.sim, 30, 'left')} ${col(s.name, 20, 'left')} ${col(s.state, 7, 'left')}${col(ms(s.virtualNs), 13)}${col(ms(s.durationNs), 14)}${col(s.hosts, 7)}${col(s.vms, 5)}` +
        (s.state === 'failed' && s.error ? `  ${s.error}` : ''),
    );
  }
  return lines.join('\n') + '\n';
}

/** xl's list_domains: "%-40s %5d %5lu %5d     %c%c%c%c%c%c  %8.1f" under its header line. */
function domainsTable(list: DomainList, domains: readonly DomainInfo[], cpupool: boolean): string {
  const lines = [`Name                                        ID   Mem VCPUs\tState\tTime(s)${cpupool ? '         Cpupool' : ''}`];
  for (const d of domains) {
    const online = d.vcpus.filter((v) => v.online);
    const state = [
      online.some((v) => v.running) ? 'r' : '-',
      online.length > 0 && online.every((v) => v.blocked) ? 'b' : '-',
      d.paused ? 'p' : '-',
      d.shutdown ? 's' : '-',
      d.shutdown === 'faulted' ? 'c' : '-', // xl's shutdown reason letter: '-' poweroff, 'c' crash
      '-',
    ].join('');
    const cpuNs = d.vcpus.reduce((n, v) => n + v.cpuNs, 0);
    const row = `${col(d.vm, 40, 'left')} ${col(d.id, 5)} ${col(Math.floor(d.memoryBytes / 2 ** 20), 5)} ${col(d.vcpus.length, 5)}     ${state}  ${seconds(cpuNs, 8)}`;
    lines.push(cpupool ? row + col(poolName(d, list), 16) : row);
  }
  return lines.join('\n') + '\n';
}
