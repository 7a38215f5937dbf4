/**
 * `vsim exec`: runs one guest program on one hart, in this process, the way a shell runs a native
 * one (the role qemu-riscv32 plays for real hardware).
 *
 * On the Linux user machine (the default) the guest's argv[0] is PROGRAM as given, then ARGS; its
 * writes to fd 1 and 2 go straight to vsim's stdout and stderr as they happen; and vsim exits with
 * the guest's own status. On the bare machine (riscv-tests style) the result is read from `tohost`.
 *
 * Exit status:
 *   0-255  the guest's exit status (Linux machine)
 *   0 / 1  bare machine: tohost = 1 / test failed, deadlocked or ran out of cycles
 *   2      usage error (unknown option, missing value, ...)
 *   70     internal error in vsim (VSIM_DEBUG=1 prints the stack)
 *   124    --max-cycles ran out before the program exited (as timeout(1))
 *   126    PROGRAM cannot be executed: not a valid rv32 executable for the machine, or unreadable
 *   127    PROGRAM not found
 *   128+n  the guest was killed by signal n: 132 SIGILL, 133 SIGTRAP, 135 SIGBUS, 139 SIGSEGV
 * A guest may itself exit with any status 0-255 (including 2, 124, 126, 127, 132, ...): whenever
 * vsim rather than the guest decides the status, it says why in one stderr line starting `vsim:`.
 */

import * as fs from 'fs';
import { BareMachine, ElfError, ElfImage, ENGINE_NAMES, EngineName, LinuxUserProcess, parseElf32 } from '@vsim/isa';
import { formatOptions, parseArgs, usageError } from '../args';
import { Command, EXIT } from '../command';
import { Io } from '../io';
import { runBareUnderGdb, runLinuxUnderGdb } from './exec-gdb';
import { reportBare, reportLinux } from './exec-report';

const OPTIONS = {
  engine: { type: 'string', choices: ENGINE_NAMES, default: 'bt', description: 'emulation engine' },
  machine: {
    type: 'string',
    choices: ['linux', 'bare'],
    default: 'linux',
    description: 'Linux user process, or bare M-mode machine reporting via tohost',
  },
  'max-cycles': { type: 'integer', min: 1, valueName: 'N', description: 'stop the guest after N cycles (default: no limit)' },
  harts: {
    type: 'integer',
    min: 1,
    max: 32,
    valueName: 'N',
    description: '--machine bare: N harts sharing the machine, interleaved round robin (default 1)',
  },
  gdb: {
    type: 'integer',
    min: 0,
    max: 65535,
    valueName: 'PORT',
    description: 'wait for gdb on 127.0.0.1:PORT (0: any free port) and run under its control',
  },
  stats: { type: 'boolean', description: 'after the run, print one JSON line of statistics on stderr' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const;

const HELP = `Usage: vsim exec [OPTIONS] PROGRAM.elf [ARGS...]

Runs a statically linked rv32 (RV32IMA) program. On the Linux user machine the
program gets argv = PROGRAM ARGS..., its output is passed through as it is
written, and vsim exits with the program's exit status. Options must come
before PROGRAM; everything after it goes to the program.

Options:
${formatOptions(OPTIONS)}

--stats prints, after the run (loading is not timed):
  {"engine":"bt","instructions":N,"seconds":S,"mips":M,"cycles":C,"status":X}

Exit status:
  0-255   the program's own exit status (--machine linux)
  0, 1    --machine bare: passed (tohost = 1); failed, deadlocked or out of cycles
  2       usage error
  70      internal error in vsim (VSIM_DEBUG=1 prints the stack)
  124     --max-cycles ran out before the program exited
  126     PROGRAM is not a valid executable for the machine, or is unreadable
  127     PROGRAM not found
  128+n   the program was killed by signal n (132 SIGILL, 133 SIGTRAP,
          135 SIGBUS, 139 SIGSEGV)
A program can itself exit with any status 0-255, so the status alone does not
tell its exit from vsim's verdict: whenever vsim decides the status (everything
but a normal exit), it prints one line on stderr starting with "vsim:".

Examples:
  vsim exec guests/rv32/bin/hello.elf a b
  vsim exec --engine dispatch --stats guests/rv32/bin/checksum.elf 1
  vsim exec --machine bare guests/rv32/bin/bare-rv32ui-basic.elf
  vsim exec --machine bare --harts 2 guests/rv32/bin/native-kernel-smp.elf
  vsim exec --gdb 1234 prog.elf &  gdb-multiarch -ex 'target remote :1234' prog.elf
`;

export const execCommand: Command = {
  name: 'exec',
  summary: 'run one rv32 program (Linux user or bare machine) and exit with its status',
  help: HELP,
  run(argv, io) {
    const { options, positionals } = parseArgs(argv, OPTIONS, { command: 'vsim exec', stopAtPositional: true });
    if (options.help) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    const [program, ...args] = positionals;
    if (program === undefined) throw usageError('vsim exec', `missing PROGRAM (see 'vsim exec --help')`);
    if (options.machine === 'bare' && args.length > 0) {
      throw usageError('vsim exec', `--machine bare runs PROGRAM without arguments (got '${args[0]}')`);
    }
    if (options.gdb !== undefined && (options.harts ?? 1) > 1) {
      throw usageError('vsim exec', `--gdb debugs one hart; it does not support --harts ${options.harts}`);
    }
    if (options.gdb !== undefined && options['max-cycles'] !== undefined) {
      throw usageError('vsim exec', `--gdb and --max-cycles cannot be combined (gdb decides how far the program runs)`);
    }
    if (options.harts !== undefined && options.machine !== 'bare') {
      throw usageError('vsim exec', `--harts needs --machine bare (a Linux user process has one hart)`);
    }
    const engine = options.engine as EngineName; // validated against ENGINE_NAMES by the parser
    const fail = (message: string, status: number) => {
      io.stderr.write(`vsim: ${program}: ${message}\n`);
      return status;
    };

    const loaded = load(program);
    if ('status' in loaded) return fail(loaded.message, loaded.status);
    const { image } = loaded;

    if (options.machine === 'bare') {
      let machine: BareMachine;
      try {
        machine = new BareMachine(image, { engine, harts: options.harts, console: (bytes) => io.stdout.write(bytes) });
      } catch (e) {
        const message = loadErrorMessage(e);
        return fail(
          `${message}${e instanceof ElfError && image.entry < 0x80000000 ? '; is it a Linux user program? try --machine linux' : ''}`,
          EXIT.cannotExecute,
        );
      }
      if (options.gdb !== undefined) return runBareUnderGdb(machine, options.gdb, io, fail);
      const start = process.hrtime.bigint();
      const result = machine.run(options['max-cycles']);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const status = reportBare(result, machine.hart.pc, fail);
      if (options.stats) printStats(io, engine, result, seconds, status);
      return status;
    }

    let proc: LinuxUserProcess;
    try {
      proc = new LinuxUserProcess(image, {
        engine,
        argv: [program, ...args],
        stdout: (bytes) => io.stdout.write(bytes),
        stderr: (bytes) => io.stderr.write(bytes),
      });
    } catch (e) {
      const message = loadErrorMessage(e);
      const hint = !(e instanceof ElfError)
        ? ''
        : image.symbols.has('tohost')
          ? '; it has a tohost symbol: try --machine bare'
          : image.entry >= 0x80000000
            ? '; it is a guest kernel image: run it in a VM with vsim run SCENARIO.yaml (its vms[].image; see examples/quickstart.yaml)'
            : '';
      return fail(message + hint, EXIT.cannotExecute);
    }
    if (options.gdb !== undefined) return runLinuxUnderGdb(proc, options.gdb, io, fail);
    const start = process.hrtime.bigint();
    const result = proc.run(options['max-cycles']);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const status = reportLinux(result, fail);
    if (options.stats) printStats(io, engine, result, seconds, status);
    return status;
  },
};

type Loaded = { image: ElfImage } | { status: number; message: string };

/** Reads and parses PROGRAM, mapping each failure to the shell's status for it. */
function load(program: string): Loaded {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(program);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { status: EXIT.notFound, message: 'no such file' };
    if (code === 'ENOTDIR') return { status: EXIT.notFound, message: 'no such file (a component of the path is not a directory)' };
    if (code === 'EISDIR') return { status: EXIT.cannotExecute, message: 'is a directory' };
    if (code === 'EACCES') return { status: EXIT.cannotExecute, message: 'permission denied' };
    return { status: EXIT.cannotExecute, message: `cannot read: ${(e as Error).message}` };
  }
  try {
    return { image: parseElf32(bytes) };
  } catch (e) {
    if (e instanceof ElfError) return { status: EXIT.cannotExecute, message: `not a valid rv32 executable: ${e.message}` };
    throw e;
  }
}

/** ElfError (does not fit the machine) and RangeError (no room in guest RAM) mean the file cannot run here. */
function loadErrorMessage(e: unknown): string {
  if (e instanceof ElfError) return `cannot load: ${e.message}`;
  if (e instanceof RangeError) return `cannot load: ${e.message}`;
  throw e;
}

function printStats(io: Io, engine: EngineName, r: { instructions: number; cycles: number }, seconds: number, status: number): void {
  const mips = seconds > 0 ? r.instructions / seconds / 1e6 : 0;
  const stats = {
    engine,
    instructions: r.instructions,
    seconds: Math.round(seconds * 1e6) / 1e6,
    mips: Math.round(mips * 100) / 100,
    cycles: r.cycles,
    status,
  };
  io.stderr.write(JSON.stringify(stats) + '\n');
}
