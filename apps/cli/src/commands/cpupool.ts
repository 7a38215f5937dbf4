/**
 * `xl cpupool-list` and `xl cpupool-migrate` on a simulation running on a cluster:
 *
 *   vsim cpupool-list    --sim ID (--nats URL | --gateway HOST:PORT) [-c] [POOL]
 *   vsim cpupool-migrate --sim ID (--nats URL | --gateway HOST:PORT) DOMAIN POOL
 *
 * A simulation's cpupools are its hosts' (`hosts[].pools` of the scenario, the rest of a host's
 * pCPUs being the pool `default`, Xen's Pool-0). cpupool-migrate moves a domain to another pool of
 * its host through the gateway: the scheduler moves its vCPUs at the host's next decision.
 */

import { DomainList, SetSchedParamsRequest } from '@vsim/proto';
import { vmSchedMessage } from '@vsim/control';
import { formatOptions, parseArgs, usageError } from '../args';
import { Command, EXIT } from '../command';
import { CallError, GATEWAY_OPTIONS, reportingCallErrors, withGateway } from '../gateway-call';
import { col, findDomain, poolName } from '../xl/format';

const LIST_OPTIONS = {
  sim: { type: 'string', valueName: 'ID', description: 'the simulation (the id vsim run --nats and vsim list print)' },
  cpus: { type: 'boolean', short: 'c', description: "list each pool's pCPUs instead of its counts (xl cpupool-list -c)" },
  ...GATEWAY_OPTIONS,
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const;

const MIGRATE_OPTIONS = {
  sim: LIST_OPTIONS.sim,
  ...GATEWAY_OPTIONS,
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const;

const NAMES = `A pool is named as the scenario names it (default: the pCPUs no pool claims);
in a simulation of several hosts, HOST/POOL.`;

const LIST_HELP = `Usage: vsim cpupool-list --sim ID (--nats URL | --gateway HOST:PORT) [-c] [POOL]

Lists the simulation's cpupools (all, or POOL) as xl cpupool-list does: Name,
CPUs, Sched (the policy of the pool), Active and Domain count (its live
domains); with -c, Name and CPU list. ${NAMES}

Options:
${formatOptions(LIST_OPTIONS)}

Exit status: 0 done; 1 refused by the gateway or no such pool; 2 usage error;
69 no gateway reachable.

Example:
  vsim cpupool-list --nats nats://127.0.0.1:4222 --sim $SIM -c
`;

const MIGRATE_HELP = `Usage: vsim cpupool-migrate --sim ID (--nats URL | --gateway HOST:PORT) DOMAIN POOL

Moves a running simulation's domain (by name or ID) to another cpupool of its
host, as xl cpupool-migrate does: its vCPUs leave the old pool's scheduler and
join the new one's at the host's next scheduling decision (asleep if they were),
with the new pool's default parameters for what the domain did not set. A hard
affinity with no pCPU in the new pool is reset to the whole pool (the event log
records sched.affinity_broken). ${NAMES}

Options:
${formatOptions(MIGRATE_OPTIONS)}

Exit status: 0 done; 1 refused (unknown domain or pool, or the scheduler said
why); 2 usage error; 69 no gateway reachable.

Example:
  vsim cpupool-migrate --nats nats://127.0.0.1:4222 --sim $SIM compute rt
`;

/** xl's main_cpupoollist: "%-19s" names, then "%3d %9s       y       %4d" or the CPU list. */
function poolTable(list: DomainList, only: string | undefined, cpus: boolean): string {
  const pools = list.pools.filter((p) => only === undefined || poolName(p, list) === only);
  if (only !== undefined && pools.length === 0) throw new CallError(`Pool '${only}' does not exist`, EXIT.failure);
  const lines = [col('Name', 19, 'left') + (cpus ? 'CPU list' : 'CPUs   Sched     Active   Domain count')];
  for (const p of pools) {
    const domains = list.domains.filter((d) => d.host === p.host && d.pool === p.pool && d.shutdown === '').length;
    lines.push(
      col(poolName(p, list), 19, 'left') +
        (cpus ? p.pcpus.join(',') : `${col(p.pcpus.length, 3)} ${col(p.scheduler, 9)}       y       ${col(domains, 4)}`),
    );
  }
  return lines.join('\n') + '\n';
}

export const cpupoolListCommand: Command = {
  name: 'cpupool-list',
  summary: 'list the cpupools of a running simulation (xl cpupool-list)',
  help: LIST_HELP,
  run: async (argv, io) => {
    const command = 'vsim cpupool-list';
    const { options: o, positionals } = parseArgs(argv, LIST_OPTIONS, { command });
    if (o.help) {
      io.stdout.write(LIST_HELP);
      return EXIT.ok;
    }
    if (o.sim === undefined) throw usageError(command, '--sim ID is required');
    if (positionals.length > 1) throw usageError(command, `unexpected argument '${positionals[1]}' (one POOL at most)`);
    return reportingCallErrors('cpupool-list', io.stderr, () =>
      withGateway(command, o, async (call) => {
        const list = await call<{ sim: string }, DomainList>('listDomains', { sim: o.sim! });
        io.stdout.write(poolTable(list, positionals[0], o.cpus));
        return EXIT.ok;
      }),
    );
  },
};

export const cpupoolMigrateCommand: Command = {
  name: 'cpupool-migrate',
  summary: 'move a domain of a running simulation to another cpupool (xl cpupool-migrate)',
  help: MIGRATE_HELP,
  run: async (argv, io) => {
    const command = 'vsim cpupool-migrate';
    const { options: o, positionals } = parseArgs(argv, MIGRATE_OPTIONS, { command });
    if (o.help) {
      io.stdout.write(MIGRATE_HELP);
      return EXIT.ok;
    }
    if (o.sim === undefined) throw usageError(command, '--sim ID is required');
    if (positionals.length !== 2)
      throw usageError(command, `expected DOMAIN POOL, got ${positionals.length} argument${positionals.length === 1 ? '' : 's'}`);
    const [domain, poolArg] = positionals;
    return reportingCallErrors('cpupool-migrate', io.stderr, () =>
      withGateway(command, o, async (call) => {
        const list = await call<{ sim: string }, DomainList>('listDomains', { sim: o.sim! });
        const d = findDomain(list, domain);
        const target = list.pools.find((p) => p.host === d.host && (poolName(p, list) === poolArg || p.pool === poolArg));
        if (!target) {
          const there = list.pools.filter((p) => p.host === d.host).map((p) => poolName(p, list));
          throw new CallError(`unknown cpupool '${poolArg}' on ${d.vm}'s host ${d.host} (its pools: ${there.join(', ')})`, EXIT.failure);
        }
        if (d.shutdown !== '') throw new CallError(`${d.vm} has ${d.shutdown}: it is in no pool any more`, EXIT.failure);
        if (target.pool === d.pool) return EXIT.ok; // already there, as Xen's cpupool_move_domain
        await call('setSchedParams', {
          sim: o.sim!,
          vm: d.vm,
          policy: '',
          vmParams: vmSchedMessage({ pool: target.pool }),
          scheduler: undefined,
        } satisfies SetSchedParamsRequest);
        return EXIT.ok;
      }),
    );
  },
};
