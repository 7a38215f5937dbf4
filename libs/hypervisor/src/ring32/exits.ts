// The cpu-node's two ends of a ring32 exit (the ring32 counterpart of
// libs/executor/src/runners/resolution.ts): the TrapRequest an exit becomes — registers, the
// Ring32Cpu, the patch site, the guest memory its routine reads — and applying the TrapResolution's
// effects to the machine: registers, guest memory, real PSW and timer, virtual state, and code
// patching's scans, which patch guest memory and so run here.

import { Bus, PSW, Ring32Hart } from '@vsim/isa';
import { TrapAction, TrapRequest, TrapResolution } from '@vsim/proto';
import type { CodePatcher } from './code-patching';
import { SCAN_CYCLES_PER_INSTRUCTION } from './code-patching';
import { VirtualRing32, virtualToProto } from './context';
import { ring32MemoryNeeded } from './dispatcher';

// Read once: re-exported bindings are getters, and this runs for every exit.
const PSW_RING = PSW.RING;

const NO_BYTES = Buffer.alloc(0);
const ACTION_SHUTDOWN = TrapAction.TRAP_ACTION_SHUTDOWN;
const ACTION_FAULT = TrapAction.TRAP_ACTION_FAULT;

/** What an exit request is made of. */
export interface ExitSource {
  readonly hart: Ring32Hart;
  readonly bus: Bus;
  readonly technique: string;
  readonly v: VirtualRing32;
  readonly pvShared?: number;
  readonly pvTimerHeld: boolean;
  readonly patcher?: CodePatcher;
  readonly cause: number;
  readonly tval: number;
  readonly interrupt: boolean;
  readonly pc: number;
  readonly translated: boolean;
}

/**
 * A ring32 exit as a TrapRequest (a plain object, as rv32's trapRequest builds it). The host fills
 * in sim, host, vm, vcpu and now before it sends it over the bus.
 */
export function exitRequest(s: ExitSource): TrapRequest {
  const h = s.hart;
  const bus = s.bus;
  const site = !s.interrupt && !s.translated ? s.patcher?.sites.get(s.pc) : undefined;
  const pvShared = s.pvShared ?? 0;
  const windows = ring32MemoryNeeded(
    {
      cause: s.cause,
      tval: s.tval,
      interrupt: s.interrupt,
      x: h.x,
      technique: s.technique,
      translated: s.translated,
      vring: s.v.psw & PSW_RING,
      pvShared,
      siteWord: site?.word,
    },
    bus,
  );
  return {
    sim: '',
    host: '',
    vm: '',
    vcpu: 0,
    nowNs: 0,
    seq: 0,
    cause: s.cause,
    tval: s.tval >>> 0,
    pc: s.pc >>> 0,
    instruction: 0,
    priv: h.psw & PSW_RING,
    x: registers(h.x),
    memoryAddr: 0,
    memory: NO_BYTES,
    kind: 'kernel',
    vcpuState: undefined,
    interrupt: s.interrupt,
    hartStates: [],
    stvec: 0,
    ring32: {
      technique: s.technique,
      virtual: virtualToProto(s.v),
      psw: h.psw >>> 0,
      cycles: h.cycles,
      timeSkew: h.timeSkew,
      cyclesPerTick: h.cyclesPerTick,
      ramBase: bus.ramBase,
      ramSize: bus.ramSize,
      translated: s.translated,
      pvShared,
      pvTimerHeld: s.pvTimerHeld,
      site: site && { word: site.word >>> 0, name: site.name, indirect: site.kind === 'indirect' },
      memory:
        windows.length === 0
          ? []
          : windows.map((w) => {
              const b = bus.readBytes(w.addr, w.len);
              return { addr: w.addr, data: Buffer.from(b.buffer, b.byteOffset, b.length) };
            }),
    },
  };
}

/** r0..r15 as a plain array (Array.from on a typed array is several times slower; this runs per exit). */
function registers(x: Int32Array): number[] {
  const out = new Array<number>(16);
  for (let i = 0; i < 16; i++) out[i] = x[i];
  return out;
}

/** 'exit' or 'fault' when the resolution stops the VM. */
export function isStop(res: TrapResolution): 'exit' | 'fault' | undefined {
  if (res.action === ACTION_SHUTDOWN) return 'exit';
  if (res.action === ACTION_FAULT) return 'fault';
  return undefined;
}

/** What applying a resolution leaves for the machine to keep. */
export interface Ring32Effect {
  readonly pvTimerHeld: boolean;
  /** Cycles code patching's scans cost (SCAN_CYCLES_PER_INSTRUCTION per instruction scanned). */
  readonly scanCycles: number;
}

/**
 * Applies a (non-stopping) resolution's effects to the machine. `v` is updated in place. The
 * routine's memory writes land before any scan: a scan reads the code as the routine left it.
 */
export function applyEffects(
  h: Ring32Hart,
  bus: Bus,
  v: VirtualRing32,
  res: TrapResolution,
  patcher: CodePatcher | undefined,
  lazyPatching: boolean,
): Ring32Effect {
  const e = res.ring32;
  if (!e || !e.virtual) throw new RangeError(`ring32 resolution '${res.handler}' carries no ring32 effects (virtual state)`);
  const x = h.x;
  for (const w of res.writes) if (w.reg > 0 && w.reg < 16) x[w.reg] = w.value;
  for (const m of res.memoryWrites) {
    if (!bus.inRam(m.addr, m.fill > 0 ? m.fill : m.data.length))
      throw new RangeError(`ring32 resolution '${res.handler}' writes 0x${m.addr.toString(16)}, outside guest RAM`);
    bus.writeBytes(m.addr, m.fill > 0 ? new Uint8Array(m.fill) : m.data);
  }
  const nv = e.virtual;
  v.psw = nv.psw;
  v.tvec = nv.tvec;
  v.epc = nv.epc;
  v.cause = nv.cause;
  v.tval = nv.tval;
  v.scratch = nv.scratch | 0;
  v.timecmp = nv.timerOff ? Number.POSITIVE_INFINITY : nv.timecmp;
  h.psw = e.psw;
  // The translator's code for the kernel and for its tasks differ (translated code keys on the ring).
  if (h.sensitiveHook) h.xlateKey = v.psw & PSW_RING;
  if (e.setTimecmp) h.timecmp = e.timecmpOff ? Number.POSITIVE_INFINITY : e.timecmp;
  if (e.kick) h.kick = true;
  let scanCycles = 0;
  if (patcher) {
    for (const s of e.scans) {
      if (s.lazy && (!lazyPatching || patcher.isScanned(s.pc))) continue;
      scanCycles += patcher.scan(s.pc, s.lazy) * SCAN_CYCLES_PER_INSTRUCTION;
    }
  }
  return { pvTimerHeld: e.pvTimerHeld, scanCycles };
}
