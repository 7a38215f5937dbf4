// Starts a nats-server on loopback — every test's throwaway server, and `vsim up`'s — as nats.js's
// own test launcher (nst/src/launcher.ts) does: the binary from PATH, bound to 127.0.0.1 on a random
// port (-p -1) that the server reports through a ports file in a temporary directory, optionally
// with JetStream storing into that directory. Nothing is faked: tests talk to a real server. Never
// the shared one on 4222.

import { ChildProcess, spawn } from 'child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'fs';
import { createConnection } from 'net';
import { tmpdir } from 'os';
import { delimiter, join } from 'path';

/** The one line shown (or thrown) when the binary is missing. */
export const NATS_SERVER_MISSING = 'nats-server not found; install it with: apt-get install -y nats-server';

export interface NatsServerOptions {
  /** Enable JetStream, storing into the server's temporary directory. */
  jetstream?: boolean;
  /** How long to wait for the server to accept connections. Default 10 s. */
  startTimeoutMs?: number;
  /** Extra command-line arguments. */
  args?: string[];
}

export interface NatsServer {
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** The nats-server process id. */
  readonly pid: number | undefined;
  /** Its temporary directory (ports file; JetStream store under `js/`), removed by stop(). */
  readonly dir: string;
  /** Stops the server and removes its temporary directory. Idempotent. */
  stop(): Promise<void>;
}

/** The path of `nats-server` on PATH, or undefined. */
export function findNatsServer(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, 'nats-server');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const bin = findNatsServer();
  if (!bin) throw new Error(NATS_SERVER_MISSING);
  const timeoutMs = opts.startTimeoutMs ?? 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'vsim-nats-'));
  const args = [
    '-a',
    '127.0.0.1',
    '-p',
    '-1',
    '--ports_file_dir',
    dir,
    ...(opts.jetstream ? ['-js', '-sd', join(dir, 'js')] : []),
    ...(opts.args ?? []),
  ];

  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // A test process that dies without stop() must not leave servers behind.
    process.once('exit', () => running.forEach((c) => c.kill('SIGKILL')));
  }
  let log = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    log = (log + s).slice(-4000); // the server logs to stderr; keep the tail for error messages
  });
  let exited = false;
  const exitedP = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  child.once('error', () => undefined); // reported through `exited` below

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      if (!exited) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exitedP;
        clearTimeout(t);
      }
      running.delete(child);
      rmSync(dir, { recursive: true, force: true });
    })());

  try {
    const deadline = Date.now() + timeoutMs;
    const fail = (why: string) => new Error(`nats-server ${why}${log ? `:\n${log.trim()}` : ''}`);
    // 1. The server writes nats-server_<pid>.ports once it listens.
    let port: number | undefined;
    while (port === undefined) {
      if (exited) throw fail(`exited with code ${child.exitCode}`);
      if (Date.now() > deadline) throw fail(`did not start within ${timeoutMs} ms`);
      port = readPort(dir, child.pid);
      if (port === undefined) await sleep(20);
    }
    // 2. And accepts connections.
    while (!(await accepts(port))) {
      if (exited) throw fail(`exited with code ${child.exitCode}`);
      if (Date.now() > deadline) throw fail(`did not accept connections within ${timeoutMs} ms`);
      await sleep(20);
    }
    return { url: `nats://127.0.0.1:${port}`, port, pid: child.pid, dir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function readPort(dir: string, pid: number | undefined): number | undefined {
  const name = pid === undefined ? readdirSync(dir).find((f) => f.endsWith('.ports')) : `nats-server_${pid}.ports`;
  const file = name && join(dir, name);
  if (!file || !existsSync(file)) return undefined;
  try {
    const { nats } = JSON.parse(readFileSync(file, 'utf8')) as { nats?: string[] };
    const m = /:(\d+)$/.exec(nats?.[0] ?? '');
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined; // partly written
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => (s.destroy(), resolve(false)));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
