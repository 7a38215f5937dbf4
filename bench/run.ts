// Entry point for every vsim benchmark: `npm run bench <name> [-- options]`, e.g.
//   npm run bench isa -- --quick
// Each bench is a module exporting main(argv) => Promise<exit code>; later benches (runtime, virt,
// sched) add a line to BENCHES.

import { main as isa } from './isa';
import { main as report } from './report';
import { main as runtime } from './runtime';
import { main as scale } from './scale';
import { main as snapshot } from './snapshot';

const BENCHES: Record<string, (argv: readonly string[]) => Promise<number>> = {
  isa,
  report,
  runtime,
  scale,
  snapshot,
};

async function run(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  const bench = name === undefined ? undefined : BENCHES[name];
  if (!bench) {
    process.stderr.write(
      `usage: npm run bench <${Object.keys(BENCHES).join('|')}> [-- options]${name === undefined ? '' : ` (unknown bench '${name}')`}\n`,
    );
    return 2;
  }
  return bench(rest);
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
