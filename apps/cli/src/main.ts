// The vsim command line: `vsim COMMAND [ARGS...]`. This module only dispatches; each command is
// a module under commands/. Run by bin/vsim.js through tsx, so no build step is needed.

import { UsageError } from './args';
import { EXIT } from './command';
import { COMMANDS } from './commands';
import { overview } from './commands/help';
import { dispatch } from './dispatch';
import { Io, processIo } from './io';
import { version } from './version';

export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  try {
    const first = argv[0];
    if (first === undefined) {
      io.stderr.write(overview(COMMANDS));
      return EXIT.usage;
    }
    if (first === '-h' || first === '--help') {
      io.stdout.write(overview(COMMANDS));
      return EXIT.ok;
    }
    if (first === '-V' || first === '--version') {
      io.stdout.write(`vsim ${version()}\n`);
      return EXIT.ok;
    }
    return await dispatch(COMMANDS, argv, io, 'vsim');
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`${e.message.startsWith('vsim:') ? '' : 'vsim: '}${e.message}\n`);
      return EXIT.usage;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    io.stderr.write(`vsim: internal error: ${err.message}\n`);
    if (process.env.VSIM_DEBUG) io.stderr.write(`${err.stack}\n`);
    return EXIT.internal;
  }
}

/** The process entry point (bin/vsim.js): runs main on the process's arguments and sets its exit status. */
export function cli(): void {
  void main(process.argv.slice(2)).then((status) => {
    process.exitCode = status;
  });
}

if (require.main === module) cli(); // also runnable as `tsx apps/cli/src/main.ts ...`
