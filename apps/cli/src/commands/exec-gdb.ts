// `vsim exec --gdb PORT`: the program waits, stopped at its first instruction, for gdb to connect
// on 127.0.0.1:PORT (0: any free port; the line on stderr says which), then runs under its control
// through the GDB remote serial protocol stub in @vsim/isa. One connection; when gdb detaches or
// the connection drops, the program runs on to its end undebugged.

import * as net from 'net';
import { GdbSession, GdbTarget, SessionEnd } from '@vsim/isa';
import { Io } from '../io';

/** Serves one gdb connection for `target` and resolves with how it ended. */
export function serveGdb(target: GdbTarget, port: number, io: Io): Promise<SessionEnd> {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ noDelay: true });
    server.once('error', reject);
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
