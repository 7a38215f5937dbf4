// The Popek–Goldberg analysis of an instruction set (seed, "The Conditions for Virtualizing ISAs";
// Popek & Goldberg, CACM 1974): from each instruction's metadata, the sets of privileged,
// control-sensitive, behaviour-sensitive, sensitive, innocuous and critical instructions, and the
// verdict. An ISA is classically virtualizable — trap-and-emulate works — exactly when every
// sensitive instruction is privileged, i.e. when there are no critical instructions.

import { Isa } from '../isa';

export interface PgAnalysis {
  readonly isa: string;
  /** Trap outside the most privileged mode, and not inside it. */
  readonly privileged: readonly string[];
  /** Change the configuration of resources (mode, interrupts, timer, translation). */
  readonly controlSensitive: readonly string[];
  /** Behave differently depending on that configuration. */
  readonly behaviorSensitive: readonly string[];
  /** Control- or behaviour-sensitive. */
  readonly sensitive: readonly string[];
  /** Neither: safe to run directly. */
  readonly innocuous: readonly string[];
  /** Sensitive but not privileged: they do not trap, so a deprivileged guest kernel silently misbehaves. */
  readonly critical: readonly string[];
  /** Sensitive ⊆ privileged. */
  readonly virtualizable: boolean;
  readonly verdict: string;
}

export function analyzeIsa(isa: Isa): PgAnalysis {
  const defs = isa.instructions.slice(1); // index 0 is "whatever does not decode"
  const names = (f: (d: (typeof defs)[number]) => boolean) => defs.filter(f).map((d) => d.name);
  const sensitive = (d: (typeof defs)[number]) => d.meta.controlSensitive || d.meta.behaviorSensitive;
  const critical = names((d) => sensitive(d) && !d.meta.privileged);
  const virtualizable = critical.length === 0;
  return {
    isa: isa.name,
    privileged: names((d) => d.meta.privileged),
    controlSensitive: names((d) => d.meta.controlSensitive),
    behaviorSensitive: names((d) => d.meta.behaviorSensitive),
    sensitive: names(sensitive),
    innocuous: names((d) => !sensitive(d)),
    critical,
    virtualizable,
    verdict: virtualizable
      ? `${isa.name} is classically virtualizable: every sensitive instruction is privileged, so a deprivileged guest kernel traps on each of them and trap-and-emulate works.`
      : `${isa.name} is not classically virtualizable: ${critical.join(', ')} ${critical.length === 1 ? 'is' : 'are'} sensitive but unprivileged (critical): in a deprivileged guest kernel ${critical.length === 1 ? 'it does' : 'they do'} not trap, so trap-and-emulate alone breaks equivalence; code patching, binary translation or paravirtualization is needed.`,
  };
}
