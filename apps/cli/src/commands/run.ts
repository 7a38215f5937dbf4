/**
 * `vsim run SCENARIO`: runs a simulation described by a scenario file. By default every service
 * runs in this process on the in-process bus (Node.js alone is enough); the result is a summary
 * per VM and the hash of the event log.
 *
 * Exit status: 0 the run completed (whatever the guests did); 2 usage error or invalid scenario
 * (one line per problem, each naming the path in the file); 70 internal error.
 */

import * as fs from 'fs';
import { ScenarioIssue, formatIssues, loadScenario, ScenarioError, VmIsa, VmKind } from '@vsim/scenario';
import { SimSpec, checkVmImage, runEmbedded } from '@vsim/control';
import { CheckpointOptions, checkpointOptions } from '../run/checkpoint';
import { diagnoseRing32 } from '@vsim/hypervisor';
import { writeOutputs } from '@vsim/report';
import { formatOptions, parseArgs, usageError } from '../args';
import { Command, EXIT } from '../command';
import { ACCESS_OPTIONS } from '../gateway-access';
import { Io, processIo } from '../io';
import { EX_CANTCREAT, OutputError, RunOutput, openOutput } from '../run/outputs';
import { Progress, progressMode } from '../run/progress';
import { RemoteError, runRemote } from '../run/remote';
import { toSimSpec } from '../run/spec';
import { formatSummary } from '../run/summary';

const OPTIONS = {
  json: {
    type: 'string',
    valueName: 'FILE',
    description: "write the per-VM results and the event-log hash as JSON ('-': stdout, the summary then goes to stderr)",
  },
  events: {
    type: 'string',
    valueName: 'FILE',
    description: "write the event log, one JSON event per line, in canonical order (docs/events.md; '-': stdout)",
  },
  seed: { type: 'integer', min: 0, valueName: 'N', description: "override the scenario's seed" },
  nats: { type: 'string', valueName: 'URL', description: "run on a cluster (e.g. 'vsim up'): find its gateway through NATS at URL" },
  ...ACCESS_OPTIONS,
  attach: {
    type: 'string',
    valueName: 'SIM',
    description:
      '--nats: reattach to simulation SIM (e.g. after the client that started it died): wait for its end, print its results (SCENARIO optional)',
  },
  scheduler: {
    type: 'string',
    valueName: 'INSTANCE',
    description: "--nats: run on this scheduler service (its registered instance name, e.g. an external one); default: vsim's own",
  },
  progress: { type: 'boolean', description: 'progress lines on stderr even when it is not a terminal (on a terminal: a bar, always)' },
  report: {
    type: 'string',
    valueName: 'FILE',
    description: 'write the HTML report (pCPU Gantt, shares, runstates, latency, exits; one file, opens offline)',
  },
  trace: { type: 'string', valueName: 'FILE', description: 'write a Chrome Trace Event JSON file (open it in Perfetto UI or chrome://tracing)' },
  xentrace: {
    type: 'string',
    valueName: 'FILE',
    description: "write Xen trace records for xenalyze (one file per host if several: FILE's name + .HOST; docs/xentrace.md)",
  },
  'checkpoint-interval': {
    type: 'string',
    valueName: 'TIME',
    description: "checkpoint every host every TIME of virtual time (e.g. 10ms; overrides the scenario's checkpoint.interval); needs --checkpoint-dir",
  },
  'checkpoint-dir': {
    type: 'string',
    valueName: 'DIR',
    description:
      'write checkpoints to DIR (it must hold none of another run); with --resume: DIR is where the run resumes from, and where its checkpoints go on',
  },
  resume: {
    type: 'string',
    valueName: 'DIR',
    description:
      "continue the run whose checkpoints DIR holds (same scenario and seed) from each host's newest checkpoint: the same results and hash as a run never stopped",
  },
  'resume-sim': {
    type: 'string',
    valueName: 'SIM',
    description:
      "--nats: continue simulation SIM's run (same scenario and seed) from its checkpoints in the cluster's store (vsim up --checkpoint-dir)",
  },
  'resume-index': {
    type: 'integer',
    min: 1,
    valueName: 'N',
    description: "--resume, --resume-sim: from each host's checkpoint N (1: the first) instead of its newest",
  },
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
  69   --nats: NATS unreachable, no gateway registered on it, or credentials refused
  70   internal error in vsim (or the simulation failed on the cluster)
  73   the --json or --events file cannot be written (checked before the run)
  75   --nats: the cluster has no room now (its admission limits); try again later

Examples:
  vsim run examples/quickstart.yaml
  VSIM_CREDENTIALS=~/.vsim/secrets/client.json vsim run --nats nats://127.0.0.1:4222 examples/quickstart.yaml
  vsim run --nats nats://127.0.0.1:4222 --attach sim-01J...   # the results of a run whose client died
  vsim run --checkpoint-interval 10ms --checkpoint-dir ck examples/two-hosts.yaml
  vsim run --resume ck examples/two-hosts.yaml                  # continues from the newest checkpoints
  vsim run --nats nats://127.0.0.1:4222 --resume-sim sim-01J... examples/two-hosts.yaml   # vsim up --checkpoint-dir
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

/** Rejects VMs whose image would not load into them (the gateway applies the same check), before anything runs. */
function checkImage(image: string, vm: { memory: number; isa: VmIsa; kind: VmKind; args?: readonly string[]; vcpus?: number }): string | undefined {
  return checkVmImage(fs.readFileSync(image), vm);
}

/** The --json and --events files, opened now; undefined (after one line on stderr) if one cannot be written. */
function openOutputs(o: { json?: string; events?: string }, io: Io): { json?: RunOutput; events?: RunOutput } | undefined {
  const opened: { json?: RunOutput; events?: RunOutput } = {};
  try {
    if (o.json !== undefined) opened.json = openOutput('--json', o.json, io.stdout);
    if (o.events !== undefined) opened.events = openOutput('--events', o.events, io.stdout);
    return opened;
  } catch (e) {
    opened.json?.abandon();
    if (!(e instanceof OutputError)) throw e;
    io.stderr.write(`vsim: run: ${e.message}\n`);
    return undefined;
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
    if (options.attach !== undefined && options.nats === undefined)
      throw usageError('vsim run', '--attach needs --nats (a cluster keeps the simulation)');
    if (positionals.length !== 1 && !(options.attach !== undefined && positionals.length === 0))
      throw usageError('vsim run', `expected one SCENARIO file (see 'vsim run --help')`);
    const file = positionals[0] ?? '';
    if (options.json === '-' && options.events === '-') throw usageError('vsim run', '--json - and --events - cannot both write to standard output');
    // With JSON on stdout, the human summary goes to stderr so stdout stays one JSON document.
    const summaryTo = options.json === '-' || options.events === '-' ? io.stderr : io.stdout;
    const mode = progressMode(io.stderr === processIo.stderr && process.stderr.isTTY === true, options.progress === true);
    if (options.nats !== undefined) {
      for (const o of ['checkpoint-interval', 'checkpoint-dir', 'resume'] as const) {
        if (options[o] !== undefined)
          throw usageError(
            'vsim run',
            `--${o} is for runs in this process (a cluster checkpoints into its own store: scenario checkpoint.interval, --resume-sim)`,
          );
      }
      if (options['resume-index'] !== undefined && options['resume-sim'] === undefined)
        throw usageError('vsim run', '--resume-index needs --resume-sim SIM');
      for (const o of ['events', 'report', 'trace', 'xentrace'] as const) {
        if (options[o] !== undefined)
          throw usageError('vsim run', `--${o} is not available with --nats (the cluster keeps the events in its JetStream stream)`);
      }
      const outputs = openOutputs(options, io);
      if (!outputs) return EX_CANTCREAT;
      try {
        if (options.attach === undefined) loadScenario(file, { checkImage: () => undefined, onWarnings: warningsTo(io, file) });
      } catch {
        // errors: the gateway reports them, one line each, as it rejects the submission
      }
      let progress: Progress | undefined;
      const start = process.hrtime.bigint();
      let remote;
      try {
        remote = await runRemote({
          natsUrl: options.nats,
          file,
          seed: options.seed,
          scheduler: options.scheduler,
          credentials: options.credentials,
          tokenFile: options['token-file'],
          attach: options.attach,
          resumeSim: options['resume-sim'],
          resumeIndex: options['resume-index'],
          onSubmitted: (sim) => io.stderr.write(`vsim: simulation ${sim} (for vsim sched-*, vcpu-*, cpupool-*: --sim ${sim})\n`),
          onProgress: (host, ns, done) => (progress ??= new Progress(io.stderr, mode, durationOf(file), hostsOf(file))).update(host, ns, done),
        });
      } catch (e) {
        progress?.finish();
        outputs.json?.abandon();
        if (e instanceof RemoteError) {
          io.stderr.write(
            e.message
              .split('\n')
              .map((l) => `vsim: ${l}\n`)
              .join(''),
          );
          return e.exitCode;
        }
        throw e;
      } finally {
        progress?.finish();
      }
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const { wallSeconds: _cluster, ...result } = remote;
      summaryTo.write(formatSummary(result, seconds));
      outputs.json?.write(JSON.stringify({ ...result, wallSeconds: seconds }, null, 2) + '\n');
      return EXIT.ok;
    }
    if (options['resume-sim'] !== undefined)
      throw usageError('vsim run', '--resume-sim needs --nats (a run in this process resumes with --resume DIR)');
    if (options['resume-sim'] !== undefined)
      throw usageError('vsim run', '--resume-sim needs --nats (a run in this process resumes with --resume DIR)');
    let scenario;
    try {
      scenario = loadScenario(file, { checkImage, onWarnings: warningsTo(io, file) });
    } catch (e) {
      if (e instanceof ScenarioError) {
        io.stderr.write(
          e.message
            .split('\n')
            .map((l) => `vsim: ${l}\n`)
            .join(''),
        );
        return EXIT.usage;
      }
      throw e;
    }
    const spec = toSimSpec(scenario, options.seed);
    let checkpoints: CheckpointOptions;
    try {
      checkpoints = await checkpointOptions(options, spec.checkpointIntervalNs);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      io.stderr.write(`vsim: run: ${e.message}\n`);
      return EXIT.usage;
    }
    for (const w of checkpoints.warnings) io.stderr.write(`vsim: run: warning: ${w}\n`);
    const outputs = openOutputs(options, io);
    if (!outputs) return EX_CANTCREAT;
    const start = process.hrtime.bigint();
    const progress = new Progress(
      io.stderr,
      mode,
      spec.durationNs,
      spec.hosts.map((h) => h.id),
    );
    let outcome;
    try {
      outcome = await runEmbedded(spec, undefined, {
        ...(mode === 'off' ? {} : { onProgress: (host: string, ns: number, done: boolean) => progress.update(host, ns, done) }),
        checkpoint: checkpoints.checkpoint,
        resume: checkpoints.resume,
      });
    } catch (e) {
      outputs.json?.abandon();
      outputs.events?.abandon();
      throw e;
    } finally {
      progress.finish();
    }
    const { result, log } = outcome;
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    summaryTo.write(formatSummary(result, seconds, { diagnoses: ring32Diagnoses(spec) }));
    outputs.json?.write(JSON.stringify({ ...result, wallSeconds: seconds }, null, 2) + '\n');
    outputs.events?.write(log.toJsonLines());
    const seen = writeOutputs({ report: options.report, trace: options.trace, xentrace: options.xentrace }, result, log.all());
    if (seen.length > 0) summaryTo.write(`wrote ${seen.join(', ')}\n`);
    return EXIT.ok;
  },
};

/** Prints a scenario's warnings (valid values without effect), one `vsim: FILE: PATH: warning: ...` line each. */
function warningsTo(io: Io, file: string): (w: readonly ScenarioIssue[]) => void {
  return (w) =>
    io.stderr.write(
      formatIssues(
        w.map((i) => ({ ...i, message: `warning: ${i.message}` })),
        file,
      )
        .split('\n')
        .map((l) => `vsim: ${l}\n`)
        .join(''),
    );
}

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
