// ring32's probe target for the Popek–Goldberg prober (analysis/prober.ts): a one-instruction
// machine in ring 0, ring 1 or ring 3 over varied PSW, time and timer states. All configurations
// start with IF = 0 and no user flags, so an innocuous instruction leaves IF and UF the same in all
// of them; POPF does not (ring 0 sets IF, rings 1–3 silently keep it), and that is what the prober
// sees. Configurations 0 and 1 are ring 0; the last one is ring 3 (the user).

import { Bus } from '../memory/bus';
import { Stop } from '../rv32/signals';
import { createEngine } from '../engines';
import { InstrDef, Isa } from '../isa';
import { ProbeOutcome, ProbeTarget, probeRng } from '../analysis/probe-target';
import { PSW, Ring32Cause } from './arch';
import { Ring32Hart } from './hart';

const CODE = 0x1000;
const DATA = 0x8000;
const RAM = 64 * 1024;
const PROBE_PORT = 0x10;

interface Config {
  readonly psw: number;
  readonly cycles: number;
  /** Timer compare in ticks (+Infinity: disarmed). */
  readonly timecmp: number;
}

const CONFIGS: readonly Config[] = [
  { psw: (3 << PSW.PRING_SHIFT) | PSW.PIF, cycles: 1000, timecmp: Number.POSITIVE_INFINITY },
  // Ring 0 with the timer pending (IF = 0, so it is not taken): HLT does not wait here.
  { psw: 1 << PSW.PRING_SHIFT, cycles: 5_000_000, timecmp: 7 },
  { psw: 1, cycles: 77_777, timecmp: Number.POSITIVE_INFINITY },
  { psw: 3, cycles: 1000, timecmp: Number.POSITIVE_INFINITY },
];

function systemState(h: Ring32Hart, portLog: readonly number[]): string {
  return [h.psw, h.tvec, h.epc, h.cause, h.tval, h.timecmp, h.scratch, h.exitCode ?? 'none', portLog.join(':')].join(',');
}

function runOnce(isa: Isa, w: number, regs: Int32Array, config: number, memSeed: number): ProbeOutcome {
  const cfg = CONFIGS[config];
  const bus = new Bus(0, RAM);
  bus.writeU32(CODE, w >>> 0);
  const fill = probeRng(memSeed);
  for (let a = DATA; a < DATA + 0x1000; a += 4) bus.i32[a >>> 2] = fill(); // RAM starts at 0; nothing decoded yet
  const h = new Ring32Hart(bus);
  const portLog: number[] = [];
  h.attachPort(PROBE_PORT, { in: () => 0x5a, out: (v) => portLog.push(v) });
  h.x.set(regs.subarray(0, 16));
  h.x[0] = 0;
  h.pc = CODE;
  h.psw = cfg.psw;
  h.tvec = CODE + 0x100;
  h.epc = CODE + 0x200;
  h.cycles = cfg.cycles;
  h.timecmp = cfg.timecmp;
  // The hypervisor's configuration: every exception and the timer come to us.
  h.exitMask = 0xffff;
  h.exitInterruptMask = 1;
  const before = systemState(h, portLog);
  const stop = createEngine('dispatch', h, isa).run(1);
  const trapped = stop.kind === Stop.Trap;
  const after = systemState(h, portLog);
  return {
    trapped,
    cause: stop.kind === Stop.Trap ? stop.cause : -1,
    wfi: stop.kind === Stop.Wfi,
    gprs: Array.from(h.x.subarray(0, 16)).join(','),
    pc: h.pc,
    memory: Array.from(bus.readBytes(DATA, 0x1000)).join(','),
    system: before === after ? 'same' : after,
    observable: String(h.psw & (PSW.IF | PSW.UF)),
  };
}

export const RING32_PROBE_TARGET: ProbeTarget = {
  registers: 16,
  codeBase: CODE,
  dataBase: DATA,
  configs: CONFIGS.length,
  privilegeCause: Ring32Cause.PrivilegedInstruction,
  sampleWord: (d: InstrDef, next) => {
    let w = (next() & ~d.mask) | d.match;
    // Ports and control registers: mostly the implemented ones, so their effects show.
    if (d.format === 'IN' || d.format === 'OUT') w = (w & 0xffff) | (PROBE_PORT << 16);
    if (d.format === 'CR' || d.format === 'CRW') w = (w & ~(15 << 16)) | ((next() % 8) << 16);
    return w | 0;
  },
  runOnce,
};
