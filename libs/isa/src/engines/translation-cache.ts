// Translations shared by every hart of the process (issue 12 item 1). A thousand VMs booted from one
// image translate the same blocks at the same addresses: compiling each of them once per hart was a
// sixth of a large run's time. What is shared is the *code* of a block — the compiled factory that
// the binary translator binds to one hart's registers and RAM — keyed by everything the generated
// source depends on: the ISA, the translation mode, whether sensitive instructions are translated to
// hypervisor calls, the RAM bounds inlined as constants, and the content of the block itself (each
// instruction's address, word, cycle cost and how a superblock goes past it). Two harts with equal
// keys would generate byte-identical source, so sharing cannot change what a guest computes.
//
// Everything stateful stays per hart: the Block records (validity, chaining, inline caches), the
// code marks in each VM's own memory bus, and the statistics that a hypervisor charges translation
// by. So a VM that writes its own code invalidates its own blocks only; when it translates the new
// code, the new words make a new key.

import { Isa } from '../isa';
import { Env } from './emit';

/** The compiled code of one block and what its translator computed alongside it. */
export interface SharedBlockCode {
  readonly factory: (env: Env, extra: Record<string, never>) => () => number;
  readonly fall: number;
  readonly tgt: number;
  readonly span: number;
  /** Side exit targets by number (index 0 unused). */
  readonly exits: readonly number[];
  readonly sourceBytes: number;
}

/**
 * Distinct blocks kept: far more than a few guest images need, small next to their closures (a
 * factory is one compiled function). Past it the map starts again; blocks already bound keep their code.
 */
const MAX_ENTRIES = 1 << 16;

export class TranslationCache {
  private byIsa = new WeakMap<Isa, Map<string, SharedBlockCode>>();
  private entries = 0;
  hits = 0;
  misses = 0;

  get(isa: Isa, key: string): SharedBlockCode | undefined {
    const code = this.byIsa.get(isa)?.get(key);
    if (code) this.hits++;
    else this.misses++;
    return code;
  }

  set(isa: Isa, key: string, code: SharedBlockCode): void {
    if (this.entries >= MAX_ENTRIES) this.clear();
    let m = this.byIsa.get(isa);
    if (!m) this.byIsa.set(isa, (m = new Map()));
    if (!m.has(key)) this.entries++;
    m.set(key, code);
  }

  get size(): number {
    return this.entries;
  }

  clear(): void {
    // A WeakMap cannot be emptied: start a fresh one.
    this.byIsa = new WeakMap();
    this.entries = 0;
  }
}

/** The process-wide cache every BinaryTranslationEngine uses unless told not to share. */
export const sharedTranslations = new TranslationCache();
