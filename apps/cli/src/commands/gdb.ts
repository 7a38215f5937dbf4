/**
 * `vsim gdb SIM VM[:VCPU] --http URL [--listen PORT]`: gdb on one vCPU of a VM in a simulation
 * running on a cluster. It listens on 127.0.0.1:PORT (0, the default: any free port; the line on
 * stderr says which) for gdb-multiarch (`target remote :PORT`); once gdb connects, the VM's host
 * stops at its next host-loop boundary (its virtual time stands still, other hosts go on) and the
 * GDB remote serial protocol runs on the cpu-node that simulates it, through the gateway
 * (POST /v1/simulations/:id/gdb, with the bearer token like every gateway call; docs/gdb.md).
 * One connection: when gdb detaches or goes away, the VM runs on undebugged.
 *
 * Exit status: 0 the session ended; 1 the cluster refused it (no such VM, ...); 2 usage error;
 * 69 the gateway cannot be reached.
 */

import { randomUUID } from 'crypto';
import * as net from 'net';
import { formatOptions, parseArgs, usageError } from '../args';
import { Command, EXIT } from '../command';
import { ACCESS_OPTIONS, AccessError, gatewayAccess } from '../gateway-access';
import { Io } from '../io';

const EX_UNAVAILABLE = 69;
/** How long one poll for the stub's output waits on the cpu-node. */
const POLL_WAIT_MS = 1_500;

const OPTIONS = {
  http: { type: 'string', valueName: 'URL', description: "the gateway's HTTP URL (vsim up prints it; default $VSIM_GATEWAY_HTTP)" },
  listen: { type: 'integer', min: 0, max: 65535, valueName: 'PORT', description: 'the local port gdb connects to (default 0: any free port)' },
  ...ACCESS_OPTIONS,
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const;

const HELP = `Usage: vsim gdb SIM VM[:VCPU] --http URL [--listen PORT] [OPTIONS]

Debugs vCPU VCPU (default 0) of VM in simulation SIM, running on a cluster,
with gdb-multiarch: connect with \`target remote :PORT\`. While gdb has the
vCPU stopped, its host's loop waits at a boundary: that host's virtual time
stands still. Registers, memory (guest-physical), software breakpoints,
single step, continue, Ctrl-C and detach; after detach the VM runs on. A
session that only reads and continues leaves the run's results unchanged.
rv32 guests only; one session per host at a time. docs/gdb.md.

Options:
${formatOptions(OPTIONS)}
`;

interface Reply {
  data?: string;
  at?: number;
  ended?: boolean;
  error?: string;
  node?: string;
}

export const gdbCommand: Command = {
  name: 'gdb',
  summary: 'debug a vCPU of a VM in a running cluster simulation with gdb (remote serial protocol)',
  help: HELP,
  async run(argv, io) {
    const { options, positionals } = parseArgs(argv, OPTIONS, { command: 'vsim gdb' });
    if (options.help) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    if (positionals.length !== 2) throw usageError('vsim gdb', 'expected SIM and VM[:VCPU]');
    const [sim, target] = positionals;
    const m = /^([^:]+)(?::(\d+))?$/.exec(target);
    if (!m) throw usageError('vsim gdb', `VM[:VCPU]: '${target}' is not a VM id with an optional vCPU number`);
    const vm = m[1];
    const vcpu = m[2] === undefined ? 0 : Number(m[2]);
    const base = (options.http ?? process.env.VSIM_GATEWAY_HTTP ?? '').replace(/\/+$/, '');
    if (!/^https?:\/\/[^/]+$/.test(base)) throw usageError('vsim gdb', "--http URL: the gateway's HTTP URL, e.g. http://127.0.0.1:8080");
    let token: string | undefined;
    try {
      token = gatewayAccess(options).token;
    } catch (e) {
      if (e instanceof AccessError) {
        io.stderr.write(`vsim: ${e.message}\n`);
        return e.exitCode;
      }
      throw e;
    }
    const url = `${base}/v1/simulations/${encodeURIComponent(sim)}/gdb`;
    const headers: Record<string, string> = { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
    const call = async (body: Record<string, unknown>): Promise<Reply> => {
      let res: Response;
      try {
        res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
      } catch (e) {
        throw new GatewayDown(`cannot reach the gateway at ${base}: ${(e as Error).cause ?? (e as Error).message}`);
      }
      const reply = (await res.json().catch(() => ({}))) as Reply;
      if (!res.ok) throw new Error(`${url}: HTTP ${res.status}${reply.error ? `: ${reply.error}` : ''}`);
      return reply;
    };
    return serve(io, options.listen ?? 0, { sim, vm, vcpu }, call);
  },
};

class GatewayDown extends Error {}

/** Listens for one gdb connection and carries its bytes to the VM's cpu-node and back. */
function serve(
  io: Io,
  port: number,
  who: { sim: string; vm: string; vcpu: number },
  call: (body: Record<string, unknown>) => Promise<Reply>,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ noDelay: true });
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE' || e.code === 'EACCES'
          ? usageError('vsim gdb', `--listen ${port}: cannot listen on 127.0.0.1:${port} (${e.code})`)
          : e,
      ),
    );
    server.once('connection', (socket) => {
      server.close();
      const session = randomUUID();
      const fail = (e: unknown) => {
        io.stderr.write(`vsim: gdb: ${(e as Error).message}\n`);
        socket.destroy();
        finish(e instanceof GatewayDown ? EX_UNAVAILABLE : EXIT.failure);
      };
      let done = false;
      const finish = (code: number) => {
        if (done) return;
        done = true;
        resolve(code);
      };
      let node = '';
      // Output pieces by where they start: the poll's and the input's replies may cross.
      let next = 0;
      const early = new Map<number, Buffer>();
      const deliver = (r: Reply) => {
        if (r.error) throw new Error(r.error);
        const bytes = Buffer.from(r.data ?? '', 'base64');
        if (bytes.length > 0 && r.at !== undefined) early.set(r.at, bytes);
        for (let b = early.get(next); b !== undefined; b = early.get(next)) {
          early.delete(next);
          socket.write(b);
          next += b.length;
        }
        if (r.ended && early.size === 0) {
          socket.end();
          finish(EXIT.ok);
        }
      };
      const pending: Buffer[] = [];
      let sending = false;
      const pump = async () => {
        if (sending || done) return;
        sending = true;
        try {
          while (pending.length > 0 && !done) {
            const data = Buffer.concat(pending.splice(0)).toString('base64');
            deliver(await call({ session, op: 'io', vm: who.vm, node, data }));
          }
        } catch (e) {
          fail(e);
        } finally {
          sending = false;
        }
      };
      const poll = async () => {
        try {
          while (!done) deliver(await call({ session, op: 'io', vm: who.vm, node, waitMs: POLL_WAIT_MS }));
        } catch (e) {
          if (!done) fail(e);
        }
      };
      socket.on('data', (d: Buffer) => {
        pending.push(d);
        if (node) void pump();
      });
      socket.on('error', () => socket.destroy());
      socket.on('close', () => {
        if (done || !node) return finish(EXIT.ok);
        done = true;
        call({ session, op: 'close', vm: who.vm, node }).then(
          () => resolve(EXIT.ok),
          () => resolve(EXIT.ok),
        );
      });
      call({ session, op: 'open', vm: who.vm, vcpu: who.vcpu }).then((r) => {
        if (r.error || !r.node) return fail(new Error(r.error ?? 'the gateway named no cpu-node'));
        node = r.node;
        io.stderr.write(`vsim: gdb: ${who.vm}:${who.vcpu} of ${who.sim} stopped on cpu-node ${node}\n`);
        void pump();
        void poll();
      }, fail);
    });
    server.listen(port, '127.0.0.1', () => {
      const address = server.address() as net.AddressInfo;
      io.stderr.write(`vsim: gdb: waiting for a connection on 127.0.0.1:${address.port} (target remote :${address.port})\n`);
    });
  });
}
