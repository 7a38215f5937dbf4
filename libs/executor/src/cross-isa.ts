// vCPUs of another ISA (architecture §6; issue 6 item 5): a host runs a VM of its own ISA by direct
// execution — each guest instruction costs what the cost model says it costs natively — and a VM
// of the other ISA by emulation on the engine the VM selects, where each guest instruction costs
// the engine's expansion factor (host instructions per guest instruction) times that.
//
// Default factors (docs/cost-model.md, "Emulation"): the ratios between engines are measured —
// ns per guest instruction of each engine on the rv32 checksum workload, relative to the binary
// translator (in-process, `npx tsx bench/virt-ring32.ts` prints them again at each run) — and the
// translator's own factor, the anchor, is vsim's choice: 4 host instructions per guest instruction.

import { readFileSync } from 'fs';
import { AssembledImage, EngineName, ENGINE_NAMES, LinuxUserProcess } from '@vsim/isa';
import { runRing32 } from '@vsim/hypervisor';
import { EXPANSION_DEFAULTS, ISAS, IsaName } from '@vsim/vocabulary';

export { ISAS };
export type { IsaName };

/** The translator's expansion: vsim's choice (see the header), the anchor of the other factors. */
export const BT_EXPANSION = 4;

/**
 * Measured ns per guest instruction relative to bt (rv32 checksum, 1.66 M instructions, second of
 * two in-process rounds on the 2-core development machine under load: dispatch 321, indirect 171,
 * direct 186, bt 90 ns): 3.57, 1.90, 2.06, 1.
 */
export const MEASURED_RATIO_TO_BT: Readonly<Record<EngineName, number>> = { dispatch: 3.57, indirect: 1.9, direct: 2.06, bt: 1 };

/**
 * Host instructions per guest instruction when emulating another ISA, per engine: BT_EXPANSION ×
 * MEASURED_RATIO_TO_BT, rounded — @vsim/vocabulary's EXPANSION_DEFAULTS (a test checks the rounding).
 */
export const DEFAULT_EXPANSION_FACTORS: Readonly<Record<EngineName, number>> = EXPANSION_DEFAULTS;

/** Largest expansion accepted: beyond any real emulator. */
const MAX_EXPANSION = 1000;

/** The defaults with overrides (scenario `costs.expansion`); a RangeError names the key at fault. */
export function makeExpansionFactors(overrides: object = {}): Record<EngineName, number> {
  const out: Record<string, number> = { ...DEFAULT_EXPANSION_FACTORS };
  for (const [k, v] of Object.entries(overrides)) {
    if (!(ENGINE_NAMES as readonly string[]).includes(k))
      throw new RangeError(`costs.expansion.${k}: unknown engine (known: ${ENGINE_NAMES.join(', ')})`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 1 || v > MAX_EXPANSION) {
      throw new RangeError(
        `costs.expansion.${k}: expected a number of host instructions per guest instruction in 1..${MAX_EXPANSION}, got ${JSON.stringify(v)}`,
      );
    }
    out[k] = v;
  }
  return out as Record<EngineName, number>;
}

/**
 * Host instructions per guest instruction for a VM on a host: 1 when their ISAs match (direct
 * execution), else the factor of the engine that really runs it (binary translation always
 * translates). Technique `emulation` emulates every instruction even on a host of the same ISA.
 */
export function expansionFor(
  vmIsa: IsaName,
  hostIsa: IsaName,
  engine: EngineName,
  technique: string | undefined,
  factors: Readonly<Record<EngineName, number>> = DEFAULT_EXPANSION_FACTORS,
): number {
  if (vmIsa === hostIsa && technique !== 'emulation') return 1;
  return factors[technique === 'binary-translation' ? 'bt' : engine];
}

export type CrossIsaGuest =
  { readonly isa: 'ring32'; readonly image: AssembledImage } | { readonly isa: 'rv32'; readonly elf: Uint8Array; readonly argv: readonly string[] };

export interface CrossIsaRun {
  readonly guestIsa: IsaName;
  readonly hostIsa: IsaName;
  readonly engine: EngineName;
  /** 'direct' when the ISAs match, else 'emulation'. */
  readonly execution: 'direct' | 'emulation';
  readonly console: string;
  readonly exitCode: number | null;
  readonly instructions: number;
  /** What the guest's instructions cost by direct execution (the cost model's cycles). */
  readonly directCycles: number;
  /** What the host charges: directCycles, or directCycles x the engine's expansion factor. */
  readonly chargedCycles: number;
  readonly expansion: number;
}

/** Runs a guest on a host of `hostIsa` with `engine`, and charges it as the host would. */
export function runOnHost(guest: CrossIsaGuest, hostIsa: IsaName, engine: EngineName, factors = DEFAULT_EXPANSION_FACTORS): CrossIsaRun {
  let console: string;
  let exitCode: number | null;
  let instructions: number;
  let directCycles: number;
  if (guest.isa === 'ring32') {
    const r = runRing32(guest.image, { technique: 'native', engine });
    if (r.outcome !== 'exit') throw new Error(`ring32 guest ended with ${r.outcome}${r.fault ? `: ${r.fault}` : ''}`);
    ({ console, exitCode, instructions } = r);
    directCycles = r.cycles;
  } else {
    const out: number[] = [];
    const p = new LinuxUserProcess(guest.elf, { engine, argv: guest.argv, stdout: (b) => out.push(...b) }).run();
    if (!p.exited) throw new Error(`rv32 guest did not exit${p.fault ? `: ${p.fault.causeName} at 0x${p.fault.pc.toString(16)}` : ''}`);
    console = Buffer.from(out).toString('latin1');
    exitCode = p.status;
    instructions = p.instructions;
    directCycles = p.cycles;
  }
  const execution = guest.isa === hostIsa ? 'direct' : 'emulation';
  const expansion = execution === 'direct' ? 1 : factors[engine];
  return {
    guestIsa: guest.isa,
    hostIsa,
    engine,
    execution,
    console,
    exitCode,
    instructions,
    directCycles,
    chargedCycles: directCycles * expansion,
    expansion,
  };
}

/** The rv32 guest the cross-ISA runs use by default: guests/rv32/bin/checksum.elf. */
export function defaultRv32Guest(root: string): CrossIsaGuest {
  return { isa: 'rv32', elf: readFileSync(`${root}/guests/rv32/bin/checksum.elf`), argv: ['checksum', '1'] };
}
