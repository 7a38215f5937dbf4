// The test run stays readable (issue 14 item 14): no test prints unless asked (measured figures go
// behind VSIM_TEST_VERBOSE=1), and every skipped test carries its reason in its title, one line
// ("(skipped: nats-server not found; install it with ...)"), which jest --verbose and the JSON report show.

import { readdirSync, readFileSync, statSync } from 'fs';
import { join, relative } from 'path';

const ROOT = join(__dirname, '..', '..');

function testFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) testFiles(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const FILES = ['libs', 'apps', 'guests', 'bench', 'scripts'].flatMap((d) => testFiles(join(ROOT, d))).filter((f) => f !== __filename);
// (process.stderr.write stays allowed: the tests use it only to show a crashed child's output.)
const CONSOLE = new RegExp(`(${['console', '(log|info|warn|error|debug)'].join('\\.')}|${['process', 'stdout', 'write'].join('\\.')})\\(`);
const SKIP = new RegExp(['\\b(it|test|describe)', 'skip\\b'].join('\\.'));

describe('the test files', () => {
  it('are found', () => {
    expect(FILES.length).toBeGreaterThan(50);
  });

  it('print nothing unless VSIM_TEST_VERBOSE is set', () => {
    const loud = FILES.flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        // Prettier may put the guard on the line above the call (`if (VERBOSE)` then `console.log(`).
        .map((line, i, lines) => ({ line, guard: `${lines[i - 1] ?? ''}\n${line}`, at: `${relative(ROOT, f)}:${i + 1}` }))
        .filter(({ line, guard }) => CONSOLE.test(line) && !/\bVERBOSE\b/.test(guard))
        .map(({ at }) => at),
    );
    expect(loud).toEqual([]);
  });

  it('skip only with the reason in the title', () => {
    const silent = FILES.flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        // Prettier may put the title on the line after `(cond ? it : it.skip)(`.
        .map((line, i, lines) => ({ line, title: lines.slice(i, i + 3).join('\n'), at: `${relative(ROOT, f)}:${i + 1}` }))
        .filter(({ line, title }) => SKIP.test(line) && !/skipped/.test(title))
        .map(({ at }) => at),
    );
    expect(silent).toEqual([]);
  });
});
