// The compiled build (issue 14 item 3): every app bundles into one CommonJS file that runs with
// plain node and needs no tsx (only the npm packages its workspace libraries declare), and runs the
// same simulation to the same event-log hash as the sources through tsx; the bin launchers pick the
// bundle, or the sources when asked (VSIM_FROM_SOURCE=1) or while there is no fresh bundle.

import { spawnSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'fs';
import { builtinModules } from 'module';
import { join, resolve } from 'path';

const ROOT = resolve(__dirname, '../../..');
const APPS = ['cli', 'gateway', 'hypervisor', 'scheduler', 'cpu-node'];

function node(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every package a workspace package.json declares as a (production) dependency. */
function declaredDependencies(): Set<string> {
  const out = new Set<string>();
  for (const group of ['apps', 'libs']) {
    for (const p of readdirSync(join(ROOT, group)).map((d) => `${group}/${d}`)) {
      const file = join(ROOT, p, 'package.json');
      if (!existsSync(file)) continue;
      for (const d of Object.keys((JSON.parse(readFileSync(file, 'utf8')) as { dependencies?: object }).dependencies ?? {})) out.add(d);
    }
  }
  return out;
}

describe('the compiled build', () => {
  // Inside the repository (dist/ is ignored by git), so the bundles find node_modules as apps/*/dist do.
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  const out = mkdtempSync(join(ROOT, 'dist', 'build-test-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('bundles every app; a bundle requires only Node built-ins and declared production dependencies (never tsx)', () => {
    const r = node(['scripts/build.js', '--outdir', out]);
    expect(r.status).toBe(0);
    const declared = declaredDependencies();
    for (const app of APPS) {
      const code = readFileSync(join(out, app, 'main.js'), 'utf8');
      const required = [...new Set([...code.matchAll(/require\("([^".][^"]*)"\)/g)].map((m) => m[1]))];
      const packages = required.filter((m) => !builtinModules.includes(m.replace(/^node:/, '').split('/')[0]));
      const undeclared = packages.filter((m) => !declared.has(m.startsWith('@') ? m.split('/').slice(0, 2).join('/') : m.split('/')[0]));
      expect({ app, undeclared }).toEqual({ app, undeclared: [] });
      expect(packages).not.toContain('tsx');
    }
  });

  it('the compiled CLI runs the quickstart to the same hash as the sources through tsx', () => {
    const compiled = node([join(out, 'cli', 'main.js'), 'run', 'examples/quickstart.yaml']);
    const source = node(['apps/cli/bin/vsim.js', 'run', 'examples/quickstart.yaml'], { VSIM_FROM_SOURCE: '1' });
    expect(compiled.status).toBe(0);
    expect(source.status).toBe(0);
    const hash = (s: string) => /event-log hash: ([0-9a-f]{64})/.exec(s)?.[1];
    expect(hash(compiled.stdout)).toMatch(/^[0-9a-f]{64}$/);
    expect(hash(source.stdout)).toBe(hash(compiled.stdout));
  });

  it('the launcher says which it runs: the sources when asked, else a bundle not older than the sources', () => {
    expect(node(['apps/cli/bin/vsim.js', '--version'], { VSIM_FROM_SOURCE: '1', VSIM_DEBUG_LAUNCH: '1' }).stderr).toBe(
      'vsim launch cli: source (VSIM_FROM_SOURCE=1)\n',
    );
    const dist = join(ROOT, 'apps/cli/dist/main.js');
    const r = node(['apps/cli/bin/vsim.js', '--version'], { VSIM_FROM_SOURCE: '0', VSIM_DEBUG_LAUNCH: '1' });
    expect(r.stdout).toMatch(/^vsim \d+\.\d+\.\d+\n$/);
    if (!existsSync(dist)) expect(r.stderr).toBe('vsim launch cli: source (no apps/cli/dist/main.js (npm run build))\n');
    else
      expect(r.stderr).toMatch(
        /^vsim launch cli: (dist \(apps\/cli\/dist\/main\.js\)|source \(apps\/cli\/dist\/main\.js is older than the sources\))\n$/,
      );
  });
});
