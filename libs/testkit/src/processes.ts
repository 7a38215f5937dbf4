// vsim's services as child processes (`node --import tsx apps/<svc>/src/main.ts`), for tests about
// distribution and faults: each child's JSON log lines are collected, its exit awaited.

import { ChildProcess, spawn } from 'child_process';
import { resolve } from 'path';
import { REPO_ROOT } from './guests';

export interface ServiceProcess {
  readonly name: string;
  readonly proc: ChildProcess;
  /** Its log lines (pino JSON; `{raw}` for anything else). */
  readonly lines: Record<string, unknown>[];
  readonly exited: Promise<number | null>;
}

/** Starts apps/`app` with `--nats natsUrl` and `args`. */
export function startServiceProcess(app: string, args: readonly string[], natsUrl: string): ServiceProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', `apps/${app}/src/main.ts`, '--nats', natsUrl, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, TSX_TSCONFIG_PATH: resolve(REPO_ROOT, 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => {
    buf += s;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ raw: line });
      }
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', () => undefined);
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { name: app, proc, lines, exited };
}

/** Polls `f` every `everyMs` until it returns a value; throws naming `what` after `timeoutMs`. */
export async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs: number, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
