/**
 * `vsim trace extract EVENTS.jsonl -o TRACE.json [--vm ID]...`: the demand trace of each VM of a run
 * already made (the event log `vsim run --events` wrote), for VMs of `kind: replay`
 * (docs/replay.md): record a workload once, replay it under another scheduler.
 *
 * Exit status: 0 written; 2 usage error or an input file at fault (one line naming the file and line).
 */

import * as fs from 'fs';
import { extractTraces } from '@vsim/control';
import { EventLog } from '@vsim/proto';
import { ReportInputError, parseEventLines } from '@vsim/report';
import { formatOptions, parseArgs, usageError } from '../args';
import { Command, EXIT } from '../command';

const OPTIONS = {
  output: { type: 'string', short: 'o', valueName: 'FILE', description: 'write the trace to FILE (- : stdout)' },
  vm: { type: 'string', valueName: 'IDS', description: 'only these VMs (comma-separated ids; default: every VM)' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const;

const HELP = `Usage: vsim trace extract [OPTIONS] EVENTS.jsonl -o TRACE.json

Turns a run's event log (what 'vsim run --events' wrote) into a demand
trace (format vsim-demand-trace, version 1; docs/replay.md): for each vCPU
of each VM, what it computed (pCPU time), the exits and console output it
logged, where it blocked and how long until it woke, and how it ended.
A VM of 'kind: replay' whose image is the trace replays it, without
executing an instruction, under whatever scheduler its scenario names.

Options:
${formatOptions(OPTIONS)}

Exit status:
  0    written
  2    usage error, or the event log is not what 'vsim run --events' writes

Example:
  vsim run --events run.jsonl examples/two-hosts.yaml
  vsim trace extract run.jsonl -o two-hosts.trace.json
`;

export const traceCommand: Command = {
  name: 'trace',
  summary: 'turn a run’s event log into a demand trace for replayed VMs (trace extract)',
  help: HELP,
  run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === '--help' || sub === '-h' || sub === undefined) {
      io.stdout.write(HELP);
      return sub === undefined ? EXIT.usage : EXIT.ok;
    }
    if (sub !== 'extract') throw usageError('vsim trace', `unknown subcommand '${sub}' (expected 'extract')`);
    const { options, positionals } = parseArgs(rest, OPTIONS, { command: 'vsim trace extract' });
    if (options.help) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    if (positionals.length !== 1) throw usageError('vsim trace extract', 'expected one EVENTS.jsonl file');
    if (!options.output) throw usageError('vsim trace extract', 'nothing to write: give -o TRACE.json');
    const file = positionals[0];
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw usageError('vsim trace extract', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    let json: string;
    try {
      const events = parseEventLines(text, file);
      const log = new EventLog();
      log.add(events);
      const vms = options.vm ? options.vm.split(',').filter((s) => s.length > 0) : undefined;
      const trace = extractTraces(events, { vms, recordedHash: log.hash() });
      json = JSON.stringify(trace) + '\n';
    } catch (e) {
      if (e instanceof ReportInputError || e instanceof RangeError) {
        io.stderr.write(`vsim: trace extract: ${e.message}\n`);
        return EXIT.usage;
      }
      throw e;
    }
    if (options.output === '-') io.stdout.write(json);
    else {
      fs.writeFileSync(options.output, json);
      io.stdout.write(`wrote ${options.output}\n`);
    }
    return EXIT.ok;
  },
};
