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
import { ELF_MACHINES, loadScenario, ScenarioError, VmIsa } from '@vsim/scenario';
import { SimSpec, runEmbedded } from '@vsim/control';
import { diagnoseRing32 } from '@vsim/hypervisor';
import { writeOutputs } from '@vsim/report';
import { formatOptions, parseArgs, usageError } from '../args';
import { Command, EXIT } from '../command';
import { processIo } from '../io';
import { Progress, progressMode } from '../run/progress';
import { RemoteError, runRemote } from '../run/remote';
import { toSimSpec } from '../run/spec';
import { formatSummary } from '../run/summary';

const OPTIONS = {
  json: { type: 'string', valueName: 'FILE', description: 'write the per-VM results and the event-log hash as JSON' },
  events: { type: 'string', valueName: 'FILE', description: 'write the event log, one JSON event per line, in canonical order' },
  seed: { type: 'integer', min: 0, valueName: 'N', description: "override the scenario's seed" },
  nats: { type: 'string', valueName: 'URL', description: "run on a cluster (e.g. 'vsim up'): find its gateway through NATS at URL" },
  progress: { type: 'boolean', description: 'progress lines on stderr even when it is not a terminal (on a terminal: a bar, always)' },
  report: { type: 'string', valueName: 'FILE', description: 'write the HTML report (pCPU Gantt, shares, runstates, latency, exits; one file, opens offline)' },
  trace: { type: 'string', valueName: 'FILE', description: 'write a Chrome Trace Event JSON file (open it in Perfetto UI or chrome://tracing)' },
  xentrace: { type: 'string', valueName: 'FILE', description: "write Xen trace records for xenalyze (one file per host if several: FILE's name + .HOST; docs/xentrace.md)" },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const;

const HELP = `Usage: vsim run [OPTIONS] SCENARIO.yaml

Runs the simulation a scenario file describes, with every service in this
process (or, with --nats, on a cluster found through NATS), and prints a summary per VM: CPU time, share of its host, time spent
runnable but waiting for a pCPU, time blocked, instructions, traps and
hypercalls by cause, console output; then the event-log hash, which is the
same for the same scenario and seed however the run is deployed.

Options:
${formatOptions(OPTIONS)}

The scenario format is described in libs/scenario/README.md.

Exit status:
  0    the simulation ran (guests may have faulted: see the summary)
  2    usage error, or the scenario is invalid (one line per problem)
  69   --nats: NATS unreachable or no gateway registered on it
  70   internal error in vsim (or the simulation failed on the cluster)

Examples:
  vsim run examples/quickstart.yaml
  vsim run --nats nats://127.0.0.1:4222 examples/quickstart.yaml
`;

/**
 * ring32 kernels under plain trap-and-emulate: why they are not equivalent to native (the critical
 * instructions that did not trap), from diagnoseRing32 — a native and an observed run of the image.
 */
function ring32Diagnoses(spec: SimSpec): Map<string, string> {
  const out = new Map<string, string>();
  for (const vm of spec.vms) {
    if (vm.isa === 'ring32' && vm.technique === 'trap-and-emulate') out.set(vm.id, diagnoseRing32(fs.readFileSync(vm.image)).report);
  }
  return out;
}

/** Rejects VMs whose image is not a valid ELF of their ISA or does not fit their memory, before anything runs. */
function checkImage(image: string, vm: { memory: number; isa: VmIsa }): string | undefined {
  try {
    const elf = parseElf32(fs.readFileSync(image), ELF_MACHINES[vm.isa]);
    const top = Math.max(...elf.segments.map((s) => s.vaddr + s.memsz));
    const base = Math.min(...elf.segments.map((s) => s.vaddr));
    if (top - base > vm.memory) return `image needs ${top - base} bytes, more than the VM's memory (${vm.memory})`;
    return undefined;
  } catch (e) {
    return e instanceof ElfError ? `not a valid ${vm.isa} executable: ${e.message}` : (e as Error).message;
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
    const mode = progressMode(io.stderr === processIo.stderr && process.stderr.isTTY === true, options.progress === true);
    if (options.nats !== undefined) {
      for (const o of ['events', 'report', 'trace', 'xentrace'] as const) {
        if (options[o] !== undefined) throw usageError('vsim run', `--${o} is not available with --nats (the cluster keeps the events in its JetStream stream)`);
      }
      let progress: Progress | undefined;
      const start = process.hrtime.bigint();
      let remote;
      try {
        remote = await runRemote({
          natsUrl: options.nats, file, seed: options.seed,
          onProgress: (host, ns) => (progress ??= new Progress(io.stderr, mode, durationOf(file), hostsOf(file))).update(host, ns),
        });
      } catch (e) {
        progress?.finish();
        if (e instanceof RemoteError) {
          io.stderr.write(e.message.split('\n').map((l) => `vsim: ${l}\n`).join(''));
          return e.exitCode;
        }
        throw e;
      } finally {
        progress?.finish();
      }
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const { wallSeconds: _cluster, ...result } = remote;
      io.stdout.write(formatSummary(result, seconds));
      if (options.json) fs.writeFileSync(options.json, JSON.stringify({ ...result, wallSeconds: seconds }, null, 2) + '\n');
      return EXIT.ok;
    }
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
    const progress = new Progress(io.stderr, mode, spec.durationNs, spec.hosts.map((h) => h.id));
    let outcome;
    try {
      outcome = await runEmbedded(spec, undefined, mode === 'off' ? {} : { onProgress: (host, ns) => progress.update(host, ns) });
    } finally {
      progress.finish();
    }
    const { result, log } = outcome;
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    io.stdout.write(formatSummary(result, seconds, { diagnoses: ring32Diagnoses(spec) }));
    if (options.json) fs.writeFileSync(options.json, JSON.stringify({ ...result, wallSeconds: seconds }, null, 2) + '\n');
    if (options.events) fs.writeFileSync(options.events, log.toJsonLines());
    const seen = writeOutputs({ report: options.report, trace: options.trace, xentrace: options.xentrace }, result, log.all());
    if (seen.length > 0) io.stdout.write(`wrote ${seen.join(', ')}\n`);
    return EXIT.ok;
  },
};

/** The scenario's duration for the progress display, from the file itself (0 if unreadable: no bar). */
function durationOf(file: string): number {
  try {
    return loadScenario(file, { checkImage: () => undefined }).duration;
  } catch {
    return 0;
  }
}

function hostsOf(file: string): string[] {
  try {
    return loadScenario(file, { checkImage: () => undefined }).hosts.map((h) => h.id);
  } catch {
    return [];
  }
}
