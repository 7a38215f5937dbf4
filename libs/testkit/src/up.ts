// A `vsim up` cluster for tests that need one running (metrics, the live dashboard, `vsim top`):
// the real command in a child process, with the addresses, token and credentials it printed.

import { ChildProcess, spawn } from 'child_process';
import { rmSync } from 'fs';
import { resolve } from 'path';
import { REPO_ROOT } from './guests';

export interface UpCluster {
  readonly natsUrl: string;
  /** The gateway's HTTP base URL, e.g. http://127.0.0.1:PORT. */
  readonly httpUrl: string;
  /** The API principal `client`'s bearer token. */
  readonly token: string;
  /** The client credentials file (VSIM_CREDENTIALS). */
  readonly credentials: string;
  /** Each service's Prometheus /metrics URL, by service name (hypervisor, scheduler, cpu-node-1, ..., gateway). */
  readonly metrics: Readonly<Record<string, string>>;
  /** Everything it printed on stdout. */
  readonly stdout: string;
  /** The `vsim up` process's id (its services are its descendants). */
  readonly pid: number;
  /** Stops it with SIGINT (SIGKILL after 20 s), removes its log directory, resolves with its exit code. */
  stop(): Promise<number | null>;
}

/** Starts `vsim up ARGS...` and resolves once it printed `vsim up: ready`. */
export async function startVsimUp(args: readonly string[] = [], readyTimeoutMs = 60_000): Promise<UpCluster> {
  const up: ChildProcess = spawn(process.execPath, [resolve(REPO_ROOT, 'apps/cli/bin/vsim.js'), 'up', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  up.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  up.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<number | null>((r) => up.once('exit', (code) => r(code)));
  const deadline = Date.now() + readyTimeoutMs;
  while (!/^vsim up: ready/m.test(stdout)) {
    if (up.exitCode !== null) throw new Error(`vsim up exited ${up.exitCode}: ${stderr}`);
    if (Date.now() > deadline) {
      up.kill('SIGKILL');
      throw new Error(`vsim up not ready after ${readyTimeoutMs / 1000} s: ${stdout}${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const line = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(stdout)![1];
  const metrics = Object.fromEntries([...stdout.matchAll(/^metrics: (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
  return {
    natsUrl: line('NATS').split(' ')[0],
    httpUrl: line('gateway HTTP'),
    token: line('token'),
    credentials: line('credentials'),
    metrics,
    stdout,
    pid: up.pid!,
    stop: async () => {
      if (up.exitCode === null) up.kill('SIGINT');
      const timer = setTimeout(() => up.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      rmSync(line('logs'), { recursive: true, force: true });
      return code;
    },
  };
}
