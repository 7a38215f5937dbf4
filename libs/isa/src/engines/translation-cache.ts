// Translations shared by every hart of the process (issue 12 item 1). A thousand VMs booted from one
// image translate the same blocks at the same addresses: compiling each of them once per hart was a
// sixth of a large run's time. What is shared is the *code* of a block — the compiled factory that
// the binary translator binds to one hart's registers and RAM — keyed by its address, translation
// mode and content, within a context of everything else the generated source depends on (the ISA,
// the translator's options, the RAM bounds it inlines, the cycle cost of each instruction class).
//
// The content check is exact and cheap: a cached block records the address and word of every guest
// instruction its translator read (those of the block, and any it looked past to decide where a
// superblock ends), and a hart takes it only if its own memory holds the same words there. The
// translator reads nothing else, so a hart that takes a cached block would have generated
// byte-identical source: sharing cannot change what a guest computes.
//
// Everything stateful stays per hart: the Block records (validity, chaining, inline caches), the
// code marks in each VM's own memory bus, and the statistics that a hypervisor charges translation
// by. So a VM that writes its own code invalidates its own blocks only; when it translates the new
// code, the words differ and it compiles (and shares) a block of its own.

import { Isa } from '../isa';
import { Env } from './emit';

/** The compiled code of one block, what it was made from, and what its translator computed. */
export interface SharedBlockCode {
  readonly factory: (env: Env, extra: Record<string, never>) => () => number;
  /** Address of each guest instruction, in block order (what a hart marks as code). */
  readonly pcs: readonly number[];
  /** Address and word of every instruction the translator read to decide the block (pcs and maybe more). */
  readonly read: readonly number[];
  readonly words: Int32Array;
  readonly fall: number;
  readonly tgt: number;
  readonly span: number;
  /** Side exit targets by number (index 0 unused). */
  readonly exits: readonly number[];
  readonly sourceBytes: number;
}

/** Variants kept per address and mode (different images, or code rewritten at run time). */
const MAX_VARIANTS = 8;
/**
 * Blocks kept in all: far more than a few guest images need, small next to their closures (a
 * factory is one compiled function). Past it the cache starts again; blocks already bound keep their code.
 */
const MAX_ENTRIES = 1 << 16;

/** The blocks of one translation context, by (mode, address). */
export class TranslationContext {
  private readonly blocks = new Map<number, SharedBlockCode[]>();

  constructor(private readonly cache: TranslationCache) {}

  /** The block at `start` in `mode` whose words equal those of `ram` (indexed from `ramBase`), if any. */
  find(mode: number, start: number, ram: Int32Array, ramBase: number): SharedBlockCode | undefined {
    const variants = this.blocks.get(mode * 2 ** 32 + start);
    if (variants) {
      next: for (const code of variants) {
        const { read, words } = code;
        for (let i = 0; i < read.length; i++) if (ram[(read[i] - ramBase) >>> 2] !== words[i]) continue next;
        this.cache.hits++;
        return code;
      }
    }
    this.cache.misses++;
    return undefined;
  }

  add(mode: number, start: number, code: SharedBlockCode): void {
    this.cache.counted();
    const key = mode * 2 ** 32 + start;
    const variants = this.blocks.get(key);
    if (!variants) this.blocks.set(key, [code]);
    else {
      if (variants.length >= MAX_VARIANTS) variants.shift();
      variants.push(code);
    }
  }

  /** @internal */
  clear(): void {
    this.blocks.clear();
  }
}

export class TranslationCache {
  private readonly contexts = new WeakMap<Isa, Map<string, TranslationContext>>();
  /** Every context handed out, so that a full cache can be emptied in place. */
  private readonly all: TranslationContext[] = [];
  private entries = 0;
  hits = 0;
  misses = 0;

  /** The context for `isa` and `key` (everything besides mode, address and words the code depends on). */
  context(isa: Isa, key: string): TranslationContext {
    let byKey = this.contexts.get(isa);
    if (!byKey) this.contexts.set(isa, (byKey = new Map()));
    let ctx = byKey.get(key);
    if (!ctx) {
      byKey.set(key, (ctx = new TranslationContext(this)));
      this.all.push(ctx);
    }
    return ctx;
  }

  get size(): number {
    return this.entries;
  }

  /** @internal A context is adding a block. */
  counted(): void {
    if (this.entries >= MAX_ENTRIES) this.clear();
    this.entries++;
  }

  clear(): void {
    for (const ctx of this.all) ctx.clear();
    this.entries = 0;
  }
}

/** The process-wide cache every BinaryTranslationEngine uses unless told not to share. */
export const sharedTranslations = new TranslationCache();
