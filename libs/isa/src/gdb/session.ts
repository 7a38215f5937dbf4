// One gdb connection to one target, independent of the transport: bytes from gdb go in through
// receive(), bytes for gdb come out through `send`. The session owns what a stub adds to a bare
// register file and memory — acknowledgements, software breakpoints, single step, continue in
// slices that an interrupt (Ctrl-C) can stop, and the stop replies gdb expects: T05 at a
// breakpoint or after a step, the guest's own signal on a trap, W on exit, X when a signal kills it.
//
// Breakpoints are the guest ISA's breakpoint instruction written into guest memory while the
// target runs and taken out whenever it stops, so gdb always reads the program's own code, and
// every engine sees them as it sees self-modifying code: the write invalidates translations.

import { FreeRun, GdbTarget, TargetStop } from './target';
import { E_BAD_PACKET, E_FAULT, PACKET_SIZE, THREAD_ID, stateCommand } from './commands';
import { PacketReader, framePacket } from './packet';

export const SIGINT = 2;
export const SIGTRAP = 5;

/** How a session ended, for its owner to act on (exit, keep running, ...). */
export type SessionEnd =
  | { readonly kind: 'exited'; readonly status: number }
  /** gdb resumed the program with a signal it does not survive (Linux's default action). */
  | { readonly kind: 'signalled'; readonly signal: number }
  /** gdb sent k. */
  | { readonly kind: 'killed' }
  /** gdb detached (D) or the connection closed: the program may run on undebugged. */
  | { readonly kind: 'detached' };

export interface GdbSessionOptions {
  /** Cycles a continue runs between looks at the connection for an interrupt (default 1,000,000). */
  readonly sliceCycles?: number;
  /** Schedules the next slice of a continue; setImmediate where there is one. */
  readonly defer?: (fn: () => void) => void;
}

const NONE: ReadonlySet<number> = new Set();

type Resume = { readonly step: boolean; readonly signal: number };

export class GdbSession {
  private readonly reader = new PacketReader();
  private readonly sliceCycles: number;
  private readonly defer: (fn: () => void) => void;
  private ackMode = true;
  private lastSent = '';
  private running = false;
  private interruptRequested = false;
  private ended = false;
  /** Packets that arrived while the target ran (gdb does not send any in all-stop mode, but a queue is cheap). */
  private readonly queued: string[] = [];
  /** The reply to `?`: why the target is stopped. A freshly started program is stopped with SIGTRAP. */
  private stopReply = `T05thread:${THREAD_ID};`;
  private readonly breakpoints = new Set<number>();
  /** Original bytes under each breakpoint while they are in guest memory. */
  private readonly inserted = new Map<number, Uint8Array>();
  private insertedAddresses: ReadonlySet<number> = NONE;

  constructor(
    private readonly target: GdbTarget,
    private readonly send: (wire: string) => void,
    private readonly onEnd: (end: SessionEnd) => void,
    options: GdbSessionOptions = {},
  ) {
    this.sliceCycles = options.sliceCycles ?? 1_000_000;
    const g = globalThis as { setImmediate?: (fn: () => void) => void };
    this.defer = options.defer ?? g.setImmediate ?? ((fn) => setTimeout(fn, 0));
  }

  /** True once the session has ended (program exited or killed, or gdb detached). */
  get done(): boolean {
    return this.ended;
  }

  /** Bytes from gdb: a latin1 string or raw bytes. */
  receive(data: Uint8Array | string): void {
    for (const ev of this.reader.feed(data)) {
      if (this.ended) return;
      switch (ev.kind) {
        case 'packet':
          if (this.ackMode) this.send('+');
          if (this.running) this.queued.push(ev.payload);
          else this.handle(ev.payload);
          break;
        case 'corrupt':
          this.send('-');
          break;
        case 'nak':
          if (this.lastSent) this.send(this.lastSent);
          break;
        case 'interrupt':
          if (this.running) {
            this.interruptRequested = true;
            this.target.freeRun?.halt();
          }
          break;
        case 'ack':
          break;
      }
    }
  }

  /** The connection closed without k or D: breakpoints come out and the program is left to run. */
  disconnect(): void {
    if (this.ended) return;
    this.removeBreakpoints();
    this.finish({ kind: 'detached' });
  }

  private reply(payload: string): void {
    this.lastSent = framePacket(payload);
    this.send(this.lastSent);
  }

  private finish(end: SessionEnd): void {
    this.ended = true;
    this.onEnd(end);
  }

  private handle(payload: string): void {
    const resume = parseResume(payload);
    if (resume === 'malformed') return this.reply(E_BAD_PACKET);
    if (resume) return this.resume(resume);
    switch (payload[0]) {
      case '?':
        return this.reply(this.stopReply);
      case 'Z':
      case 'z':
        return this.reply(this.breakpoint(payload));
      case 'k':
        // No reply: gdb closes the connection.
        return this.finish({ kind: 'killed' });
      case 'D':
        this.reply('OK');
        return this.finish({ kind: 'detached' });
    }
    if (payload.startsWith('qSupported')) {
      return this.reply(`PacketSize=${PACKET_SIZE.toString(16)};qXfer:features:read+;QStartNoAckMode+;vContSupported+`);
    }
    if (payload === 'QStartNoAckMode') {
      this.reply('OK'); // still acknowledged: the mode changes after this reply
      this.ackMode = false;
      return;
    }
    if (payload === 'vCont?') return this.reply('vCont;c;C;s;S');
    if (payload === 'qAttached') return this.reply('0'); // we started the program: quitting gdb kills it
    this.reply(stateCommand(this.target, payload) ?? '');
  }

  /** Z0/Z1 (software or "hardware" breakpoint: the same thing in an emulator) and z0/z1. */
  private breakpoint(payload: string): string {
    const m = /^([Zz])([01]),([0-9a-fA-F]+),([0-9a-fA-F]+)/.exec(payload);
    if (!m) return payload[1] === '0' || payload[1] === '1' ? E_BAD_PACKET : ''; // watchpoints: unsupported
    const addr = parseInt(m[3], 16) >>> 0;
    if (m[1] === 'z') {
      this.breakpoints.delete(addr);
      return 'OK';
    }
    if (!this.target.readMemory(addr, this.target.breakpointInstruction.length)) return E_FAULT;
    this.breakpoints.add(addr);
    return 'OK';
  }

  private resume(r: Resume): void {
    if (r.signal !== 0 && r.signal !== SIGTRAP && r.signal !== SIGINT) {
      // Passing the program a fatal signal (gdb does so for the SIGILL or SIGSEGV it stopped on).
      this.reply(`X${hex2(r.signal)}`);
      return this.finish({ kind: 'signalled', signal: r.signal });
    }
    if (!r.step && this.target.freeRun) return this.freeRun(this.target.freeRun);
    // The first instruction runs without breakpoints in memory, so resuming from one executes the
    // program's own instruction there rather than stopping again at once.
    const first = this.target.resume(1, NONE);
    if (r.step || first.kind !== 'budget') return this.stopped(first);
    this.running = true;
    this.interruptRequested = false;
    this.insertBreakpoints();
    this.defer(() => this.slice());
  }

  /** Continue on a target that runs on its own: it reports its stop when it comes. */
  private freeRun(run: FreeRun): void {
    // Off a breakpoint at the pc first (only then: a continue from anywhere else runs nothing here).
    const pc = this.target.readRegister(this.target.pcRegister);
    if (this.breakpoints.has(pc)) {
      const first = this.target.resume(1, NONE);
      if (first.kind !== 'budget') return this.stopped(first);
    }
    this.running = true;
    this.interruptRequested = false;
    this.insertBreakpoints();
    run.start(this.insertedAddresses, (stop) => {
      if (this.ended || !this.running) return;
      this.running = false;
      this.removeBreakpoints();
      this.stopped(stop);
      while (!this.running && !this.ended && this.queued.length > 0) this.handle(this.queued.shift() as string);
    });
  }

  private slice(): void {
    if (this.ended) return;
    const stop = this.interruptRequested ? undefined : this.target.resume(this.sliceCycles, this.insertedAddresses);
    if (stop?.kind === 'budget') return this.defer(() => this.slice());
    this.running = false;
    this.removeBreakpoints();
    this.stopped(stop ?? { kind: 'trap', signal: SIGINT });
    while (!this.running && !this.ended && this.queued.length > 0) this.handle(this.queued.shift() as string);
  }

  private stopped(stop: TargetStop): void {
    if (stop.kind === 'exited') {
      this.reply(`W${hex2(stop.status)}`);
      return this.finish({ kind: 'exited', status: stop.status });
    }
    const signal = stop.kind === 'trap' ? stop.signal : SIGTRAP;
    this.stopReply = `T${hex2(signal)}thread:${THREAD_ID};`;
    this.reply(this.stopReply);
  }

  private insertBreakpoints(): void {
    const insn = this.target.breakpointInstruction;
    for (const addr of this.breakpoints) {
      const original = this.target.readMemory(addr, insn.length);
      if (original && this.target.writeMemory(addr, insn)) this.inserted.set(addr, original);
    }
    this.insertedAddresses = new Set(this.inserted.keys());
  }

  private removeBreakpoints(): void {
    for (const [addr, original] of this.inserted) this.target.writeMemory(addr, original);
    this.inserted.clear();
    this.insertedAddresses = NONE;
  }
}

/** c/s/C/S and vCont: what to do, undefined if the packet is not a resume, 'malformed' if it is a bad one. */
function parseResume(payload: string): Resume | undefined | 'malformed' {
  switch (payload[0]) {
    case 'c':
    case 's':
      // An address argument (resume elsewhere) is not supported: gdb never sends one itself.
      return payload.length === 1 ? { step: payload[0] === 's', signal: 0 } : 'malformed';
    case 'C':
    case 'S': {
      const signal = parseInt(payload.slice(1, 3), 16);
      return Number.isNaN(signal) ? 'malformed' : { step: payload[0] === 'S', signal };
    }
  }
  if (!payload.startsWith('vCont;')) return undefined;
  // One thread: the first action applies to it (gdb lists the stepping thread first).
  const action = payload.slice('vCont;'.length).split(';')[0].split(':')[0];
  if (action === 'c' || action === 's') return { step: action === 's', signal: 0 };
  if (/^[CS][0-9a-fA-F]{2}$/.test(action)) return { step: action[0] === 'S', signal: parseInt(action.slice(1), 16) };
  return 'malformed';
}

function hex2(n: number): string {
  return (n & 0xff).toString(16).padStart(2, '0');
}
