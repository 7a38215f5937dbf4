// What `--report --trace` cost a run: `npm run bench:report [-- --runs N --scenario FILE --json OUT]`
// (or `npm run bench report -- ...`). The scenario (default examples/techniques.yaml) runs embedded
// in this process, alternately without outputs and with the HTML report and the Chrome trace
// written (as `vsim run --report --trace` does), after one warm-up of each, in alternating order; it prints the median
// wall time of each, the ratio with/without (the goal: at most 1.10), and where the extra time
// goes. Wall-clock figures: they vary from run to run.

import { mkdtempSync, rmSync, statSync, writeFileSync } from 'fs';
import { cpus, tmpdir } from 'os';
import { join, resolve } from 'path';
import { runEmbedded, simSpecFromScenario } from '@vsim/control';
import { buildReportData, writeChromeTrace, writeHtml, writeTo } from '@vsim/report';
import { loadScenario } from '@vsim/scenario';

const ROOT = resolve(__dirname, '..');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = () => Number(process.hrtime.bigint()) / 1e6;

function option(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

export async function main(argv: readonly string[]): Promise<number> {
  const runs = Number(option(argv, 'runs') ?? 5);
  const scenario = resolve(ROOT, option(argv, 'scenario') ?? 'examples/techniques.yaml');
  const out = option(argv, 'json');
  const spec = simSpecFromScenario(loadScenario(scenario));
  const dir = mkdtempSync(join(tmpdir(), 'vsim-bench-report-'));
  const without: number[] = [];
  const withOutputs: number[] = [];
  const parts = { data: [] as number[], html: [] as number[], trace: [] as number[] };
  let sizes = { html: 0, trace: 0 };
  try {
    const alone = async (keep: boolean) => {
      const t = ms();
      await runEmbedded(spec);
      if (keep) without.push(ms() - t);
    };
    const withAll = async (keep: boolean) => {
      const t = ms();
      const { result, log } = await runEmbedded(spec);
      const t1 = ms();
      const data = buildReportData(result, log.all());
      const t2 = ms();
      writeTo(join(dir, 'r.html'), (write) => writeHtml(data, write));
      const t3 = ms();
      writeTo(join(dir, 't.json'), (write) => writeChromeTrace(result, log.all(), write));
      const t4 = ms();
      if (keep) {
        withOutputs.push(t4 - t);
        parts.data.push(t2 - t1);
        parts.html.push(t3 - t2);
        parts.trace.push(t4 - t3);
      }
      sizes = { html: statSync(join(dir, 'r.html')).size, trace: statSync(join(dir, 't.json')).size };
    };
    // Round 0 warms both up; the order alternates so that neither always runs second (after the
    // other's garbage).
    for (let i = 0; i <= runs; i++) {
      if (i % 2 === 0) {
        await alone(i > 0);
        await withAll(i > 0);
      } else {
        await withAll(true);
        await alone(true);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const a = median(without);
  const b = median(withOutputs);
  const ratio = b / a;
  // The outputs' own time over the run's: steadier than the ratio on a loaded machine.
  const own = (median(parts.data) + median(parts.html) + median(parts.trace)) / a;
  const lines = [
    `bench:report  ${scenario.replace(`${ROOT}/`, '')}, ${runs} runs each (medians), ${cpus().length} cores, node ${process.version}`,
    `  run alone                      ${a.toFixed(0).padStart(7)} ms`,
    `  run + --report + --trace       ${b.toFixed(0).padStart(7)} ms`,
    `    report data                  ${median(parts.data).toFixed(1).padStart(7)} ms`,
    `    HTML written                 ${median(parts.html).toFixed(1).padStart(7)} ms   (${(sizes.html / 1e6).toFixed(2)} MB)`,
    `    Chrome trace written         ${median(parts.trace).toFixed(1).padStart(7)} ms   (${(sizes.trace / 1e6).toFixed(2)} MB)`,
    `  ratio with / without           ${ratio.toFixed(3).padStart(7)}     (goal <= 1.100: ${ratio <= 1.1 ? 'met' : 'NOT met'})`,
    `  outputs' own time / run alone  ${(1 + own).toFixed(3).padStart(7)}     (the same goal, from the parts above)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (out)
    writeFileSync(
      out,
      JSON.stringify({ bench: 'report', scenario, runs, withoutMs: without, withMs: withOutputs, parts, sizes, ratio, ownRatio: 1 + own }, null, 2),
    );
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`bench:report: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
