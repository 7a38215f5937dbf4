/** `vsim compose [--cpu-nodes N] [--schedulers N] [--hypervisors N] [--dockerfile]`: prints docker-compose.yml (or the Dockerfile). */

import { formatOptions, parseArgs, usageError } from '../args';
import { Command, EXIT } from '../command';
import { composeFile, dockerfile } from '../deploy/compose';
import { DEFAULT_CPU_NODES } from '../deploy/services';

const OPTIONS = {
  'cpu-nodes': { type: 'integer', min: 1, valueName: 'N', description: `cpu-node services (default ${DEFAULT_CPU_NODES})` },
  schedulers: { type: 'integer', min: 1, valueName: 'N', description: 'scheduler services (default 1)' },
  hypervisors: { type: 'integer', min: 1, valueName: 'N', description: 'hypervisor services (default 1)' },
  dockerfile: { type: 'boolean', description: 'print the Dockerfile instead' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const;

const HELP = `Usage: vsim compose [OPTIONS] > docker-compose.yml

Prints the docker-compose.yml of a vsim cluster (nats with JetStream, the
gateway, the hypervisor, the scheduler and the cpu-nodes), generated from the
same description \`vsim up\` starts. The repository's docker-compose.yml and
Dockerfile are this output:

  npx vsim compose > docker-compose.yml
  npx vsim compose --dockerfile > Dockerfile

Options:
${formatOptions(OPTIONS)}
`;

export const composeCommand: Command = {
  name: 'compose',
  summary: 'print the docker-compose.yml (or Dockerfile) of a vsim cluster',
  help: HELP,
  run(argv, io) {
    const { options, positionals } = parseArgs(argv, OPTIONS, { command: 'vsim compose' });
    if (options.help) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    if (positionals.length > 0) throw usageError('vsim compose', `unexpected argument '${positionals[0]}'`);
    io.stdout.write(
      options.dockerfile
        ? dockerfile()
        : composeFile(options['cpu-nodes'] ?? DEFAULT_CPU_NODES, { schedulers: options.schedulers, hypervisors: options.hypervisors }),
    );
    return EXIT.ok;
  },
};
