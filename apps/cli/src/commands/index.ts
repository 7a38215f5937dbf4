// Every top-level vsim command. A new command is a module in this folder exporting a Command,
// added to this list (order is the order `vsim help` shows).

import { Command } from '../command';
import { execCommand } from './exec';
import { helpCommand } from './help';
import { runCommand } from './run';
import { reportCommand } from './report';
import { composeCommand } from './compose';
import { secretsCommand } from './secrets';
import { upCommand } from './up';
import { isaCommand } from './isa';
import { XL_SCHED_COMMANDS, schedCommand } from './sched';
import { schedCheckCommand } from './sched-check';
import { listCommand } from './list';
import { vcpuListCommand, vcpuPinCommand } from './vcpu';
import { cpupoolListCommand, cpupoolMigrateCommand } from './cpupool';
import { topCommand } from './top';
import { gdbCommand } from './gdb';
import { traceCommand } from './trace';
import { migrateCommand } from './migrate';

export const COMMANDS: readonly Command[] = [
  runCommand,
  reportCommand,
  traceCommand,
  upCommand,
  topCommand,
  gdbCommand,
  composeCommand,
  secretsCommand,
  execCommand,
  isaCommand,
  listCommand,
  schedCommand,
  ...XL_SCHED_COMMANDS,
  schedCheckCommand,
  vcpuListCommand,
  vcpuPinCommand,
  cpupoolListCommand,
  cpupoolMigrateCommand,
  migrateCommand,
  helpCommand(() => COMMANDS),
];
