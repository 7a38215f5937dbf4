// Code patching (seed, "Code patching", Figure 3.22): before the guest kernel runs, the hypervisor
// scans its code following control flow from the entry points it knows — the image entry, and each
// trap vector the kernel installs (the hypervisor sees MTCR tvec: it is privileged, so it traps) —
// through branches (both ways), jumps and fall-through, and replaces every critical instruction (the
// analyzer's critical set: sensitive but unprivileged, so they would not trap) by a trap to the
// hypervisor. A map patch-site -> original word lets the hypervisor emulate the original on the
// virtual state when the trap comes.
//
// The patch is an undefined word (opcode byte 0, the patch number above it): executing it raises
// an illegal-instruction trap, which exits to the hypervisor like every trap of a deprivileged kernel.
//
// Code the scan cannot reach statically is found on first execution: a computed jump (`jalr` other
// than the `ret` idiom `jalr r0, 0(lr)`) is patched too, so the hypervisor sees where it goes; when
// that target — or the pc an emulated IRET/LPSW/MTCR psw enters ring 0 at — has not been scanned, it
// is scanned and patched before the kernel continues there. (`ret` returns to the instruction after
// a `call`, which the scan already covered as the call's fall-through.) The cost: every computed
// jump of the kernel exits.

import { analyzeIsa, Bus, ring32 } from '@vsim/isa';

/** vsim's own figure: virtual cycles the hypervisor spends scanning (decoding and classifying) one guest instruction. */
export const SCAN_CYCLES_PER_INSTRUCTION = 20;

const LR = 15;

export type PatchKind = 'critical' | 'indirect';

export interface PatchSite {
  readonly pc: number;
  /** The original instruction word. */
  readonly word: number;
  readonly name: string;
  readonly kind: PatchKind;
}

export interface PatchingStats {
  /** Instructions decoded by scans, before the run and on first execution. */
  scannedInstructions: number;
  /** Sites patched (critical instructions and computed jumps). */
  patchedSites: number;
  /** Of which critical instructions, by mnemonic. */
  criticalByName: Record<string, number>;
  indirectSites: number;
  /** Scans started at run time, at code found by a computed jump or a ring change. */
  lazyScans: number;
  /** Wall-clock nanoseconds spent scanning (not part of the simulated result). */
  scanWallNs: number;
}

/** The names the analyzer classifies critical for ring32, computed once. */
const CRITICAL: ReadonlySet<string> = new Set(analyzeIsa(ring32).critical);

export class CodePatcher {
  readonly sites = new Map<number, PatchSite>();
  private readonly scanned = new Set<number>();
  readonly stats: PatchingStats = {
    scannedInstructions: 0,
    patchedSites: 0,
    criticalByName: {},
    indirectSites: 0,
    lazyScans: 0,
    scanWallNs: 0,
  };

  constructor(private readonly bus: Bus) {}

  /** For snapshots (state.ts): the patch sites and every instruction scanned. The patches themselves are in guest RAM. */
  saveState(): { sites: PatchSite[]; scanned: number[]; stats: PatchingStats } {
    return {
      sites: [...this.sites.values()],
      scanned: [...this.scanned],
      stats: { ...this.stats, criticalByName: { ...this.stats.criticalByName } },
    };
  }

  loadState(s: { sites: readonly PatchSite[]; scanned: readonly number[]; stats: PatchingStats }): void {
    this.sites.clear();
    for (const site of s.sites) this.sites.set(site.pc, { ...site });
    this.scanned.clear();
    for (const pc of s.scanned) this.scanned.add(pc);
    Object.assign(this.stats, s.stats, { criticalByName: { ...s.stats.criticalByName } });
  }

  isScanned(pc: number): boolean {
    return this.scanned.has(pc >>> 0);
  }

  /** Scans from `entry` (if not yet scanned) and patches what it finds; returns the instructions newly scanned. */
  scan(entry: number, lazy = false): number {
    entry >>>= 0;
    if (this.scanned.has(entry) || !this.bus.inRam(entry, 4) || entry & 3) return 0;
    const t0 = process.hrtime.bigint();
    if (lazy) this.stats.lazyScans++;
    const work = [entry];
    let n = 0;
    while (work.length > 0) {
      let pc = work.pop()!;
      // Follow the straight line from pc until control leaves it.
      for (;;) {
        if (this.scanned.has(pc) || !this.bus.inRam(pc, 4) || pc & 3) break;
        this.scanned.add(pc);
        n++;
        const w = this.bus.readU32(pc) | 0;
        const d = ring32.instructions[ring32.decode(w)];
        const next = (pc + 4) >>> 0;
        if (CRITICAL.has(d.name)) {
          this.patch(pc, w, d.name, 'critical');
          pc = next;
          continue;
        }
        if (d.flow === 'branch') {
          work.push((pc + (((w >> 20) << 4) | ((w >>> 8) & 15)) * 4) >>> 0);
          pc = next;
          continue;
        }
        if (d.name === 'jal') {
          const rd = (w >>> 8) & 15;
          if (rd !== 0) work.push(next); // a call returns here
          pc = (pc + ((w >> 12) << 2)) >>> 0;
          continue;
        }
        if (d.name === 'jalr') {
          const rd = (w >>> 8) & 15;
          const rs1 = (w >>> 12) & 15;
          const isReturn = rd === 0 && rs1 === LR && w >> 16 === 0;
          if (!isReturn) {
            this.patch(pc, w, d.name, 'indirect');
            if (rd !== 0) work.push(next);
          }
          break;
        }
        // iret and lpsw leave for wherever the state says (the hypervisor emulates them and scans
        // the target then); an undefined word is not code we can follow.
        if (d.name === 'iret' || d.name === 'lpsw' || d.name === 'illegal') break;
        pc = next;
      }
    }
    this.stats.scannedInstructions += n;
    this.stats.scanWallNs += Number(process.hrtime.bigint() - t0);
    return n;
  }

  private patch(pc: number, word: number, name: string, kind: PatchKind): void {
    const index = this.sites.size + 1;
    if (index > 0xffffff) throw new RangeError('code patching: more than 16M patch sites');
    this.sites.set(pc, { pc, word, name, kind });
    this.bus.writeU32(pc, index << 8); // opcode byte 0: undefined, traps as illegal
    this.stats.patchedSites++;
    if (kind === 'critical') this.stats.criticalByName[name] = (this.stats.criticalByName[name] ?? 0) + 1;
    else this.stats.indirectSites++;
  }
}
