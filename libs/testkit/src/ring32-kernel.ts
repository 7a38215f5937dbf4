// Builds the ring32 guest kernel (guests/ring32/kernel.s) from source: one source, two builds.
// The assembler has no conditionals, so `.ifdef NAME` / `.ifndef NAME` / `.else` / `.endif` are
// resolved here first; lines left out become empty lines, so the assembler's line:column errors
// still point into the source file.

import { readFileSync } from 'fs';
import { resolve } from 'path';
import { AssembledImage, assembleRing32 } from '@vsim/isa';
import { GUESTS_DIR } from './guests';

/** The unmodified kernel, and its paravirtual build (`PV` defined). */
export type Ring32KernelBuild = 'kernel' | 'kernel-pv';

/** Where the kernel's source is in the repository. */
export const RING32_KERNEL_SOURCE = resolve(GUESTS_DIR, 'ring32/kernel.s');

/** Resolves `.ifdef`/`.ifndef`/`.else`/`.endif` for the names in `defines`. Throws naming the line for unbalanced ones. */
export function preprocess(source: string, defines: ReadonlySet<string>): string {
  const lines = source.split('\n');
  const stack: { active: boolean; parentActive: boolean; seenElse: boolean; line: number }[] = [];
  const active = () => stack.every((s) => s.active);
  return lines
    .map((line, i) => {
      const m = /^\s*\.(ifdef|ifndef|else|endif)\b\s*(\w*)/.exec(line);
      if (!m) return active() ? line : '';
      const [, dir, name] = m;
      if (dir === 'ifdef' || dir === 'ifndef') {
        if (!name) throw new Error(`${i + 1}:1: .${dir} needs a name`);
        stack.push({ active: defines.has(name) === (dir === 'ifdef'), parentActive: active(), seenElse: false, line: i + 1 });
      } else if (dir === 'else') {
        const top = stack[stack.length - 1];
        if (!top || top.seenElse) throw new Error(`${i + 1}:1: .else without .ifdef`);
        top.active = !top.active;
        top.seenElse = true;
      } else {
        if (!stack.pop()) throw new Error(`${i + 1}:1: .endif without .ifdef`);
      }
      return '';
    })
    .join('\n')
    .concat(
      stack.length
        ? (() => {
            throw new Error(`${stack[stack.length - 1].line}:1: .ifdef without .endif`);
          })()
        : '',
    );
}

/** Assembles one build of the kernel from its source text (default: the file in the repo). */
export function buildRing32Kernel(build: Ring32KernelBuild, source = readFileSync(RING32_KERNEL_SOURCE, 'utf8')): AssembledImage {
  return assembleRing32(preprocess(source, new Set(build === 'kernel-pv' ? ['PV'] : [])));
}
