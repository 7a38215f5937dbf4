/**
 * `vsim run SCENARIO`: runs a simulation described by a scenario file. By default every service
 * runs in this process on the in-process bus (Node.js alone is enough); the result is a summary
 * per VM and the hash of the event log.
 *
 * Exit status: 0 the run completed (whatever the guests did); 2 usage error or invalid scenario
 * (one line per problem, each naming the path in the file); 70 internal error.
 */

import * as fs from 'fs';
import { ElfError, parseElf32 } from '@vsim/isa';
import { loadScenario, ScenarioError } from '@vsim/scenario';
import { runEmbedded } from '@vsim/runtime';
import { formatOptions, parseArgs, usageError } from '../args';
import { Command, EXIT } from '../command';
import { toSimSpec } from '../run/spec';
import { formatSummary } from '../run/summary';

const OPTIONS = {
  json: { type: 'string', valueName: 'FILE', description: 'write the per-VM results and the event-log hash as JSON' },
  events: { type: 'string', valueName: 'FILE', description: 'write the event log, one JSON event per line, in canonical order' },
  seed: { type: 'integer', min: 0, valueName: 'N', description: "override the scenario's seed" },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const;

const HELP = `Usage: vsim run [OPTIONS] SCENARIO.yaml

Runs the simulation a scenario file describes, with every service in this
process, and prints a summary per VM: CPU time, share of its host, time spent
runnable but waiting for a pCPU, time blocked, instructions, traps and
hypercalls by cause, console output; then the event-log hash, which is the
same for the same scenario and seed however the run is deployed.

Options:
${formatOptions(OPTIONS)}

The scenario format is described in libs/scenario/README.md.

Exit status:
  0    the simulation ran (guests may have faulted: see the summary)
  2    usage error, or the scenario is invalid (one line per problem)
  70   internal error in vsim

Example:
  vsim run examples/quickstart.yaml
`;

/** Rejects VMs whose image is not a valid rv32 ELF or does not fit their memory, before anything runs. */
function checkImage(image: string, vm: { memory: number }): string | undefined {
  try {
    const elf = parseElf32(fs.readFileSync(image));
    const top = Math.max(...elf.segments.map((s) => s.vaddr + s.memsz));
    const base = Math.min(...elf.segments.map((s) => s.vaddr));
    if (top - base > vm.memory) return `image needs ${top - base} bytes, more than the VM's memory (${vm.memory})`;
    return undefined;
  } catch (e) {
    return e instanceof ElfError ? `not a valid rv32 executable: ${e.message}` : (e as Error).message;
  }
}

export const runCommand: Command = {
  name: 'run',
  summary: 'run a simulation from a scenario file and print the summary',
  help: HELP,
  async run(argv, io) {
    const { options, positionals } = parseArgs(argv, OPTIONS, { command: 'vsim run' });
    if (options.help) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    if (positionals.length !== 1) throw usageError('vsim run', `expected one SCENARIO file (see 'vsim run --help')`);
    const file = positionals[0];
    let scenario;
    try {
      scenario = loadScenario(file, { checkImage });
    } catch (e) {
      if (e instanceof ScenarioError) {
        io.stderr.write(e.message.split('\n').map((l) => `vsim: ${l}\n`).join(''));
        return EXIT.usage;
      }
      throw e;
    }
    const spec = toSimSpec(scenario, options.seed);
    const start = process.hrtime.bigint();
    const { result, log } = await runEmbedded(spec);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    io.stdout.write(formatSummary(result, seconds));
    if (options.json) fs.writeFileSync(options.json, JSON.stringify({ ...result, wallSeconds: seconds }, null, 2) + '\n');
    if (options.events) fs.writeFileSync(options.events, log.toJsonLines());
    return EXIT.ok;
  },
};
