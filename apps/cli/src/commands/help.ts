// `vsim help [COMMAND]`: the overview, or one command's help.

import { usageError } from '../args';
import { Command, EXIT } from '../command';
import { commandList, findCommand } from '../dispatch';

export function overview(commands: readonly Command[]): string {
  return `Usage: vsim COMMAND [ARGS...]

A simulator of CPU virtualization.

Commands:
${commandList(commands)}

Options:
  -h, --help     show this help (vsim COMMAND --help: that command's help)
  -V, --version  print the version

Run 'vsim help COMMAND' for a command's options and exit statuses.
`;
}

/** The help command needs the full table, which includes itself: hence a factory. */
export function helpCommand(commands: () => readonly Command[]): Command {
  return {
    name: 'help',
    summary: "show this overview, or a command's help (vsim help exec)",
    help: 'Usage: vsim help [COMMAND]\n\nShows the overview of vsim, or the help of COMMAND.\n',
    run(argv, io) {
      if (argv.length > 1) throw usageError('vsim help', `expected at most one COMMAND, got ${argv.length} arguments`);
      io.stdout.write(argv.length === 0 ? overview(commands()) : findCommand(commands(), argv[0], 'vsim').help);
      return EXIT.ok;
    },
  };
}
