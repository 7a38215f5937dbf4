// Run-time scheduler control through the gateway, on a real cluster over a throwaway nats-server
// (the services' logic in this process behind real gRPC servers, registered on NATS, found by the
// gateway as in production):
// - `vsim sched-credit -d a -w 768` (the CLI, over the gateway's gRPC API) on a running Credit
//   simulation of two CPU hogs sharing one pCPU moves the share from 1:1 to 3:1 after the call,
//   and `-s -t 10 -r 500` makes the pCPU change hands on 10 ms slice boundaries instead of 30 ms;
// - `vsim sched-rtds -d a -p 10000 -b 6000` (µs) on two RTDS hogs without extra time moves a from
//   40 % to 60 % of the pCPU; Credit's command is refused there;
// - `POST /v1/simulations/:id/sched/swap` (HTTP) hot-swaps round robin for Credit mid-run: the
//   swap-scheduler event shows every live vCPU in exactly one run queue, and every guest prints
//   what it prints without the swap.
// - `POST .../sched/swap {service}` hands a running simulation to a second built-in scheduler
//   service: same guest outputs, one gapless event numbering, runstates that add up over both parts.
// Shares are read from the event log (schedule events on the one pCPU), with tolerances.

import { Server, ServerCredentials, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { resolve } from 'path';
import { NATS_SERVER_MISSING, NatsBus, NatsServer, findNatsServer, startNatsServer } from '@vsim/bus';
import { CpuNodeControlService, GatewayService, HypervisorControlService, SchedulerControlService } from '@vsim/proto';
import {
  CpuNodeControlImpl,
  HypervisorControlImpl,
  SchedulerControlImpl,
  SimResult,
  SimSpec,
  VmSpec,
  cpuNodeControlServer,
  hypervisorControlServer,
  runEmbedded,
  schedulerControlServer,
} from '@vsim/control';
import { BUILTIN_SCHEDULER, IMPLEMENTATION_KEY, createLogger, registerService } from '@vsim/service';
import { runVsim } from '@vsim/testkit';
import { Gateway } from '../src/gateway';
import { gatewayServer } from '../src/grpc-api';
import { HttpHandle, startHttpServer } from '../src/http-api';

/** Measured figures are printed only on request (VSIM_TEST_VERBOSE=1); the assertions check them. */
const VERBOSE = process.env.VSIM_TEST_VERBOSE === '1';

const BIN = resolve(__dirname, '../../../guests/rv32/bin');

interface JsonEvent {
  timeNs?: string | number;
  kind: string;
  pcpu?: number;
  vm?: string;
  detail?: string;
  source?: string;
}

async function serve(definition: ServiceDefinition, implementation: UntypedServiceImplementation): Promise<{ server: Server; address: string }> {
  const server = new Server();
  server.addService(definition, implementation);
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  return { server, address: `127.0.0.1:${port}` };
}

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Each VM's time on pCPU 0 within [from, to), from the scheduler's `schedule` events. */
function occupancy(events: JsonEvent[], from: number, to: number): Map<string, number> {
  const sw = events
    .filter((e) => e.kind === 'schedule' && e.source === 'sched' && (e.pcpu ?? 0) === 0)
    .map((e) => ({ t: Number(e.timeNs ?? 0), vm: e.vm ?? '' }));
  const out = new Map<string, number>();
  sw.forEach((s, i) => {
    const a = Math.max(s.t, from);
    const b = Math.min(i + 1 < sw.length ? sw[i + 1].t : to, to);
    if (s.vm && b > a) out.set(s.vm, (out.get(s.vm) ?? 0) + b - a);
  });
  return out;
}

const skip = findNatsServer() === undefined && process.env.CI !== 'true';

(skip ? describe.skip : describe)(`run-time scheduler control through the gateway${skip ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, () => {
  let nats: NatsServer;
  const buses: NatsBus[] = [];
  const servers: Server[] = [];
  let http: HttpHandle;
  let gatewayGrpc = '';
  let gw: Gateway;
  let second: SchedulerControlImpl;

  beforeAll(async () => {
    nats = await startNatsServer();
    const connect = async () => {
      const b = await NatsBus.connect({ servers: nats.url });
      buses.push(b);
      return b;
    };
    const register = async (name: string, address: string, extra: Record<string, string> = {}) => {
      const b = await connect();
      await registerService(b.nc, { name, version: '0.1.0', metadata: { grpc: address, instance: `${name}-test`, ...extra } });
    };
    const hv = await serve(HypervisorControlService, hypervisorControlServer(new HypervisorControlImpl(await connect())));
    const node = await serve(CpuNodeControlService, cpuNodeControlServer(new CpuNodeControlImpl(await connect(), { nodeId: 'n1' })));
    const sched = await serve(SchedulerControlService, schedulerControlServer(new SchedulerControlImpl(await connect())));
    servers.push(hv.server, node.server, sched.server);
    await register('vsim-hypervisor', hv.address);
    await register('vsim-cpu-node', node.address, { node: 'n1' });
    await register('vsim-scheduler', sched.address, { [IMPLEMENTATION_KEY]: BUILTIN_SCHEDULER });
    // A second built-in scheduler, registered under a later instance name: the gateway starts
    // simulations on the first; the handover test moves one here.
    second = new SchedulerControlImpl(await connect(), { instance: 'zz-second' });
    const sched2 = await serve(SchedulerControlService, schedulerControlServer(second));
    servers.push(sched2.server);
    await registerService((await connect()).nc, {
      name: 'vsim-scheduler',
      version: '0.1.0',
      metadata: { grpc: sched2.address, instance: 'zz-second', [IMPLEMENTATION_KEY]: BUILTIN_SCHEDULER },
    });
    const log = createLogger('gateway', 'gw-test', { level: 'silent' });
    gw = new Gateway(await connect(), log);
    const g = await serve(GatewayService, gatewayServer(gw, log) as unknown as UntypedServiceImplementation);
    servers.push(g.server);
    gatewayGrpc = g.address;
    http = await startHttpServer(gw, log);
  }, 30_000);

  afterAll(async () => {
    await http?.close();
    for (const s of servers) s.forceShutdown();
    await Promise.all(buses.map((b) => b.close()));
    await nats?.stop();
  });

  const post = async (path: string, body: unknown) => {
    const send = () =>
      fetch(`http://${http.address}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    // A kept-alive connection the server closed while this process was busy (the embedded reference
    // runs block it for seconds) resets on reuse; a fresh connection is what any client would try.
    const res = await send().catch((e: Error & { cause?: { code?: string } }) => (e.cause?.code === 'ECONNRESET' ? send() : Promise.reject(e)));
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  async function submit(spec: SimSpec): Promise<string> {
    // A reference run embedded in this process (runEmbedded) keeps the event loop busy for
    // seconds, so the HTTP keep-alive timers of fetch's pooled socket and of the server fall due
    // meanwhile. Let them run before posting: otherwise fetch may pick that socket just as the
    // server closes it (ECONNRESET).
    await new Promise((r) => setTimeout(r, 10));
    const images: Record<string, string> = {};
    const { readFileSync } = await import('fs');
    for (const vm of spec.vms) images[vm.image] = readFileSync(vm.image).toString('base64');
    const r = await post('/v1/simulations', { scenario: JSON.stringify(spec), images });
    expect(r.status).toBe(201);
    return r.body.sim as string;
  }

  async function finish(sim: string): Promise<{ result: SimResult; events: JsonEvent[] }> {
    await until(
      `${sim} done`,
      async () => {
        const s = gw.status(sim);
        if (s.state === 'failed') throw new Error(`${sim} failed: ${s.error}`);
        return s.state === 'done' ? true : undefined;
      },
      120_000,
    );
    const result = (await (await fetch(`http://${http.address}/v1/simulations/${sim}/results`)).json()) as SimResult;
    const text = await (await fetch(`http://${http.address}/v1/simulations/${sim}/events`)).text();
    return {
      result,
      events: text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as JsonEvent),
    };
  }

  /** Pauses once the host has passed `ns` of virtual time (the pause itself is the point of the call). */
  async function pauseAfter(sim: string, ns: number): Promise<void> {
    await until(`${sim} past ${ns} ns`, async () => ((gw.status(sim).hostNs.h0 ?? 0) >= ns ? true : undefined), 60_000);
    await gw.pause(sim);
  }

  it('sched-credit -d a -w 768 over the gateway turns a 1:1 share into 3:1 from the next decision on', async () => {
    // Two CPU hogs (checksum, far more rounds than the run lasts) on one pCPU under Credit.
    // 10 MHz clock: seconds of virtual time for tens of millions of instructions.
    const hog = (id: string): VmSpec => ({
      id,
      host: 'h0',
      vcpus: 1,
      memoryBytes: 16 << 20,
      image: `${BIN}/checksum.elf`,
      args: ['1000'],
      kind: 'linux',
      engine: 'bt',
      sched: {},
    });
    const spec: SimSpec = {
      name: 'weights',
      seed: 1,
      durationNs: 4e9,
      trapPath: 'split',
      scheduler: { policy: 'credit', params: {} },
      hosts: [{ id: 'h0', pcpus: 1, clockHz: 10e6, quantumNs: 100_000 }],
      vms: [hog('a'), hog('b')],
    };
    const sim = await submit(spec);
    expect((await post(`/v1/simulations/${sim}/start`, {})).status).toBe(202);
    await pauseAfter(sim, 1.5e9);
    const credit = (...args: string[]) => runVsim(['sched-credit', '--gateway', gatewayGrpc, '--sim', sim, ...args]);
    // Bad values are refused at once, with the reason, and change nothing.
    // Checked as the scenario validator checks them (the registry's schema): by the scheduler where
    // it takes the simulation to know (the VM's vCPUs, its policy), by the CLI where the value alone
    // is wrong, in the unit typed.
    const badCap = await credit('-d', 'a', '-c', '500');
    expect(badCap.status).toBe(1);
    expect(badCap.stderr).toMatch(/VM a: cap 500 is more than 100 × vcpus \(100 for 1 vCPU\)/);
    const badTslice = await credit('-s', '-t', '5000');
    expect(badTslice.status).toBe(2);
    expect(badTslice.stderr).toMatch(/-t 5000: tslice must be 1–1000 ms, got 5000 ms/);
    const noDomain = await credit('-w', '300');
    expect(noDomain.status).toBe(2);
    expect(noDomain.stderr).toMatch(/-w \(--weight\) needs -d VM: which VM's weight to set/);
    const rtdsOnCredit = await runVsim(['sched-rtds', '--gateway', gatewayGrpc, '--sim', sim, '-d', 'a']);
    expect(rtdsOnCredit.status).toBe(1);
    expect(rtdsOnCredit.stderr).toMatch(/VM a is scheduled by credit, not rtds \(see vsim sched-credit\)/);
    const badSwap = await runVsim(['sched', 'swap', '--gateway', gatewayGrpc, '--sim', sim, '--policy', 'rtds', '--params', '{"tslice":10}']);
    expect(badSwap.status).toBe(2);
    expect(badSwap.stderr).toMatch(/--params: tslice is not a parameter of rtds \(it is one of credit\)/);
    expect(await credit('-d', 'a', '-w', '768')).toMatchObject({ status: 0, stderr: '' });
    // Scheduler-wide, in xl's units: tslice 10 ms, ratelimit 500 µs.
    expect(await credit('-s', '-t', '10', '-r', '500')).toMatchObject({ status: 0, stderr: '' });
    const usage = await credit('-d', 'a', '-t', '10');
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/-t \(--tslice_ms\) needs -s/);
    const shown = await credit('-d', 'a');
    expect(shown.status).toBe(0);
    // xl's layout: -d shows the VM's row (Name, ID, Weight, Cap), -s the pool line in ms and µs.
    expect(shown.stdout).toBe('Name                                ID Weight  Cap\na                                    1    768    0\n');
    expect((await credit('-s')).stdout).toBe('Cpupool default: tslice=10ms ratelimit=500us migration-delay=0us\n');
    await gw.resume(sim);
    const { result, events } = await finish(sim);
    const set = events.find((e) => e.kind === 'set' && e.vm === 'a');
    expect(set?.detail).toBe('{"weight":768}');
    const t = Number(set!.timeNs);
    const end = result.hosts[0].endNs;
    expect(t).toBeGreaterThanOrEqual(1.5e9);
    // Credit converges within a few accounting periods (30 ms): skip 300 ms on each side.
    const before = occupancy(events, 300e6, t);
    const afterOcc = occupancy(events, t + 300e6, end);
    const share = (m: Map<string, number>) => (m.get('a') ?? 0) / ((m.get('a') ?? 0) + (m.get('b') ?? 0));
    if (VERBOSE)
      process.stdout.write(
        `weight 256:256 -> 768:256 at ${t} ns: share of a ${share(before).toFixed(3)} before, ${share(afterOcc).toFixed(3)} after\n`,
      );
    expect(share(before)).toBeCloseTo(0.5, 1);
    expect(Math.abs(share(afterOcc) - 0.75)).toBeLessThan(0.03);
    // The new tslice: the pCPU changes hands on 10 ms slice boundaries after the call, 30 ms before
    // (a stretch is one vCPU's consecutive slices: after the call a runs three, b one).
    const stretches = (from: number, to: number) => {
      const sw = events
        .filter((e) => e.kind === 'schedule' && e.source === 'sched')
        .map((e) => Number(e.timeNs ?? 0))
        .filter((x) => x >= from && x <= to);
      return sw.slice(1).map((x, i) => x - sw[i]);
    };
    const before30 = stretches(300e6, t);
    const after10 = stretches(t + 300e6, end);
    expect(Math.min(...before30)).toBe(30e6);
    expect(before30.every((x) => x % 30e6 === 0)).toBe(true);
    expect(Math.min(...after10)).toBe(10e6);
    expect(after10.every((x) => x % 10e6 === 0)).toBe(true);
  }, 120_000);

  it('sched-rtds -d a -p 10000 -b 6000 (µs, as xl) gives a 60 % of the pCPU from the next decision on', async () => {
    // RTDS without extra time: each hog gets exactly its budget per period (Xen default 4 ms / 10 ms).
    const hog = (id: string): VmSpec => ({
      id,
      host: 'h0',
      vcpus: 1,
      memoryBytes: 16 << 20,
      image: `${BIN}/checksum.elf`,
      args: ['1000'],
      kind: 'linux',
      engine: 'bt',
      sched: { extratime: false },
    });
    const spec: SimSpec = {
      name: 'rtds',
      seed: 1,
      durationNs: 2e9,
      trapPath: 'split',
      scheduler: { policy: 'rtds', params: {} },
      hosts: [{ id: 'h0', pcpus: 1, clockHz: 10e6, quantumNs: 100_000 }],
      vms: [hog('a'), hog('b')],
    };
    const sim = await submit(spec);
    await post(`/v1/simulations/${sim}/start`, {});
    await pauseAfter(sim, 0.5e9);
    const where = ['--gateway', gatewayGrpc, '--sim', sim];
    // Credit's command on an RTDS simulation is refused, as xl refuses a pool with another scheduler.
    const refused = await runVsim(['sched-credit', ...where, '-d', 'a', '-w', '512']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/VM a is scheduled by rtds, not credit/);
    expect(await runVsim(['sched-rtds', ...where, '-d', 'a', '-p', '10000', '-b', '6000'])).toMatchObject({ status: 0, stderr: '' });
    const shown = await runVsim(['sched-rtds', ...where, '-d', 'a']);
    expect(shown.status).toBe(0);
    expect(shown.stdout).toBe(
      'Name                                ID    Period    Budget  Extratime\na                                    1     10000      6000         no\n',
    );
    await gw.resume(sim);
    const { result, events } = await finish(sim);
    const t = Number(events.find((e) => e.kind === 'set' && e.vm === 'a')!.timeNs);
    const end = result.hosts[0].endNs;
    const frac = (m: Map<string, number>, vm: string, span: number) => (m.get(vm) ?? 0) / span;
    const before = occupancy(events, 0, t);
    const after = occupancy(events, t + 100e6, end);
    if (VERBOSE)
      process.stdout.write(
        `rtds budget 4 -> 6 ms of 10 at ${t} ns: a ${frac(before, 'a', t).toFixed(3)} -> ${frac(after, 'a', end - t - 100e6).toFixed(3)}, b ${frac(before, 'b', t).toFixed(3)} -> ${frac(after, 'b', end - t - 100e6).toFixed(3)}\n`,
      );
    expect(Math.abs(frac(before, 'a', t) - 0.4)).toBeLessThan(0.02);
    expect(Math.abs(frac(before, 'b', t) - 0.4)).toBeLessThan(0.02);
    expect(Math.abs(frac(after, 'a', end - t - 100e6) - 0.6)).toBeLessThan(0.02);
    expect(Math.abs(frac(after, 'b', end - t - 100e6) - 0.4)).toBeLessThan(0.02);
  }, 120_000);

  it('hot-swaps round robin for Credit mid-run over HTTP: no vCPU lost or duplicated, same guest output', async () => {
    const vm = (id: string, image: string, args: string[]): VmSpec => ({
      id,
      host: 'h0',
      vcpus: 1,
      memoryBytes: 16 << 20,
      image: `${BIN}/${image}`,
      args,
      kind: 'linux',
      engine: 'bt',
      sched: {},
    });
    const spec: SimSpec = {
      name: 'swap',
      seed: 1,
      durationNs: 2e9,
      trapPath: 'split',
      scheduler: { policy: 'round-robin', params: { timeslice: 1e6 } },
      hosts: [{ id: 'h0', pcpus: 2, clockHz: 10e6, quantumNs: 100_000 }],
      vms: [
        vm('hello', 'hello.elf', ['x']),
        vm('sum', 'checksum.elf', ['3']),
        vm('mat', 'matmul.elf', ['2']),
        vm('sort', 'sort.elf', ['1']),
        vm('rec', 'recursion.elf', ['1']),
      ],
    };
    const reference = (await runEmbedded(spec)).result;
    const sim = await submit(spec);
    await post(`/v1/simulations/${sim}/start`, {});
    await pauseAfter(sim, 50e6);
    // Unknown policy: refused at once (400), the run goes on with round robin.
    const bad = await post(`/v1/simulations/${sim}/sched/swap`, { policy: 'lottery' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/lottery/);
    // The scheduler checks a swap's parameters against the new policy's schema, naming the field.
    const foreign = await post(`/v1/simulations/${sim}/sched/swap`, { policy: 'rtds', params: { tslice: 10 } });
    expect(foreign.status).toBe(400);
    expect(String(foreign.body.error)).toMatch(/tslice is not a parameter of rtds/);
    expect((await post(`/v1/simulations/${sim}/sched/swap`, { policy: 'credit', params: { tslice: 10e6 } })).status).toBe(200);
    // `vsim sched show` (gRPC) already shows what the next decision will run.
    const show = await runVsim(['sched', 'show', '--gateway', gatewayGrpc, '--sim', sim]);
    expect(show.status).toBe(0);
    expect(show.stdout).toMatch(
      /^Cpupool default: tslice=10ms ratelimit=1000us migration-delay=0us\nName {32}ID Weight {2}Cap\n(\w+ +\d +256 +0\n)+$/,
    );
    await gw.resume(sim);
    const { result, events } = await finish(sim);
    const swaps = events.filter((e) => e.kind === 'swap-scheduler');
    expect(swaps).toHaveLength(1);
    const handover = JSON.parse(swaps[0].detail!) as {
      policy: string;
      queues: { running: (string | null)[]; queued: string[][]; asleep: string[] };
      lost: string[];
      duplicated: string[];
    };
    expect(handover.policy).toBe('credit');
    expect(handover.lost).toEqual([]);
    expect(handover.duplicated).toEqual([]);
    // Every vCPU still alive at the swap is in exactly one place of the new policy's queues.
    const t = Number(swaps[0].timeNs);
    const ended = new Set(events.filter((e) => (e.kind === 'halt' || e.kind === 'fault') && Number(e.timeNs ?? 0) < t).map((e) => e.vm));
    const alive = spec.vms.map((v) => `${v.id}/0`).filter((k) => !ended.has(k.split('/')[0]));
    expect(alive.length).toBeGreaterThan(2);
    const placed = [...handover.queues.running.filter((k): k is string => k !== null), ...handover.queues.queued.flat(), ...handover.queues.asleep];
    expect([...placed].sort()).toEqual([...alive].sort());
    // The run completes with the guests' outputs of a run without the swap.
    const outputs = (r: SimResult) => r.vms.map((v) => ({ id: v.id, state: v.state, exitStatus: v.exitStatus, console: v.console }));
    expect(outputs(result)).toEqual(outputs(reference));
    expect(result.vms.every((v) => v.state === 'halted' || v.state === 'faulted')).toBe(true);
  }, 120_000);
  it('hands a running simulation to another built-in scheduler service (HTTP swap with service), which finishes it', async () => {
    const vm = (id: string, image: string, args: string[]): VmSpec => ({
      id,
      host: 'h0',
      vcpus: 1,
      memoryBytes: 16 << 20,
      image: `${BIN}/${image}`,
      args,
      kind: 'linux',
      engine: 'bt',
      sched: {},
    });
    const spec: SimSpec = {
      name: 'handover',
      seed: 1,
      durationNs: 5e9,
      trapPath: 'split',
      scheduler: { policy: 'round-robin', params: { timeslice: 1e6 } },
      hosts: [{ id: 'h0', pcpus: 2, clockHz: 10e6, quantumNs: 100_000 }],
      vms: [
        vm('hello', 'hello.elf', ['x']),
        vm('sum', 'checksum.elf', ['3']),
        vm('mat', 'matmul.elf', ['2']),
        vm('sort', 'sort.elf', ['1']),
        vm('rec', 'recursion.elf', ['1']),
      ],
    };
    const reference = (await runEmbedded(spec)).result;
    const sim = await submit(spec);
    await post(`/v1/simulations/${sim}/start`, {});
    await pauseAfter(sim, 200e6);
    // Unknown target: refused at once, the simulation stays where it is.
    const bad = await post(`/v1/simulations/${sim}/sched/swap`, { policy: 'credit', service: 'nobody' });
    expect(bad.status).toBe(404);
    // A policy the other service refuses: its reason comes back (400) after the loops stopped, and
    // the simulation is taken back where it was and goes on.
    const refused = await post(`/v1/simulations/${sim}/sched/swap`, { policy: 'lottery', service: 'zz-second' });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatch(/unknown scheduling policy 'lottery' \(round-robin, credit, sedf, rtds, credit2\)/);
    expect((await gw.getSchedParams(sim)).hosts[0].policy).toBe('round-robin');
    expect(gw.status(sim).state).toBe('paused');
    expect((await post(`/v1/simulations/${sim}/sched/swap`, { policy: 'credit', service: 'zz-second' })).status).toBe(200);
    // Adopted paused, as the simulation was; the run-time calls now reach the adopting service.
    expect((await gw.getSchedParams(sim)).hosts[0].policy).toBe('credit');
    await gw.resume(sim);
    const { result, events } = await finish(sim);
    const outputs = (r: SimResult) =>
      r.vms.map((v) => ({ id: v.id, state: v.state, exitStatus: v.exitStatus, console: v.console, instructions: v.instructions }));
    expect(outputs(result)).toEqual(outputs(reference));
    expect((await second.status()).counters.adopted).toBe(1);
    // One gapless numbering of the schedulers' events across both services.
    const seqs = events
      .filter((e) => e.source === 'sched')
      .map((e) => Number((e as { seq?: number }).seq))
      .sort((a, b) => a - b);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    // The metrics carried over: each VM's runstates add up to the whole run, both parts.
    const end = result.hosts[0].endNs;
    for (const v of result.vms) {
      const r = v.sched!;
      expect([v.id, r.runningNs + r.runnableNs + r.blockedNs + r.offlineNs]).toEqual([v.id, end]);
    }
  }, 120_000);
});
