/**
 * `vsim isa analyze ISA`: the Popek–Goldberg analysis of an instruction set — from the metadata
 * of its instruction table, the privileged, control-sensitive, behaviour-sensitive, innocuous and
 * critical instructions and the verdict — and the empirical prober's check of that metadata.
 */

import { analyzeIsa, probeIsa, ring32, rv32, Isa } from '@vsim/isa';
import { formatOptions, parseArgs, usageError } from '../args';
import { Command, EXIT } from '../command';

const ISAS: Readonly<Record<string, Isa>> = { rv32, ring32 };

const OPTIONS = {
  samples: { type: 'integer', min: 1, valueName: 'N', description: 'prober samples per instruction (default 24)' },
  'no-probe': { type: 'boolean', description: 'print only the analysis of the metadata' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const;

const HELP = `Usage: vsim isa analyze [OPTIONS] ISA

Prints the Popek–Goldberg analysis of ISA (${Object.keys(ISAS).join(', ')}): which instructions are
privileged (trap outside the most privileged mode), control-sensitive,
behaviour-sensitive, innocuous, and critical (sensitive but not privileged), and
whether the ISA is classically virtualizable (every sensitive instruction is
privileged). Then the empirical prober runs every instruction in user and
system mode over varied states and reports where the metadata is wrong.

Options:
${formatOptions(OPTIONS)}

Exit status: 0 when the prober agrees with the metadata, 1 when it found a
mismatch, 2 usage error.
`;

const list = (names: readonly string[]) => (names.length ? names.join(' ') : '(none)');

export const isaCommand: Command = {
  name: 'isa',
  summary: 'analyze an instruction set: Popek–Goldberg sets, verdict, metadata prober',
  help: HELP,
  run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === '--help' || sub === '-h' || sub === undefined) {
      io.stdout.write(HELP);
      return sub === undefined ? EXIT.usage : EXIT.ok;
    }
    if (sub !== 'analyze') throw usageError('vsim isa', `unknown subcommand '${sub}' (available: analyze)`);
    const { options, positionals } = parseArgs(rest, OPTIONS, { command: 'vsim isa analyze' });
    if (options.help) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    if (positionals.length !== 1) throw usageError('vsim isa analyze', 'expected one ISA name');
    const isa = ISAS[positionals[0]];
    if (!isa) throw usageError('vsim isa analyze', `unknown ISA '${positionals[0]}' (available: ${Object.keys(ISAS).join(', ')})`);
    const a = analyzeIsa(isa);
    const out = [
      `Popek–Goldberg analysis of ${a.isa} (from the instruction table's metadata)`,
      `  privileged:          ${list(a.privileged)}`,
      `  control-sensitive:   ${list(a.controlSensitive)}`,
      `  behaviour-sensitive: ${list(a.behaviorSensitive)}`,
      `  sensitive:           ${list(a.sensitive)}`,
      `  critical:            ${list(a.critical)}`,
      `  innocuous:           ${a.innocuous.length} instructions (${a.innocuous.slice(0, 8).join(' ')}${a.innocuous.length > 8 ? ' ...' : ''})`,
      ...a.critical.map((n) => `  why ${n} is critical: ${isa.instructions.find((d) => d.name === n)?.meta.note ?? '(no note in the table)'}`),
      `verdict: ${a.verdict}`,
      '',
    ];
    let status: number = EXIT.ok;
    if (!options['no-probe']) {
      const samples = options.samples ?? 24;
      const r = probeIsa(isa, samples);
      out.push(`empirical prober: ${r.observations.length} instructions x ${samples} samples, each run in user and system mode over varied states`);
      for (const o of r.observations) {
        const seen = [o.privileged && 'privileged', o.controlSensitive && 'control-sensitive', o.behaviorSensitive && 'behaviour-sensitive'].filter(
          Boolean,
        );
        if (seen.length) out.push(`  ${o.name.padEnd(11)} observed ${seen.join(', ')}`);
      }
      if (r.mismatches.length === 0) out.push('  metadata confirmed: no instruction behaves more sensitively than the table says');
      for (const m of r.mismatches) out.push(`  MISMATCH ${m.name}: table says ${m.property}=${m.metadata}, observed ${m.observed}: ${m.why}`);
      if (r.mismatches.length) status = EXIT.failure;
    }
    io.stdout.write(out.join('\n') + '\n');
    return status;
  },
};
