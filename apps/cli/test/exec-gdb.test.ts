// `vsim exec --gdb` against the real debugger: gdb-multiarch in batch mode connects to the stub,
// breaks at main, steps, reads a register and variables, continues to exit — on every engine —
// and sees a guest fault as the signal Linux would send. The debuggee is built with debug info
// from guests/rv32/debug/gdb-demo.c at test time (the committed ELFs have none).

import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { ENGINE_NAMES } from '@vsim/isa';
import { GUEST_BIN, REPO_ROOT, buildRv32DebugGuest, hasCommand, hasRv32Gcc } from '@vsim/testkit';

const BIN = path.join(REPO_ROOT, 'apps/cli/bin/vsim.js');
const GDB = 'gdb-multiarch';
const missing = !hasCommand(GDB) ? `${GDB} not installed` : !hasRv32Gcc() ? 'riscv64-unknown-elf-gcc not installed' : '';

interface Finished {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Starts `vsim exec --gdb 0 ARGS`, waits for the port it listens on, runs gdb with `commands` against it. */
async function debug(vsimArgs: string[], program: string, commands: string[]): Promise<{ vsim: Finished; gdb: Finished }> {
  const vsim = spawn(process.execPath, [BIN, 'exec', '--gdb', '0', ...vsimArgs, program], { cwd: REPO_ROOT });
  const vsimDone = finished(vsim);
  const port = await new Promise<string>((resolve, reject) => {
    let err = '';
    vsim.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /127\.0\.0\.1:(\d+)/.exec(err);
      if (m) resolve(m[1]);
    });
    vsim.on('exit', () => reject(new Error(`vsim exited before listening: ${err}`)));
  });
  const ex = ['set architecture riscv:rv32', `target remote :${port}`, ...commands].flatMap((c) => ['-ex', c]);
  const gdb = spawn(GDB, ['-batch', '-nx', ...ex, program], { cwd: REPO_ROOT });
  const [g, v] = await Promise.all([finished(gdb), vsimDone]);
  return { vsim: v, gdb: g };
}

function finished(child: ReturnType<typeof spawn>): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  return new Promise((resolve) =>
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    }),
  );
}

(missing ? describe.skip : describe)(`vsim exec --gdb driven by ${GDB}${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let tmp: string;
  let demo: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsim-gdb-'));
    demo = buildRv32DebugGuest('debug/gdb-demo.c', tmp);
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test.each(ENGINE_NAMES)('%s engine: break at main, stepi, info registers pc, print variables, continue to exit', async (engine) => {
    const { vsim, gdb } = await debug(['--engine', engine], demo, [
      'break main',
      'continue',
      'stepi',
      'info registers pc',
      'print counter',
      'break square',
      'continue',
      'continue',
      'print v',
      'print counter',
      'delete',
      'continue',
    ]);
    const out = gdb.stdout;
    expect(out).toMatch(/Breakpoint 1, main \(\) at .*gdb-demo\.c:\d+/);
    // stepi moved exactly one instruction past the breakpoint (gdb puts it after main's prologue).
    const bp = parseInt(/Breakpoint 1 at 0x([0-9a-f]+)/.exec(out)?.[1] ?? 'NaN', 16);
    const pc = parseInt(/^pc +0x([0-9a-f]+)\s+0x[0-9a-f]+ <main\+\d+>$/m.exec(out)?.[1] ?? 'NaN', 16);
    expect(pc).toBe(bp + 4);
    expect(out).toContain('$1 = 7\n');
    expect(out).toMatch(/Breakpoint 2, square \(v=1\)/);
    expect(out).toMatch(/Breakpoint 2, square \(v=2\)/);
    expect(out).toContain('$2 = 2\n');
    expect(out).toContain('$3 = 8\n'); // 7 + 1*1
    expect(out).toContain('exited with code 03');
    expect(vsim.stdout).toBe('counter = 21\n');
    expect(vsim.status).toBe(3);
  });

  test.each(ENGINE_NAMES)('%s engine, bare machine: breakpoints in M-mode code; the program still takes its own traps and ebreak', async (engine) => {
    const program = path.join(GUEST_BIN, 'bare-priv-traps.elf');
    const { vsim, gdb } = await debug(['--machine', 'bare', '--engine', engine], program, [
      'break t8_sw',
      'continue',
      'print/x $pc',
      'delete',
      'break pass',
      'continue',
      'print $s6',
      'continue',
    ]);
    expect(gdb.stdout).toMatch(/Breakpoint 1, 0x800002f4 in t8_sw \(\)/);
    expect(gdb.stdout).toContain('$1 = 0x800002f4\n');
    expect(gdb.stdout).toMatch(/Breakpoint 2, 0x[0-9a-f]+ in pass \(\)/);
    // s6 counts the traps the program's own handler took: all eleven, t9's ebreak among them.
    expect(gdb.stdout).toContain('$2 = 11\n');
    expect(gdb.stdout).toContain('exited normally');
    expect(vsim.status).toBe(0);
  });

  test('detach at a breakpoint: the breakpoint comes out and the program runs on to its exit', async () => {
    const { vsim, gdb } = await debug([], demo, ['break square', 'continue', 'detach']);
    expect(gdb.stdout).toMatch(/Breakpoint 1, square \(v=1\)/);
    expect(gdb.stdout).toContain('[Inferior 1 (Remote target) detached]');
    expect(vsim.stdout).toBe('counter = 21\n');
    expect(vsim.status).toBe(3);
  });

  test('a guest fault stops gdb with SIGILL; continuing delivers it and vsim exits 132', async () => {
    const fault = path.join(GUEST_BIN, 'fault.elf');
    const { vsim, gdb } = await debug([], fault, ['continue', 'x/i $pc', 'continue']);
    expect(gdb.stdout).toContain('Program received signal SIGILL, Illegal instruction.');
    expect(gdb.stdout).toMatch(/=> 0x[0-9a-f]+ <main\+\d+>/);
    expect(gdb.stdout).toContain('Program terminated with signal SIGILL');
    expect(vsim.status).toBe(132);
    expect(vsim.stderr).toMatch(/vsim: .*fault\.elf: guest fault: illegal instruction at pc 0x[0-9a-f]+.*\[SIGILL\], delivered by gdb\n$/);
  });
});

test('--gdb refuses several harts and --max-cycles, before listening', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [BIN, 'exec', ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  const smp = run('--gdb', '0', '--machine', 'bare', '--harts', '2', path.join(GUEST_BIN, 'native-kernel-smp.elf'));
  expect(smp.status).toBe(2);
  expect(smp.stderr).toMatch(/--gdb debugs one hart; .*--harts 2/);
  const cycles = run('--gdb', '0', '--max-cycles', '10', path.join(GUEST_BIN, 'hello.elf'));
  expect(cycles.status).toBe(2);
  expect(cycles.stderr).toMatch(/--gdb and --max-cycles/);
  expect(cycles.stderr).not.toContain('waiting');
});

test('--gdb on a port already in use is a usage error naming it', async () => {
  const busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = (busy.address() as net.AddressInfo).port;
  try {
    const r = await finished(spawn(process.execPath, [BIN, 'exec', '--gdb', String(port), path.join(GUEST_BIN, 'hello.elf')], { cwd: REPO_ROOT }));
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`vsim: exec: --gdb ${port}: cannot listen on 127.0.0.1:${port} (EADDRINUSE)\n`);
  } finally {
    busy.close();
  }
});
