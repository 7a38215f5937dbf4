// Why plain trap-and-emulate fails on ring32: run the kernel natively and deprivileged under
// trap-and-emulate with its critical instructions observed (observe.ts, observeCritical: they run
// exactly as the hardware runs them, and each whose effect differs from ring 0's is recorded), then
// compare the consoles. Which instructions count as critical comes from the Popek–Goldberg analyzer,
// not from a list here.

import { AssembledImage, ElfImage } from '@vsim/isa';
import type { CriticalObservation, Ring32VmResult } from './types';
import { runRing32 } from './vm';

export interface Ring32Diagnosis {
  readonly diverges: boolean;
  /** The first console line that differs (1-based), with both versions. */
  readonly firstDifference?: { line: number; native: string; trapAndEmulate: string };
  /** Critical instructions the deprivileged kernel executed with an effect ring 0 would not have had. */
  readonly critical: readonly CriticalObservation[];
  readonly native: Ring32VmResult;
  readonly trapAndEmulate: Ring32VmResult;
  /** One line per finding, for people. */
  readonly report: string;
}

const hex = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

/** `image`: assembled, a parsed ring32 ELF, or the bytes of one (guests/ring32/bin/kernel.elf). */
export function diagnoseRing32(image: AssembledImage | ElfImage | Uint8Array): Ring32Diagnosis {
  const native = runRing32(image, { technique: 'native' });
  const tae = runRing32(image, { technique: 'trap-and-emulate', observeCritical: true });
  const a = native.console.split('\n');
  const b = tae.console.split('\n');
  let firstDifference: Ring32Diagnosis['firstDifference'];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) {
      firstDifference = { line: i + 1, native: a[i] ?? '(end of output)', trapAndEmulate: b[i] ?? '(end of output)' };
      break;
    }
  }
  const diverges = firstDifference !== undefined || native.exitCode !== tae.exitCode;
  const lines = [
    diverges
      ? `trap-and-emulate DIVERGES from native` +
        (firstDifference
          ? ` at console line ${firstDifference.line}: native "${firstDifference.native}", trap-and-emulate "${firstDifference.trapAndEmulate}"`
          : ` (exit code ${tae.exitCode} vs ${native.exitCode})`)
      : 'trap-and-emulate matches native',
    ...tae.critical.map(
      (o) => `${o.name} at ${hex(o.pc)} ${o.effect} (critical instruction: sensitive, unprivileged, no trap)${o.count > 1 ? ` x${o.count}` : ''}`,
    ),
  ];
  return { diverges, firstDifference, critical: tae.critical, native, trapAndEmulate: tae, report: lines.join('\n') };
}
