// Pieces of generated code every engine shares: the environment a compiled function closes over
// (register file, counters, RAM views) and the RAM fast paths for loads and stores. A memory access
// that misses RAM, is misaligned, or stores into a page holding decoded code takes the hart's slow
// path, which raises the precise exception or invalidates the code.

import { LoadKind, StoreKind } from '../isa';
import { LINE_SHIFT } from '../memory/bus';
import { EngineHart } from './engine';
import { mulh, mulhsu, mulhu } from '../rv32/mulh';
import { RESUME, TRAP } from '../rv32/signals';

/** What generated code may refer to by name. */
export interface Env {
  h: EngineHart;
  x: Int32Array;
  ctr: Float64Array;
  mb: number;
  ms: number;
  m8: Int8Array;
  u8: Uint8Array;
  m16: Int16Array;
  u16: Uint16Array;
  m32: Int32Array;
  cp: Uint8Array;
  mulh: typeof mulh;
  mulhu: typeof mulhu;
  mulhsu: typeof mulhsu;
  TRAP: typeof TRAP;
  RESUME: typeof RESUME;
}

export const ENV_NAMES = 'h, x, ctr, mb, ms, m8, u8, m16, u16, m32, cp, mulh, mulhu, mulhsu, TRAP, RESUME';

export function makeEnv(h: EngineHart): Env {
  const b = h.bus;
  return {
    h,
    x: h.x,
    ctr: h.ctr,
    mb: h.ramBase,
    ms: h.ramSize,
    m8: b.i8,
    u8: b.u8,
    m16: b.i16,
    u16: b.u16,
    m32: b.i32,
    cp: b.storeFlags,
    mulh,
    mulhu,
    mulhsu,
    TRAP,
    RESUME,
  };
}

/**
 * Compiles `body` (which must `return` something) into a factory and binds it to a hart's
 * environment. Compiling once and binding per hart lets V8 share the optimised code.
 */
export function compileFactory<T, K extends object = Record<string, never>>(
  body: string,
  name: string,
  extraNames: readonly (keyof K & string)[] = [],
): (env: Env, extra: K) => T {
  const extra = extraNames.length ? `const { ${extraNames.join(', ')} } = extra;` : '';
  const src = `"use strict"; const { ${ENV_NAMES} } = env; ${extra}\n${body}\n//# sourceURL=vsim-${name}.js`;
  if (DUMP_DIR) dumpSource(name, src);
  return new Function('env', 'extra', src) as (env: Env, extra: K) => T;
}

const LOAD: Record<LoadKind, { align: number; view: string; slow: string; shift: number }> = {
  i8: { align: 0, view: 'm8', slow: 'ld8', shift: 0 },
  u8: { align: 0, view: 'u8', slow: 'ld8u', shift: 0 },
  i16: { align: 1, view: 'm16', slow: 'ld16', shift: 1 },
  u16: { align: 1, view: 'u16', slow: 'ld16u', shift: 1 },
  i32: { align: 3, view: 'm32', slow: 'ld32', shift: 2 },
};

const STORE: Record<StoreKind, { align: number; view: string; slow: string; shift: number }> = {
  i8: { align: 0, view: 'u8', slow: 'st8', shift: 0 },
  i16: { align: 1, view: 'u16', slow: 'st16', shift: 1 },
  i32: { align: 3, view: 'm32', slow: 'st32', shift: 2 },
};

/**
 * Expression: a load with the RAM fast path inline. Uses scratch variables `a` and `t`. `sync` is a
 * comma-expression that makes the hart's pc and counters exact; it runs only on the slow path,
 * where a device (the CLINT's mtime) may read them.
 */
export function emitLoad(kind: LoadKind, addr: string, sync: string, mb = 'mb', ms = 'ms'): string {
  const k = LOAD[kind];
  const aligned = k.align ? ` && (t & ${k.align}) === 0` : '';
  const idx = k.shift ? `t >>> ${k.shift}` : 't';
  return `((a = ${addr}), ((t = a - ${mb}) >>> 0) < ${ms}${aligned} ? ${k.view}[${idx}] : (${sync}, h.${k.slow}(a)))`;
}

/** Statement: a store with the RAM fast path inline; code pages, devices and faults go slow. */
export function emitStore(kind: StoreKind, addr: string, v: string, sync: string, mb = 'mb', ms = 'ms'): string {
  const k = STORE[kind];
  const aligned = k.align ? ` && (t & ${k.align}) === 0` : '';
  const idx = k.shift ? `t >>> ${k.shift}` : 't';
  return `a = ${addr}; if (((t = a - ${mb}) >>> 0) < ${ms}${aligned} && cp[t >>> ${LINE_SHIFT}] === 0) ${k.view}[${idx}] = ${v}; else { ${sync}; h.${k.slow}(a, ${v}); }`;
}

/** VSIM_DUMP_DIR=dir writes every generated function there, to read what the engines compiled. */
const DUMP_DIR = process.env.VSIM_DUMP_DIR;

function dumpSource(name: string, src: string): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs = require('fs') as typeof import('fs');
  fs.mkdirSync(DUMP_DIR as string, { recursive: true });
  fs.writeFileSync(`${DUMP_DIR}/${name}.js`, src);
}
