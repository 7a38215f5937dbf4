// The `vsim` command as a user runs it (apps/cli/bin/vsim.js in a child process), for tests of
// another project that drive it: a test never imports an app's source (Nx module boundaries).

import { execFile } from 'child_process';
import { resolve } from 'path';
import { REPO_ROOT } from './guests';

export interface CliRun {
  /** The exit status (null if a signal ended it). */
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `vsim ARGS...` from the repository's root and resolves when it exits. Asynchronous on
 * purpose: the servers a test runs in its own process (a gateway, say) keep answering meanwhile.
 * `env` is added to the test's environment (e.g. VSIM_CREDENTIALS).
 */
export function runVsim(args: readonly string[], timeoutMs = 60_000, env?: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [resolve(REPO_ROOT, 'apps/cli/bin/vsim.js'), ...args],
      { cwd: REPO_ROOT, encoding: 'utf8', timeout: timeoutMs, env: env && { ...process.env, ...env } },
      (err, stdout, stderr) => {
        const status = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        done({ status, stdout, stderr });
      },
    );
  });
}
