// The empirical check of the Popek–Goldberg metadata: run every instruction of an ISA, over many
// operand and state samples, once in user mode and once in the most privileged mode, and see what
// it really does. An instruction is observed
//   - privileged          if some sample traps (illegal instruction) in user mode but not in system mode;
//   - control-sensitive   if, run in system mode, it changes system state (CSRs, the mode) or stops the hart;
//   - behaviour-sensitive if the same sample, from the same registers, gives different results under
//                         different system configurations (mode, status bits, time) without trapping.
// Where observation contradicts the table in the dangerous direction — an instruction the table
// calls innocuous or privileged that is in fact sensitive and does not trap — the prober says so.

import { Bus } from '../memory/bus';
import { Hart } from '../rv32/hart';
import { Priv } from '../rv32/csr';
import { Cause } from '../rv32/causes';
import { Stop } from '../rv32/signals';
import { createEngine } from '../engines';
import { InstrDef, Isa } from '../isa';
import { rv32 } from '../rv32';
import { CSR_NAMES } from '../rv32/csr';
import { RING32_PROBE_TARGET } from '../ring32/probe';
import { ProbeOutcome, ProbeTarget, probeRng as rng } from './probe-target';

export interface ProbeObservation {
  readonly name: string;
  readonly samples: number;
  readonly privileged: boolean;
  readonly controlSensitive: boolean;
  readonly behaviorSensitive: boolean;
  /** One example word per observed property, for the report. */
  readonly examples: Readonly<Record<string, string>>;
}

export interface ProbeMismatch {
  readonly name: string;
  readonly property: 'privileged' | 'controlSensitive' | 'behaviorSensitive';
  readonly metadata: boolean;
  readonly observed: boolean;
  readonly why: string;
}

export interface ProbeReport {
  readonly isa: string;
  readonly observations: readonly ProbeObservation[];
  readonly mismatches: readonly ProbeMismatch[];
}

const BASE = 0x80000000;
const RAM = 64 * 1024;
const DATA = BASE + 0x8000;

const CSR_NUMBERS = [...CSR_NAMES.keys()];

/** A random instance of `d`: its match bits, random elsewhere; CSRs drawn from the implemented ones. */
function sampleWord(d: InstrDef, next: () => number): number {
  let w = (next() & ~d.mask) | d.match;
  if (d.format === 'CSR' || d.format === 'CSRI') w = (w & 0x000fffff) | (CSR_NUMBERS[next() % CSR_NUMBERS.length] << 20);
  return w | 0;
}

/** System configurations the samples run under (the first is the reference). */
interface Config {
  readonly priv: Priv;
  readonly mstatus: number;
  readonly cycles: number;
}

const CONFIGS: readonly Config[] = [
  { priv: Priv.M, mstatus: 0, cycles: 1000 },
  { priv: Priv.M, mstatus: (1 << 3) | (3 << 11) | (1 << 1), cycles: 5_000_000 },
  { priv: Priv.S, mstatus: 1 << 1, cycles: 77_777 },
  { priv: Priv.U, mstatus: 0, cycles: 1000 },
];

/** Runs one instruction word from a fixed register state under a configuration. */
function runOnce(isa: Isa, w: number, regs: Int32Array, cfg: Config, memSeed: number): ProbeOutcome {
  const bus = new Bus(BASE, RAM);
  const h = new Hart(bus);
  bus.writeU32(BASE, w >>> 0);
  const fill = rng(memSeed);
  for (let a = DATA; a < DATA + 0x1000; a += 4) bus.writeU32(a, fill());
  h.x.set(regs);
  h.x[0] = 0;
  h.pc = BASE;
  h.priv = cfg.priv;
  h.mstatus = cfg.mstatus;
  h.cycles = cfg.cycles;
  // The hypervisor's configuration: every exception comes to us, counters trap below M.
  h.exitMask = 0xffff;
  h.mcounteren = 0;
  h.scounteren = 0;
  const before = systemState(h);
  const engine = createEngine('dispatch', h, isa);
  const stop = engine.run(1);
  const trapped = stop.kind === Stop.Trap;
  return {
    trapped,
    cause: stop.kind === Stop.Trap ? stop.cause : -1,
    wfi: stop.kind === Stop.Wfi,
    gprs: Array.from(h.x.subarray(0, 32)).join(','),
    pc: h.pc,
    memory: Array.from(bus.readBytes(DATA, 0x1000)).join(','),
    system: before === systemState(h) ? 'same' : systemState(h),
    observable: '',
  };
}

/** Everything privileged software configures (CSRs readable in M-mode, and the mode itself). */
function systemState(h: Hart): string {
  const parts: (number | string)[] = [h.priv];
  const savedPriv = h.priv;
  h.priv = Priv.M;
  for (const [num, name] of CSR_NAMES) {
    if (/^(cycle|time|instret|mcycle|minstret)h?$/.test(name)) continue; // they tick by themselves
    try {
      parts.push(h.csrRead(num));
    } catch {
      parts.push('x');
    }
  }
  h.priv = savedPriv;
  return parts.join(',');
}

const RV32_PROBE_TARGET: ProbeTarget = {
  registers: 32,
  codeBase: BASE,
  dataBase: DATA,
  configs: CONFIGS.length,
  privilegeCause: Cause.IllegalInstruction,
  sampleWord,
  runOnce: (isa, w, regs, config, memSeed) => runOnce(isa, w, regs, CONFIGS[config], memSeed),
};

/** The probe target of each ISA in the library, by name (a modified copy of an ISA keeps its name). */
const PROBE_TARGETS: Readonly<Record<string, ProbeTarget>> = { rv32: RV32_PROBE_TARGET, ring32: RING32_PROBE_TARGET };

/** Probes every instruction of `isa` (rv32 by default) with `samples` random instances each. */
export function probeIsa(isa: Isa = rv32, samples = 24, seed = 1): ProbeReport {
  const target = PROBE_TARGETS[isa.name];
  if (!target) throw new RangeError(`no prober for ISA '${isa.name}' (available: ${Object.keys(PROBE_TARGETS).join(', ')})`);
  const observations: ProbeObservation[] = [];
  const mismatches: ProbeMismatch[] = [];
  for (const d of isa.instructions.slice(1)) {
    const next = rng(seed ^ hash(d.name));
    let privileged = false;
    let controlSensitive = false;
    let behaviorSensitive = false;
    const examples: Record<string, string> = {};
    const hex = (w: number) => `0x${(w >>> 0).toString(16).padStart(8, '0')} (${isa.disassemble(w, target.codeBase)})`;
    for (let i = 0; i < samples; i++) {
      const w = target.sampleWord(d, next);
      // Registers point into the data region, so loads and stores hit RAM whatever the offset.
      const regs = new Int32Array(33);
      for (let r = 1; r < target.registers; r++) regs[r] = (target.dataBase + 0x800 + ((next() % 0x400) & ~3)) | 0;
      const memSeed = next();
      const outcomes = Array.from({ length: target.configs }, (_, c) => target.runOnce(isa, w, regs, c, memSeed));
      const user = outcomes[target.configs - 1];
      const system = outcomes[0];
      if (user.trapped && user.cause === target.privilegeCause && !system.trapped) {
        privileged = true;
        examples.privileged ??= hex(w);
      }
      if (!system.trapped && (system.system !== 'same' || system.wfi)) {
        controlSensitive = true;
        examples.controlSensitive ??= hex(w);
      }
      const ran = outcomes.filter((o) => !o.trapped);
      const key = (o: ProbeOutcome) => `${o.gprs}|${o.pc}|${o.memory}|${o.wfi}|${o.observable}`;
      if (ran.length > 1 && new Set(ran.map(key)).size > 1) {
        behaviorSensitive = true;
        examples.behaviorSensitive ??= hex(w);
      }
    }
    observations.push({ name: d.name, samples, privileged, controlSensitive, behaviorSensitive, examples });
    // The dangerous direction: something sensitive that the table says is safe or trapping.
    if (privileged !== d.meta.privileged && (privileged || !d.meta.privileged || !controlSensitive)) {
      if (d.meta.privileged && !privileged) {
        mismatches.push({
          name: d.name,
          property: 'privileged',
          metadata: true,
          observed: false,
          why: `never trapped in user mode while running in system mode in ${samples} samples`,
        });
      } else if (!d.meta.privileged && privileged) {
        mismatches.push({
          name: d.name,
          property: 'privileged',
          metadata: false,
          observed: true,
          why: `traps in user mode and not in system mode, e.g. ${examples.privileged}`,
        });
      }
    }
    if (controlSensitive && !d.meta.controlSensitive) {
      mismatches.push({
        name: d.name,
        property: 'controlSensitive',
        metadata: false,
        observed: true,
        why: `changed system state in system mode, e.g. ${examples.controlSensitive}`,
      });
    }
    if (behaviorSensitive && !d.meta.behaviorSensitive) {
      mismatches.push({
        name: d.name,
        property: 'behaviorSensitive',
        metadata: false,
        observed: true,
        why: `gave different results under different configurations without trapping, e.g. ${examples.behaviorSensitive}`,
      });
    }
  }
  return { isa: isa.name, observations, mismatches };
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
