// ring32 exits as messages (libs/hypervisor/src/ring32/dispatcher.ts): a Ring32Vm whose exits and
// translated calls are encoded as TrapRequest bytes, resolved by handleTrap from the decoded
// request, and applied from the decoded TrapResolution runs exactly as one resolved in-process —
// for every technique — so nothing a routine needs is missing from the request, and nothing it does
// is missing from the resolution. And a request that lacks what a routine needs is refused by name.

import { TrapRequest, TrapResolution, encode, subjects } from '@vsim/proto';
import { InProcessBroker } from '@vsim/bus';
import { buildRing32Kernel } from '@vsim/testkit';
import { DEFAULT_HYPERVISOR_COSTS, HypervisorService, Ring32Vm, Ring32VmOptions, handleTrap } from '@vsim/hypervisor';

const kernel = buildRing32Kernel('kernel');
const pvKernel = buildRing32Kernel('kernel-pv');

/** Through the wire format both ways, as the remote trap path carries it. */
function overTheWire(req: TrapRequest): TrapResolution {
  const decoded = TrapRequest.decode(encode(TrapRequest, req));
  return TrapResolution.decode(encode(TrapResolution, handleTrap(decoded, undefined, DEFAULT_HYPERVISOR_COSTS)));
}

function run(opts: Ring32VmOptions, wire: boolean) {
  const exits: string[] = [];
  const vm = new Ring32Vm(opts.technique === 'paravirt' ? pvKernel : kernel, { ...opts, onExit: (e) => exits.push(`${e.name}:${e.cost}`) });
  let messages = 0;
  if (wire)
    vm.resolveLocal = (req) => {
      messages++;
      return overTheWire(req);
    };
  const r = vm.run(2e7);
  return {
    result: { ...r, patching: r.patching && { ...r.patching, scanWallNs: 0 } },
    exits,
    memory: Buffer.from(vm.bus.readBytes(0, 1 << 16)).toString('hex'),
    messages,
  };
}

describe('ring32 exits as TrapRequest / TrapResolution messages', () => {
  const cases: [string, Ring32VmOptions][] = [
    ['trap-and-emulate', { technique: 'trap-and-emulate' }],
    ['code-patching', { technique: 'code-patching', engine: 'direct' }],
    ['code-patching without lazy scans', { technique: 'code-patching', lazyPatching: false }],
    ['binary-translation', { technique: 'binary-translation' }],
    ['paravirt', { technique: 'paravirt', engine: 'dispatch' }],
    // A fast timer: interrupts land everywhere (paravirt's held timer, HLT, nested traps).
    ['paravirt, fast timer', { technique: 'paravirt', cyclesPerTick: 7 }],
    ['code-patching, fast timer', { technique: 'code-patching', cyclesPerTick: 7 }],
  ];
  it.each(cases)('%s: the same run through the wire format as in-process', (_name, opts) => {
    const local = run(opts, false);
    const wire = run(opts, true);
    expect(wire.messages).toBeGreaterThan(100);
    expect(wire.result).toEqual(local.result);
    expect(wire.exits).toEqual(local.exits);
    expect(wire.memory).toBe(local.memory);
  });

  it('refuses a ring32 request without its virtual state, or without the memory its routine reads, naming what is missing', () => {
    const vm = new Ring32Vm(pvKernel, { technique: 'paravirt' });
    let captured: TrapRequest | undefined;
    vm.resolveLocal = (req) => {
      captured ??= structuredClone(req);
      return handleTrap(req, undefined);
    };
    vm.runSlice(1e6);
    const req = captured!;
    expect(req.ring32?.memory.length).toBeGreaterThan(0);
    expect(() => handleTrap({ ...req, ring32: { ...req.ring32!, virtual: undefined } }, undefined)).toThrow(
      /TrapRequest\.ring32 \(with its virtual state\) is missing/,
    );
    expect(() => handleTrap({ ...req, ring32: { ...req.ring32!, memory: [] } }, undefined)).toThrow(/carries no guest memory at 0x[0-9a-f]+\+4/);
    expect(() => handleTrap({ ...req, x: req.x.slice(0, 8) }, undefined)).toThrow(/x holds 8 registers, expected 16/);
  });

  it('charges a translated call its own cost, not an exit', () => {
    const vm = new Ring32Vm(kernel, { technique: 'binary-translation' });
    const got: TrapResolution[] = [];
    vm.resolveLocal = (req) => {
      const res = handleTrap(req, undefined);
      if (req.ring32!.translated && res.handler === 'r32.cli') got.push(res);
      return res;
    };
    vm.run(5e7);
    expect(got.length).toBeGreaterThan(0);
    const c = DEFAULT_HYPERVISOR_COSTS;
    for (const r of got) expect(r.costCycles).toBe(c.translatedCall + c.emulate);
  });

  it('the hypervisor service answers a malformed ring32 request with an error naming the field, and keeps serving', async () => {
    const broker = new InProcessBroker();
    const [hvBus, nodeBus] = [broker.connect(), broker.connect()];
    const svc = new HypervisorService(hvBus, 's');
    svc.registerVm({ id: 'r', kind: 'kernel', brkStart: 0, brk: 0, brkMax: 0 });
    svc.start();
    const vm = new Ring32Vm(kernel, { technique: 'trap-and-emulate' });
    let first: TrapRequest | undefined;
    vm.resolveLocal = (req) => {
      first ??= structuredClone(req);
      return handleTrap(req, undefined);
    };
    vm.runSlice(1e5);
    const req: TrapRequest = { ...first!, sim: 's', host: 'h', vm: 'r' };
    const send = (r: TrapRequest) => nodeBus.request(subjects.hvTrap('s', 'n1'), encode(TrapRequest, r), { timeoutMs: 5000 });
    await expect(send({ ...req, seq: 1, ring32: { ...req.ring32!, virtual: undefined } })).rejects.toThrow(
      /TrapRequest\.ring32 \(with its virtual state\) is missing/,
    );
    const res = TrapResolution.decode(await send({ ...req, seq: 2 }));
    expect(res).toEqual(TrapResolution.decode(encode(TrapResolution, handleTrap(req, undefined))));
    expect(res.handler).toMatch(/^r32\./);
    svc.stop();
  });
});
