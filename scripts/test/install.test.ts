// Installing vsim as a new user does (issue 14 items 1-2): every instruction says `npm ci`, which
// installs exactly package-lock.json and leaves the tree clean, and every locked package supports
// the Node.js version the README and package.json's `engines` name (no EBADENGINE warning).

import { readFileSync } from 'fs';
import { join } from 'path';

const ROOT = join(__dirname, '..', '..');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

/** Whether `version` (x.y.z) satisfies an npm `engines.node` range of the forms packages use. */
export function satisfies(version: string, range: string): boolean {
  const v = version.split('.').map(Number);
  const parse = (s: string) =>
    s
      .replace(/^v/, '')
      .split('.')
      .map((p) => (p === 'x' || p === '*' ? NaN : Number(p)));
  const cmp = (a: number[], b: number[]) => {
    for (let i = 0; i < 3; i++) {
      if (Number.isNaN(b[i]) || b[i] === undefined) return 0;
      if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
    }
    return 0;
  };
  return range.split('||').some((alt) => {
    const parts = alt
      .trim()
      .replace(/(>=|<=|>|<|\^|~)\s+/g, '$1')
      .split(/\s+/)
      .filter(Boolean);
    return parts.every((c) => {
      const m = /^(>=|<=|>|<|\^|~|=)?(.*)$/.exec(c)!;
      const b = parse(m[2]);
      const d = cmp(v, b);
      switch (m[1]) {
        case '>=':
          return d >= 0;
        case '>':
          return d > 0;
        case '<=':
          return d <= 0;
        case '<':
          return d < 0;
        case '^':
          return d >= 0 && v[0] === b[0];
        case '~':
          return d >= 0 && v[0] === b[0] && (Number.isNaN(b[1]) || b[1] === undefined || v[1] === b[1]);
        default:
          return d === 0 && (Number.isNaN(b[0]) || v[0] === b[0]);
      }
    });
  });
}

describe('install', () => {
  it('the range check reads the forms locked packages use', () => {
    expect(satisfies('20.0.0', '>= 22.x')).toBe(false);
    expect(satisfies('20.0.0', '>=18.0.0')).toBe(true);
    expect(satisfies('20.0.0', '^18.14.0 || ^20.0.0 || ^22.0.0 || >=24.0.0')).toBe(true);
    expect(satisfies('23.1.0', '^18.14.0 || ^20.0.0 || ^22.0.0 || >=24.0.0')).toBe(false);
    expect(satisfies('20.0.0', '18 || 20 || >=22')).toBe(true);
    expect(satisfies('20.0.0', '>=20.19.0')).toBe(false);
  });

  it('every locked package supports the Node.js that package.json engines names', () => {
    const root = JSON.parse(read('package.json')) as { engines?: { node?: string } };
    const floor = /^>=\s*(\d+\.\d+\.\d+)$/.exec(root.engines?.node ?? '');
    expect(floor).not.toBeNull();
    const oldest = floor![1];
    expect(read('README.md')).toContain(`Needs Node.js ${oldest} or later`);
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { engines?: { node?: string } | string[] }> };
    const refused = Object.entries(lock.packages)
      .filter(([, p]) => p.engines && !Array.isArray(p.engines) && p.engines.node && !satisfies(oldest, p.engines.node))
      .map(([name, p]) => `${name} (${(p.engines as { node: string }).node})`);
    expect(refused).toEqual([]);
  });

  it('the README, CI and the Dockerfile install with npm ci, never npm install', () => {
    for (const f of ['README.md', 'apps/cli/README.md', '.ci/run', 'Dockerfile']) {
      expect({ f, install: /npm install\b/.test(read(f)) }).toEqual({ f, install: false });
    }
    expect(read('README.md')).toMatch(/npm ci && npx vsim run examples\/quickstart\.yaml/);
    expect(read('.ci/run')).toMatch(/^npm ci\b/m);
  });

  it('CI installs every outside tool scripts/check-tools.js names', () => {
    const tools = read('scripts/check-tools.js');
    const ci = read('.ci/run');
    const pkgs = [...tools.matchAll(/pkg: '([^']+)'/g)].map((m) => m[1]);
    expect(pkgs).toEqual(expect.arrayContaining(['gdb-multiarch', 'chromium']));
    for (const p of pkgs) expect({ p, installed: ci.includes(`need+=(${p})`) }).toEqual({ p, installed: true });
  });
});
