/**
 * `xl migrate` on a simulation running on a cluster:
 *
 *   vsim migrate --sim ID (--nats URL | --gateway HOST:PORT) [--stop-pages N] [--max-rounds N] DOMAIN HOST
 *
 * Live migration by pre-copy (libs/scheduler/src/migration.ts): the domain's memory is copied to
 * HOST in rounds while it runs, then it stops, its last dirty pages and vCPU state cross, and it
 * resumes there with the same scheduling parameters. The link is the scenario's `network:`.
 */

import { DomainList, MigrateVmRequest, MigrationParams } from '@vsim/proto';
import { formatOptions, parseArgs, usageError } from '../args';
import { Command, EXIT } from '../command';
import { GATEWAY_OPTIONS, reportingCallErrors, withGateway } from '../gateway-call';
import { findDomain } from '../xl/format';

const OPTIONS = {
  sim: { type: 'string', valueName: 'ID', description: 'the simulation (the id vsim run --nats and vsim list print)' },
  'stop-pages': {
    type: 'integer',
    min: 0,
    max: 2 ** 32 - 1,
    valueName: 'N',
    description: 'stop-and-copy once a round dirtied at most N pages (default 50)',
  },
  'max-rounds': { type: 'integer', min: 1, max: 2 ** 32 - 1, valueName: 'N', description: 'stop-and-copy at round N at the latest (default 30)' },
  ...GATEWAY_OPTIONS,
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const;

const HELP = `Usage: vsim migrate --sim ID (--nats URL | --gateway HOST:PORT) [options] DOMAIN HOST

Live-migrates a running simulation's domain (by name or ID) to host HOST, as
xl migrate does, by pre-copy: round 1 copies every non-zero page, each next
round the pages dirtied meanwhile, over the scenario's network (its bandwidth
and latency, in virtual time); when a round's dirty set is small enough, or at
the round limit, the domain stops, the rest crosses, and it resumes on HOST
with the same scheduling parameters. It starts at the virtual time the domain's
host has reached; the events migrate-start, migrate-round, migrate-stop and
migrate-resume (total time and downtime) record it.

Options:
${formatOptions(OPTIONS)}

Exit status: 0 requested; 1 refused by the gateway (unknown domain or host, a
migration already running); 2 usage error; 69 no gateway reachable.

Example:
  vsim migrate --sim sim-01JD3W7Q9YXK4M2T8N5R6B1C0A --nats nats://127.0.0.1:4222 web h1
`;

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'live-migrate a domain of a running simulation to another host (xl migrate)',
  help: HELP,
  run: async (argv, io) => {
    const command = 'vsim migrate';
    const { options: o, positionals } = parseArgs(argv, OPTIONS, { command });
    if (o.help) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    if (o.sim === undefined) throw usageError(command, '--sim ID is required');
    if (positionals.length !== 2)
      throw usageError(command, `expected DOMAIN HOST, got ${positionals.length} argument${positionals.length === 1 ? '' : 's'}`);
    const [domain, host] = positionals;
    // The link is the scenario's (the gateway fills it in); only the rule may change here.
    const params: MigrationParams = { link: undefined, rule: { stopPages: o['stop-pages'], maxRounds: o['max-rounds'] } };
    return reportingCallErrors('migrate', io.stderr, () =>
      withGateway(command, o, async (call) => {
        const d = findDomain(await call<{ sim: string }, DomainList>('listDomains', { sim: o.sim! }), domain);
        await call<MigrateVmRequest, unknown>('migrateVm', { sim: o.sim!, vm: d.vm, host, params });
        io.stdout.write(`migrating ${d.vm} from ${d.host} to ${host}\n`);
        return EXIT.ok;
      }),
    );
  },
};
