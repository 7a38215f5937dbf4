// Runs the buf CLI of node_modules (@bufbuild/buf: a node launcher for the platform binary that
// npm installs beside it) in libs/proto, as `npm run -w libs/proto generate|lint` does.
import { spawnSync } from 'child_process';
import { dirname, join } from 'path';

export const PROTO_ROOT = join(__dirname, '..', '..');

export function buf(args: string[]): { status: number | null; output: string } {
  const bin = join(dirname(require.resolve('@bufbuild/buf/package.json')), 'bin', 'buf');
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: PROTO_ROOT, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}
