// Where a deployment's secrets may live, and the spec `vsim up` and `vsim secrets` generate them
// from. Secrets are never written inside a git work tree: a directory that some repository would
// track (or could be told to) is refused, which is how "never committed" is kept.

import { existsSync } from 'fs';
import { dirname, join, resolve } from 'path';
import { DeploymentSecretsSpec } from '@vsim/security';
import { cpuNodesOf } from './services';

/** The git work tree `dir` (existing or not) lies in, or undefined. */
export function enclosingWorkTree(dir: string): string | undefined {
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return d;
    if (dirname(d) === d) return undefined;
  }
}

/** Throws unless `dir` is a place secrets may be written to. */
export function checkSecretsDir(dir: string): void {
  const repo = enclosingWorkTree(dir);
  if (repo !== undefined)
    throw new Error(`${dir} is inside the git work tree ${repo}: secrets must live outside any repository (e.g. ~/.vsim/secrets)`);
}

export function secretsSpec(
  cpuNodes: number,
  opts: { clients?: readonly string[]; tlsDir?: string; schedulers?: number; hypervisors?: number } = {},
): DeploymentSecretsSpec {
  const tls =
    opts.tlsDir === undefined
      ? undefined
      : { ca: join(opts.tlsDir, 'ca.pem'), cert: join(opts.tlsDir, 'cert.pem'), key: join(opts.tlsDir, 'key.pem') };
  if (tls)
    for (const f of Object.values(tls))
      if (!existsSync(f)) throw new Error(`--tls-dir: ${f} not found (the directory must hold ca.pem, cert.pem and key.pem)`);
  return { cpuNodes: cpuNodesOf(cpuNodes), clients: opts.clients, tls, schedulers: opts.schedulers, hypervisors: opts.hypervisors };
}
