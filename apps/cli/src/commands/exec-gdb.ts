// `vsim exec --gdb PORT`: the program waits, stopped at its first instruction, for gdb to connect
// on 127.0.0.1:PORT (0: any free port; the line on stderr says which), then runs under its control
// through the GDB remote serial protocol stub in @vsim/isa. One connection; when gdb detaches or
// the connection drops, the program runs on to its end undebugged.

import * as net from 'net';
import { BareMachine, BareMachineTarget, GdbSession, GdbTarget, LinuxProcessTarget, LinuxUserProcess, SessionEnd } from '@vsim/isa';
import { usageError } from '../args';
import { EXIT } from '../command';
import { Io } from '../io';
import { Fail, formatFault, reportBare, reportLinux } from './exec-report';

const SIGKILL = 9;

/** Serves one gdb connection for `target` and resolves with how it ended. */
export function serveGdb(target: GdbTarget, port: number, io: Io): Promise<SessionEnd> {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ noDelay: true });
    // The port is the user's choice: one in use (or not ours to take) is a usage error naming it.
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE' || e.code === 'EACCES' ? usageError('vsim exec', `--gdb ${port}: cannot listen on 127.0.0.1:${port} (${e.code})`) : e,
      ),
    );
    server.once('connection', (socket) => {
      server.close();
      const session = new GdbSession(
        target,
        (wire) => socket.write(Buffer.from(wire, 'latin1')),
        (end) => {
          socket.end();
          resolve(end);
        },
      );
      socket.on('data', (data) => session.receive(data));
      socket.on('error', () => socket.destroy());
      socket.on('close', () => session.disconnect());
    });
    server.listen(port, '127.0.0.1', () => {
      const address = server.address() as net.AddressInfo;
      io.stderr.write(`vsim: gdb: waiting for a connection on 127.0.0.1:${address.port} (target remote :${address.port})\n`);
    });
  });
}

/** A Linux user process under gdb: its exit status, or 128 + the signal that ended it. */
export async function runLinuxUnderGdb(proc: LinuxUserProcess, port: number, io: Io, fail: Fail): Promise<number> {
  const target = new LinuxProcessTarget(proc);
  const end = await serveGdb(target, port, io);
  switch (end.kind) {
    case 'exited':
      return end.status;
    case 'signalled': {
      // gdb passes the program the signal it stopped on (SIGILL, SIGSEGV...): name the fault, as without gdb.
      const fault = target.lastFault;
      const why = fault && fault.status === 128 + end.signal ? formatFault(fault) : `signal ${end.signal}`;
      return fail(`${why}, delivered by gdb`, 128 + end.signal);
    }
    case 'killed':
      return fail('killed by gdb', 128 + SIGKILL);
    case 'detached':
      return reportLinux(proc.run(), fail);
  }
}

/** A single-hart bare machine under gdb: 0 when the program passes (tohost = 1), else 1. */
export async function runBareUnderGdb(machine: BareMachine, port: number, io: Io, fail: Fail): Promise<number> {
  const target = new BareMachineTarget(machine);
  const end = await serveGdb(target, port, io);
  switch (end.kind) {
    case 'exited': {
      if (target.outcome === 'pass') return EXIT.ok;
      const tohost = machine.image.symbols.get('tohost') as number;
      const why =
        target.outcome === 'deadlock'
          ? 'deadlock: wfi with no interrupt pending and no timer armed'
          : `bare test failed: test ${machine.bus.readU32(tohost) >>> 1}`;
      return fail(why, EXIT.failure);
    }
    case 'signalled':
      return fail(`killed by signal ${end.signal}, delivered by gdb`, 128 + end.signal);
    case 'killed':
      return fail('killed by gdb', 128 + SIGKILL);
    case 'detached':
      target.release();
      return reportBare(machine.run(), machine.hart.pc, fail);
  }
}
