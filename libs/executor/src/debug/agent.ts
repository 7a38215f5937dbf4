// The cpu-node's end of `vsim gdb` (docs/gdb.md): GDB remote-serial-protocol sessions on vCPUs of
// this node's VMs, one GdbSession (@vsim/isa) each, fed through the gateway by request/reply on
// vsim.<sim>.gdb.<node> (only this node serves it; only the gateway may send there). A request is
// JSON {session, op, vm, vcpu?, data?, waitMs?}, the reply JSON {data?, ended?, error?}; data is
// the protocol's bytes, base64:
//   open   stop the VM's host (host-gate.ts) and start a session on the vCPU; replies once stopped
//   io     bytes from gdb (may be none); replies with what the stub has sent since the last reply
//          and where that starts in the session's output (`at`: the client orders replies by it),
//          waiting up to waitMs (at most 2 s) for something when there is nothing yet: the client
//          polls with it for the stop reply of a continue, which comes when the vCPU stops
//   close  gdb went away: breakpoints out, the host runs on undebugged
// One session per host at a time (a host is held or not). Bad requests get {error}, never a throw.

import { GdbSession } from '@vsim/isa';
import type { HostExecutor } from '../host';
import { HostDebugGate } from './host-gate';
import { VcpuGdbTarget } from './vcpu-target';

export interface GdbRequest {
  readonly session: string;
  readonly op: 'open' | 'io' | 'close';
  readonly vm: string;
  readonly vcpu?: number;
  readonly data?: string;
  readonly waitMs?: number;
}

export interface GdbReply {
  readonly data?: string;
  /** Where `data` starts in the session's output: replies to concurrent requests may arrive out of order. */
  readonly at?: number;
  readonly ended?: boolean;
  readonly error?: string;
}

/** Longest an io request waits for output. */
export const MAX_GDB_WAIT_MS = 2_000;

interface Attached {
  readonly host: string;
  readonly vm: string;
  readonly target: VcpuGdbTarget;
  readonly session: GdbSession;
  out: string[];
  /** Bytes of output replied so far. */
  sent: number;
  ended: boolean;
  wake: (() => void) | undefined;
}

export class DebugAgent {
  private readonly sessions = new Map<string, Attached>();

  constructor(
    private readonly hosts: () => Iterable<[string, HostExecutor]>,
    private readonly gateOf: (host: string) => HostDebugGate,
  ) {}

  /** One request's bytes to its reply's (JSON both ways). */
  async serve(data: Uint8Array): Promise<Uint8Array> {
    let reply: GdbReply;
    try {
      reply = await this.handle(parseRequest(data));
    } catch (e) {
      reply = { error: (e as Error).message };
    }
    return new TextEncoder().encode(JSON.stringify(reply));
  }

  private async handle(req: GdbRequest): Promise<GdbReply> {
    if (req.op === 'open') return this.open(req);
    const a = this.sessions.get(req.session);
    if (!a) return { ended: true, error: `no gdb session ${req.session} here (it ended, or the simulation did)` };
    if (req.op === 'close') {
      a.session.disconnect();
      this.sessions.delete(req.session);
      return { ended: true };
    }
    if (req.data) a.session.receive(Buffer.from(req.data, 'base64'));
    const wait = Math.min(req.waitMs ?? 0, MAX_GDB_WAIT_MS);
    if (a.out.length === 0 && !a.ended && wait > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          a.wake = undefined;
          resolve();
        }, wait);
        a.wake = () => {
          clearTimeout(timer);
          a.wake = undefined;
          resolve();
        };
      });
    }
    const out = a.out.join('');
    a.out = [];
    const at = a.sent;
    a.sent += out.length;
    if (a.ended) this.sessions.delete(req.session);
    return { data: Buffer.from(out, 'latin1').toString('base64'), at, ended: a.ended };
  }

  private async open(req: GdbRequest): Promise<GdbReply> {
    if (this.sessions.has(req.session)) throw new Error(`gdb session ${req.session} is already open`);
    const vcpuIndex = req.vcpu ?? 0;
    for (const [host, exec] of this.hosts()) {
      const vm = exec.vms.get(req.vm);
      if (!vm) continue;
      if (vm.isa !== 'rv32' || vm.ring32) throw new Error(`VM ${req.vm} is a ${vm.isa} guest: vsim gdb debugs rv32 guests`);
      const vcpu = vm.vcpus[vcpuIndex];
      if (!vcpu) throw new Error(`VM ${req.vm} has ${vm.vcpus.length} vCPU(s): no vCPU ${vcpuIndex}`);
      const busy = [...this.sessions.values()].find((s) => s.host === host);
      if (busy) throw new Error(`host ${host} is already being debugged (VM ${busy.vm}): one gdb session per host`);
      const gate = this.gateOf(host);
      await gate.stop(); // the host's loop waits at its next boundary
      const target = new VcpuGdbTarget(vcpu, gate);
      const a: Attached = { host, vm: req.vm, target, out: [], sent: 0, ended: false, wake: undefined, session: undefined as unknown as GdbSession };
      (a as { session: GdbSession }).session = new GdbSession(
        target,
        (wire) => {
          a.out.push(wire);
          a.wake?.();
        },
        () => {
          a.ended = true;
          target.detach(); // exited, killed (the VM goes on: it is the simulation's) or detached
          a.wake?.();
        },
      );
      this.sessions.set(req.session, a);
      return {};
    }
    throw new Error(`no VM ${req.vm} on this node's hosts`);
  }

  /** The simulation closes here: running sessions hear that their program exited; all end. */
  closeAll(): void {
    for (const a of this.sessions.values()) {
      a.target.ended();
      if (!a.ended) a.session.disconnect();
    }
    this.sessions.clear();
  }
}

function parseRequest(data: Uint8Array): GdbRequest {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(data));
  } catch {
    throw new Error('gdb request: not JSON');
  }
  const r = raw as Record<string, unknown>;
  if (typeof r !== 'object' || r === null) throw new Error('gdb request: not a JSON object');
  if (typeof r.session !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(r.session))
    throw new Error('gdb request: session must be 1-64 characters of [A-Za-z0-9_-]');
  if (r.op !== 'open' && r.op !== 'io' && r.op !== 'close') throw new Error('gdb request: op must be open, io or close');
  if (typeof r.vm !== 'string' || r.vm === '') throw new Error('gdb request: vm is required');
  if (r.vcpu !== undefined && !(Number.isInteger(r.vcpu) && (r.vcpu as number) >= 0))
    throw new Error('gdb request: vcpu must be a non-negative integer');
  if (r.data !== undefined && (typeof r.data !== 'string' || !/^[A-Za-z0-9+/=]*$/.test(r.data))) throw new Error('gdb request: data must be base64');
  if (r.waitMs !== undefined && !(typeof r.waitMs === 'number' && r.waitMs >= 0)) throw new Error('gdb request: waitMs must be a number >= 0');
  return r as unknown as GdbRequest;
}
