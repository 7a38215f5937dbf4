// The gdb stub without a socket: packet framing, then a GdbSession driving committed guest programs
// on every engine through the packets gdb-multiarch sends (apps/cli/test/exec-gdb.test.ts runs the
// real gdb against `vsim exec --gdb`).

import { readFileSync } from 'fs';
import { join, resolve } from 'path';
import {
  ENGINE_NAMES,
  EngineName,
  GdbPacketReader,
  GdbSession,
  BareMachine,
  BareMachineTarget,
  GdbTarget,
  LinuxProcessTarget,
  LinuxUserProcess,
  RV32_EBREAK,
  SessionEnd,
  gdbFramePacket,
  parseElf32,
  rv32TargetXml,
} from '@vsim/isa';
import { escapeBinary, unescapeBinary } from '../src/gdb/packet';

const BIN = resolve(__dirname, '../../../guests/rv32/bin');

describe('packet framing', () => {
  test('frames with the modulo-256 checksum and escapes the reserved bytes', () => {
    expect(gdbFramePacket('OK')).toBe('$OK#9a');
    expect(gdbFramePacket('')).toBe('$#00');
    expect(gdbFramePacket('a*b')).toBe(`$a}\nb#${((0x61 + 0x7d + 0x0a + 0x62) & 0xff).toString(16)}`);
    const data = String.fromCharCode(0x24, 0x23, 0x7d, 0x2a, 0x00, 0xff);
    expect(Array.from(unescapeBinary(escapeBinary(data)))).toEqual([0x24, 0x23, 0x7d, 0x2a, 0x00, 0xff]);
  });

  test('reads packets split across chunks, acks, interrupts, and flags a bad checksum', () => {
    const r = new GdbPacketReader();
    expect(r.feed('+$qSupp')).toEqual([{ kind: 'ack' }]);
    expect(r.feed('orted#3')).toEqual([]);
    expect(r.feed('7\x03-$g#00')).toEqual([{ kind: 'packet', payload: 'qSupported' }, { kind: 'interrupt' }, { kind: 'nak' }, { kind: 'corrupt' }]);
  });
});

/** A gdb stand-in: sends packets, collects the stub's replies in order. */
class Client {
  readonly replies: string[] = [];
  readonly raw: string[] = [];
  end: SessionEnd | undefined;
  readonly output: string[] = [];
  readonly session: GdbSession;
  readonly target: GdbTarget;
  private readonly reader = new GdbPacketReader();
  private waiting: (() => void) | undefined;

  /** Continue slices run so far; `interruptAfter` of them, the client sends Ctrl-C (0x03). */
  slices = 0;
  interruptAfter = Infinity;

  constructor(program: string, engine: EngineName, machine: 'linux' | 'bare' = 'linux') {
    const elf = readFileSync(join(BIN, program));
    this.target =
      machine === 'bare'
        ? new BareMachineTarget(new BareMachine(elf, { engine }))
        : new LinuxProcessTarget(new LinuxUserProcess(elf, { engine, argv: [program], stdout: (b) => this.output.push(Buffer.from(b).toString()) }));
    this.session = new GdbSession(
      this.target,
      (wire) => {
        this.raw.push(wire);
        for (const ev of this.reader.feed(wire)) if (ev.kind === 'packet') this.replies.push(ev.payload);
        this.waiting?.();
      },
      (end) => (this.end = end),
      {
        sliceCycles: 5000,
        defer: (fn) => {
          if (++this.slices === this.interruptAfter) this.session.receive('\x03');
          setImmediate(fn);
        },
      },
    );
  }

  /** Sends one packet and resolves with the stub's reply (continue replies arrive asynchronously). */
  async ask(payload: string): Promise<string> {
    const before = this.replies.length;
    this.session.receive(gdbFramePacket(payload));
    while (this.replies.length === before) await new Promise<void>((res) => (this.waiting = res));
    return this.replies[before];
  }
}

const le32 = (v: number) => Buffer.from(Uint32Array.of(v).buffer).toString('hex');
const exitcode = parseElf32(readFileSync(join(BIN, 'exitcode.elf')));
const MAIN = exitcode.symbols.get('main') as number;

describe.each(ENGINE_NAMES)('a session on the %s engine', (engine) => {
  test('connects, breaks at main, reads memory without the breakpoint, steps, writes a register, runs to exit', async () => {
    const c = new Client('exitcode.elf', engine);
    expect(await c.ask('qSupported:multiprocess+;swbreak+;xmlRegisters=i386')).toContain('qXfer:features:read+');
    expect(c.raw[0]).toBe('+'); // ack mode until QStartNoAckMode
    expect(await c.ask('QStartNoAckMode')).toBe('OK');
    const xml = [(await c.ask('qXfer:features:read:target.xml:0,40')).slice(1)];
    for (let r = ''; !r.startsWith('l'); xml.push(r.slice(1)))
      r = await c.ask(`qXfer:features:read:target.xml:${xml.join('').length.toString(16)},40`);
    expect(xml.join('')).toBe(rv32TargetXml());
    expect(await c.ask('?')).toBe('T05thread:1;');
    const g = await c.ask('g');
    expect(g).toHaveLength(33 * 8);
    expect(g.slice(32 * 8)).toBe(le32(exitcode.entry));

    const rawCount = c.raw.length;
    expect(await c.ask(`Z0,${MAIN.toString(16)},4`)).toBe('OK');
    expect(c.raw[rawCount]).not.toBe('+'); // no-ack mode now
    expect(await c.ask('vCont;c')).toBe('T05thread:1;');
    expect(await c.ask('p20')).toBe(le32(MAIN));
    // Stopped, memory shows the program's instruction (lui a0,0x11), not the ebreak.
    expect(await c.ask(`m${MAIN.toString(16)},4`)).toBe('37150100');
    expect(await c.ask('vCont;s:1;c')).toBe('T05thread:1;');
    expect(await c.ask('p20')).toBe(le32(MAIN + 4));
    expect(await c.ask('pa')).toBe(le32(0x11000)); // a0 after lui
    // puts' argument is a0 - 360 after the next instruction: 8 more skips "exiting ".
    expect(await c.ask(`Pa=${le32(0x11008)}`)).toBe('OK');
    expect(await c.ask('pa')).toBe(le32(0x11008));
    expect(await c.ask(`z0,${MAIN.toString(16)},4`)).toBe('OK');
    expect(await c.ask('c')).toBe('W2a');
    expect(c.end).toEqual({ kind: 'exited', status: 42 });
    expect(c.output.join('')).toBe('with status 42\n');
  });

  test('a breakpoint in code already translated and run is hit on the next pass', async () => {
    // checksum loops over its input: run a while, interrupt, then break where it is, inside the loop.
    const c = new Client('checksum.elf', engine);
    c.interruptAfter = 20;
    expect(await c.ask('c')).toBe('T02thread:1;');
    expect(c.slices).toBe(20);
    const pc = parseInt(
      Buffer.from(await c.ask('p20'), 'hex')
        .reverse()
        .toString('hex'),
      16,
    );
    expect(await c.ask(`Z0,${pc.toString(16)},4`)).toBe('OK');
    expect(await c.ask('c')).toBe('T05thread:1;');
    expect(await c.ask('p20')).toBe(le32(pc));
    c.session.receive(gdbFramePacket('k'));
    expect(c.end).toEqual({ kind: 'killed' });
  });

  test('a guest fault stops with its signal; passing the signal on kills the program', async () => {
    const c = new Client('fault.elf', engine);
    expect(await c.ask('c')).toBe('T04thread:1;');
    expect((c.target as LinuxProcessTarget).lastFault?.signal).toBe('SIGILL');
    expect(await c.ask('vCont;C04:1')).toBe('X04');
    expect(c.end).toEqual({ kind: 'signalled', signal: 4 });
  });
});

describe.each(ENGINE_NAMES)('the bare machine on the %s engine', (engine) => {
  const traps = parseElf32(readFileSync(join(BIN, 'bare-priv-traps.elf')));
  const at = (name: string) => (traps.symbols.get(name) as number).toString(16);

  test("a step into a trap ends in the program's handler; its own ebreak reaches its handler; tohost = 1 is exit 0", async () => {
    const c = new Client('bare-priv-traps.elf', engine, 'bare');
    expect(await c.ask(`Z0,${at('t9_ebreak')},4`)).toBe('OK');
    expect(await c.ask('c')).toBe('T05thread:1;');
    expect(await c.ask(`z0,${at('t9_ebreak')},4`)).toBe('OK');
    expect(await c.ask('s')).toBe('T05thread:1;'); // the program's own ebreak, not gdb's
    expect(await c.ask('p20')).toBe(le32(traps.symbols.get('trap_vector') as number));
    expect(await c.ask(`Z0,${at('pass')},4`)).toBe('OK');
    expect(await c.ask('c')).toBe('T05thread:1;');
    expect(await c.ask('p16')).toBe(le32(11)); // s6: the traps the program's handler took
    expect(await c.ask('c')).toBe('W00');
    expect((c.target as BareMachineTarget).outcome).toBe('pass');
  });
});

test('bad packets get errors, unknown ones the empty reply; breakpoints outside RAM are refused', async () => {
  const c = new Client('exitcode.elf', 'dispatch');
  expect(await c.ask('m0,4')).toBe('E14');
  expect(await c.ask('mzz')).toBe('E01');
  expect(await c.ask('p99')).toBe('E01');
  expect(await c.ask('Z0,0,4')).toBe('E14');
  expect(await c.ask('Z2,10000,4')).toBe(''); // watchpoints: not supported
  expect(await c.ask('qTStatus')).toBe('');
  expect(await c.ask('X10000,0:')).toBe('OK');
  expect(await c.ask(`X${MAIN.toString(16)},4:${escapeBinary(Buffer.from(RV32_EBREAK).toString('latin1'))}`)).toBe('OK');
  expect(await c.ask('c')).toBe('T05thread:1;'); // the program now holds an ebreak of its own at main
  expect(await c.ask('p20')).toBe(le32(MAIN));
});
