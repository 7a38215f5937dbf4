// Keeps a set of child processes running, as `vsim up` needs: a child that dies is started again
// (after 0.25, 0.5, 1, 2, 4, 5, 5 … s), not the whole cluster stopped; one that keeps dying
// (`maxRestarts` within `windowMs`) is given up on and reported, the others go on. Each child's
// output is appended to its own log file, which outlives the supervisor; a child may also have its
// lines read (nats-server's, for the security audit). stop() ends them with SIGTERM (SIGKILL after
// a grace period), the first one added last. Children run in their own process group, so a
// terminal's Ctrl-C reaches the supervisor alone, which then stops them in order, each once (a
// service takes a second signal as "exit now"); if the supervisor's process exits any other way
// it still sends them SIGTERM — only a SIGKILL of it leaves them running.

import { ChildProcess, spawn } from 'child_process';
import { WriteStream, closeSync, createWriteStream, openSync, writeSync } from 'fs';

export interface ChildSpec {
  /** Unique: messages and the log file name use it. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Appended to; every (re)start adds a marker line. */
  readonly logFile: string;
  /** Each line of output, as it comes (the output still goes to the log file). */
  readonly onLine?: (line: string) => void;
}

export interface SupervisorOptions {
  /** Restarts allowed within `windowMs` before the child is given up on. Default 5 in 60 s. */
  readonly maxRestarts?: number;
  readonly windowMs?: number;
  /** SIGTERM to SIGKILL. Default 5 s. */
  readonly graceMs?: number;
  /** One line per event (a child exited, restarted, given up on), for the operator. */
  readonly report?: (line: string) => void;
}

export interface ChildStatus {
  readonly name: string;
  readonly pid: number | undefined;
  /** How many times it was started again. */
  readonly restarts: number;
  readonly state: 'running' | 'restarting' | 'given up' | 'stopped';
}

interface Entry {
  readonly spec: ChildSpec;
  proc?: ChildProcess;
  exited?: Promise<void>;
  restarts: number;
  recent: number[];
  state: ChildStatus['state'];
  timer?: NodeJS.Timeout;
  log?: WriteStream;
}

const BACKOFF_MS = [250, 500, 1000, 2000, 4000, 5000];

/** Every child of every supervisor in this process, for the exit hook. */
const live = new Set<ChildProcess>();
let exitHook = false;

export class Supervisor {
  private readonly entries: Entry[] = [];
  private stopping = false;
  private readonly listeners = new Set<(name: string, code: number | null, signal: NodeJS.Signals | null) => void>();

  constructor(private readonly opts: SupervisorOptions = {}) {
    if (!exitHook) {
      exitHook = true;
      process.once('exit', () => {
        for (const c of live) c.kill('SIGTERM');
      });
    }
  }

  /** Starts a child and keeps it running. */
  add(spec: ChildSpec): void {
    if (this.entries.some((e) => e.spec.name === spec.name)) throw new Error(`a child named ${spec.name} is already supervised`);
    const e: Entry = { spec, restarts: 0, recent: [], state: 'running' };
    this.entries.push(e);
    this.launch(e);
  }

  status(): ChildStatus[] {
    return this.entries.map((e) => ({ name: e.spec.name, pid: e.proc?.pid, restarts: e.restarts, state: e.state }));
  }

  pid(name: string): number | undefined {
    return this.entries.find((e) => e.spec.name === name)?.proc?.pid;
  }

  /** Called whenever a child exits (before any restart). */
  onExit(f: (name: string, code: number | null, signal: NodeJS.Signals | null) => void): void {
    this.listeners.add(f);
  }

  /**
   * Stops every child: all but the first added at once, then the first (vsim up adds nats-server
   * first, so the services can drain their NATS connections before it goes). Idempotent.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    const [first, ...rest] = this.entries;
    await Promise.all(rest.map((e) => this.stopOne(e)));
    if (first) await this.stopOne(first);
  }

  private async stopOne(e: Entry): Promise<void> {
    clearTimeout(e.timer);
    const p = e.proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), this.opts.graceMs ?? 5000);
      await e.exited;
      clearTimeout(t);
    }
    e.state = 'stopped';
    await new Promise<void>((r) => (e.log ? e.log.end(r) : r()));
    e.log = undefined;
  }

  private launch(e: Entry): void {
    const { spec } = e;
    const marker = `--- vsim up: ${spec.name} started ${new Date().toISOString()}${e.restarts > 0 ? ` (restart ${e.restarts})` : ''} ---\n`;
    let proc: ChildProcess;
    if (spec.onLine) {
      // Read its lines: pipe them, and copy them to the log file.
      e.log ??= createWriteStream(spec.logFile, { flags: 'a' });
      e.log.write(marker);
      proc = spawn(spec.command, [...spec.args], { cwd: spec.cwd, env: spec.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      const log = e.log;
      let buf = '';
      const onData = (s: string) => {
        log.write(s);
        buf += s;
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          spec.onLine!(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      };
      proc.stdout!.setEncoding('utf8').on('data', onData);
      proc.stderr!.setEncoding('utf8').on('data', onData);
    } else {
      const fd = openSync(spec.logFile, 'a');
      try {
        writeSync(fd, marker);
        proc = spawn(spec.command, [...spec.args], { cwd: spec.cwd, env: spec.env, stdio: ['ignore', fd, fd], detached: true });
      } finally {
        closeSync(fd);
      }
    }
    e.proc = proc;
    e.state = 'running';
    live.add(proc);
    proc.once('error', () => undefined); // a failed spawn also exits (code null): handled below
    e.exited = new Promise<void>((resolve) =>
      proc.once('exit', (code, signal) => {
        live.delete(proc);
        resolve();
        for (const f of this.listeners) f(spec.name, code, signal);
        if (!this.stopping) this.restartLater(e, code, signal);
      }),
    );
  }

  private restartLater(e: Entry, code: number | null, signal: NodeJS.Signals | null): void {
    const now = Date.now();
    const windowMs = this.opts.windowMs ?? 60_000;
    e.recent = e.recent.filter((t) => now - t < windowMs);
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (e.recent.length >= (this.opts.maxRestarts ?? 5)) {
      e.state = 'given up';
      this.opts.report?.(`${e.spec.name} exited (${how}) ${e.recent.length + 1} times within ${windowMs / 1000} s: given up (see ${e.spec.logFile})`);
      return;
    }
    const delay = BACKOFF_MS[Math.min(e.recent.length, BACKOFF_MS.length - 1)];
    e.recent.push(now);
    e.state = 'restarting';
    this.opts.report?.(`${e.spec.name} exited (${how}): restarting in ${delay} ms (see ${e.spec.logFile})`);
    e.timer = setTimeout(() => {
      if (this.stopping) return;
      e.restarts++;
      this.launch(e);
    }, delay);
  }
}
