// The generated code is committed; regenerating must not change a byte of it.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join, relative } from 'path';
import { PROTO_ROOT, buf } from './helpers/buf';

function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(relative(dir, join(d, e.name)));
    }
  };
  try {
    walk(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return out.sort();
}

it('src/gen is what `npm run proto` generates', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'vsim-proto-'));
  try {
    // --output prefixes the template's `out` (src/gen): same template, same plugin, another place.
    const r = buf(['generate', '--output', tmp]);
    if (r.status !== 0) throw new Error(`buf generate failed (exit ${r.status}):\n${r.output}`);
    const committedDir = join(PROTO_ROOT, 'src', 'gen');
    const freshDir = join(tmp, 'src', 'gen');
    const committed = files(committedDir);
    const fresh = files(freshDir);
    const differing = [
      ...fresh.filter((f) => !committed.includes(f)).map((f) => `missing: src/gen/${f}`),
      ...committed.filter((f) => !fresh.includes(f)).map((f) => `stale: src/gen/${f}`),
      ...fresh
        .filter((f) => committed.includes(f))
        .filter((f) => !readFileSync(join(freshDir, f)).equals(readFileSync(join(committedDir, f))))
        .map((f) => `differs: src/gen/${f}`),
    ];
    if (differing.length > 0) {
      throw new Error(`libs/proto/src/gen is out of date:\n  ${differing.join('\n  ')}\nrun: npm run proto`);
    }
    expect(fresh.length).toBeGreaterThan(0);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

it('src/index.ts re-exports every generated file', () => {
  const index = readFileSync(join(PROTO_ROOT, 'src', 'index.ts'), 'utf8');
  const missing = files(join(PROTO_ROOT, 'src', 'gen'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `./gen/${f.replace(/\.ts$/, '')}`)
    .filter((m) => !index.includes(`export * from '${m}';`));
  if (missing.length > 0) {
    throw new Error(`add to libs/proto/src/index.ts:\n${missing.map((m) => `export * from '${m}';`).join('\n')}`);
  }
});
