/**
 * `vsim report RESULTS.json [EVENTS.jsonl] -o FILE.html`: the HTML report (and, on request, the
 * Chrome trace and the Xen trace records) of a run already made, from the files `vsim run --json`
 * and `--events` wrote. Without the events the report shows what the results alone say (no Gantt).
 *
 * Exit status: 0 written; 2 usage error or an input file at fault (one line naming the file and
 * the line or field); 70 internal error.
 */

import * as fs from 'fs';
import type { Event } from '@vsim/proto';
import { checkResults, parseEventLines, ReportInputError, writeOutputs } from '@vsim/report';
import { formatOptions, parseArgs, usageError } from '../args';
import { Command, EXIT } from '../command';

const OPTIONS = {
  output: { type: 'string', short: 'o', valueName: 'FILE', description: 'write the HTML report to FILE' },
  trace: { type: 'string', valueName: 'FILE', description: 'also write a Chrome Trace Event JSON file (needs EVENTS)' },
  xentrace: { type: 'string', valueName: 'FILE', description: 'also write Xen trace records for xenalyze (needs EVENTS; docs/xentrace.md)' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const;

const HELP = `Usage: vsim report [OPTIONS] RESULTS.json [EVENTS.jsonl] -o FILE.html

Writes the HTML report of a run from the files 'vsim run --json' and
'--events' wrote: per host a pCPU Gantt chart (which vCPU ran where and
when, idle, exits and scheduler decisions, zoomable to microseconds), CPU
share over time against each VM's entitlement, runstates, the wake-up
latency CDF, deadline misses, traps and hypercalls by cause and route, and
techniques against native. One file, every asset inlined: it opens offline.

Options:
${formatOptions(OPTIONS)}

Exit status:
  0    written
  2    usage error, or an input file is not what 'vsim run' writes
  70   internal error in vsim

Example:
  vsim run --json run.json --events run.jsonl examples/quickstart.yaml
  vsim report run.json run.jsonl -o run.html
`;

function readOrUsage(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw usageError('vsim report', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export const reportCommand: Command = {
  name: 'report',
  summary: 'write the HTML report (and standard traces) of a run from its results and events',
  help: HELP,
  run(argv, io) {
    const { options, positionals } = parseArgs(argv, OPTIONS, { command: 'vsim report' });
    if (options.help) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    if (positionals.length < 1 || positionals.length > 2)
      throw usageError('vsim report', "expected RESULTS.json and optionally EVENTS.jsonl (see 'vsim report --help')");
    if (!options.output && !options.trace && !options.xentrace)
      throw usageError('vsim report', 'nothing to write: give -o FILE.html (or --trace, --xentrace)');
    const [resultsFile, eventsFile] = positionals;
    if (!eventsFile && (options.trace || options.xentrace)) throw usageError('vsim report', '--trace and --xentrace need the EVENTS.jsonl file');
    let events: Event[] = [];
    let result;
    try {
      let raw: unknown;
      try {
        raw = JSON.parse(readOrUsage(resultsFile));
      } catch (e) {
        if (e instanceof SyntaxError) throw new ReportInputError(`${resultsFile}: not JSON (${e.message})`);
        throw e;
      }
      result = checkResults(raw, resultsFile);
      if (eventsFile) events = parseEventLines(readOrUsage(eventsFile), eventsFile);
    } catch (e) {
      if (e instanceof ReportInputError) {
        io.stderr.write(`vsim: report: ${e.message}\n`);
        return EXIT.usage;
      }
      throw e;
    }
    const written = writeOutputs({ report: options.output, trace: options.trace, xentrace: options.xentrace }, result, events);
    io.stdout.write(`wrote ${written.join(', ')}\n`);
    return EXIT.ok;
  },
};
