// Subcommand dispatch, shared by the top level (`vsim exec ...`) and by any command group that
// has subcommands of its own (e.g. a future `vsim isa analyze ...`, whose `run` calls dispatch
// with its own table and prefix 'vsim isa').

import { closest, usageError } from './args';
import { Command } from './command';
import { Io } from './io';

/** The list of commands, for help text. */
export function commandList(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join('\n');
}

export function findCommand(commands: readonly Command[], name: string, prefix: string): Command {
  const found = commands.find((c) => c.name === name);
  if (found) return found;
  const guess = closest(
    name,
    commands.map((c) => c.name),
  );
  throw usageError(prefix, `unknown command '${name}'${guess ? `; did you mean '${guess}'?` : ''} (see '${prefix} help')`);
}

/** Runs argv[0] as one of `commands` with the rest of argv. */
export function dispatch(commands: readonly Command[], argv: readonly string[], io: Io, prefix: string): number | Promise<number> {
  if (argv.length === 0) throw usageError(prefix, `missing command (see '${prefix} help')`);
  const [name, ...rest] = argv;
  if (name.startsWith('-')) throw usageError(prefix, `unknown option '${name}' (see '${prefix} help')`);
  return findCommand(commands, name, prefix).run(rest, io);
}
