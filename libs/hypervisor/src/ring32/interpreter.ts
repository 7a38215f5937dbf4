// The interpreter routines of a deprivileged ring32 kernel (trap-and-emulate, code patching, binary
// translation): each emulates one privileged or critical instruction of the virtual ring-0 kernel
// on its virtual PSW / trap registers / timer (Ring32Context), injects the virtual trap the
// hardware would have raised, or — for a patched instruction of a task — does what ring 3 does.

import { CR, PSW, PSW_WRITABLE, RING32_PORT, Ring32Cause, ring32 } from '@vsim/isa';
import type { Ring32Context } from './context';

// Read once: re-exported bindings are getters, and this runs for every exit.
const PSW_IF = PSW.IF;
const PSW_PIF = PSW.PIF;
const PSW_PRING = PSW.PRING;
const PSW_PRING_SHIFT = PSW.PRING_SHIFT;
const PSW_RING = PSW.RING;
const PSW_UF = PSW.UF;
const R32 = ring32;

const SP = 14;
const CR_NAMES = ['psw', 'tvec', 'epc', 'cause', 'tval', 'timecmp', 'time', 'scratch'];

/** A routine's answer: its name (for the event log) and the pc the guest continues at. */
export interface Ring32Step {
  readonly name: string;
  readonly next: number;
}

/**
 * Emulates one privileged instruction of the virtual ring-0 kernel on the virtual state (or one
 * critical instruction, for code patching and binary translation).
 */
export function emulate(m: Ring32Context, w: number, pc: number): Ring32Step {
  const x = m.x;
  const next = (pc + 4) >>> 0;
  const d = R32.instructions[R32.decode(w)];
  const rd = (w >>> 8) & 15;
  const rs1 = (w >>> 12) & 15;
  switch (d.name) {
    case 'hlt':
      // HLT on the virtual machine: nothing to do if the timer is pending, else the vCPU waits for it.
      if (m.time() < m.v.timecmp) m.halted = true;
      return { name: 'r32.hlt', next };
    case 'iret': {
      // IRET: ring <- PRING, IF <- PIF (PRING and PIF themselves stay), pc <- EPC.
      const s = m.virtualPsw();
      m.setVirtualPsw((s & ~(PSW_RING | PSW_IF)) | ((s & PSW_PRING) >>> PSW_PRING_SHIFT) | (s & PSW_PIF ? PSW_IF : 0));
      return { name: 'r32.iret', next: m.enterRing0(m.v.epc) };
    }
    case 'cli':
    case 'sti':
      m.setVirtualPsw(d.name === 'sti' ? m.virtualPsw() | PSW_IF : m.virtualPsw() & ~PSW_IF);
      return { name: `r32.${d.name}`, next };
    case 'lpsw': {
      const a = (x[rs1] + (w >> 16)) >>> 0;
      if (a & 3) return { name: 'r32.lpsw', next: m.inject(Ring32Cause.LoadMisaligned, a, false, pc) };
      if (!m.inRam(a, 8)) return { name: 'r32.lpsw', next: m.inject(Ring32Cause.LoadFault, a, false, pc) };
      const npc = m.readU32((a + 4) >>> 0) >>> 0;
      if (npc & 3) return { name: 'r32.lpsw', next: m.inject(Ring32Cause.FetchMisaligned, npc, false, pc) };
      m.setVirtualPsw(m.readU32(a));
      return { name: 'r32.lpsw', next: m.enterRing0(npc) };
    }
    case 'mfcr': {
      const cr = (w >>> 16) & 15;
      const v = m.v;
      const values: Record<number, number> = {
        [CR.PSW]: m.virtualPsw(),
        [CR.TVEC]: v.tvec,
        [CR.EPC]: v.epc,
        [CR.CAUSE]: v.cause,
        [CR.TVAL]: v.tval,
        [CR.TIMECMP]: Number.isFinite(v.timecmp) ? v.timecmp : 0xffffffff,
        [CR.TIME]: m.time() % 2 ** 32,
        [CR.SCRATCH]: v.scratch,
      };
      if (!(cr in values)) return { name: 'r32.mfcr', next: m.inject(Ring32Cause.IllegalInstruction, w, false, pc) };
      if (rd !== 0) x[rd] = values[cr] | 0;
      return { name: `r32.mfcr.${CR_NAMES[cr]}`, next };
    }
    case 'mtcr':
      return mtcr(m, w, pc);
    case 'in': {
      const port = w >>> 16;
      if (rd !== 0) x[rd] = port === RING32_PORT.CONSOLE || port === RING32_PORT.EXIT ? 0 : -1;
      return { name: 'r32.in', next };
    }
    case 'out': {
      const port = w >>> 16;
      if (port === RING32_PORT.CONSOLE) m.console.push(x[rs1] & 0xff);
      if (port === RING32_PORT.EXIT) m.shutdown(x[rs1]);
      return { name: port === RING32_PORT.CONSOLE ? 'r32.out.console' : 'r32.out', next };
    }
    case 'pushf': {
      const nsp = (x[SP] - 4) | 0;
      if (nsp & 3 || !m.inRam(nsp >>> 0, 4))
        return { name: 'r32.pushf', next: m.inject(nsp & 3 ? Ring32Cause.StoreMisaligned : Ring32Cause.StoreFault, nsp, false, pc) };
      m.writeU32(nsp >>> 0, m.virtualPsw());
      x[SP] = nsp;
      return { name: 'r32.pushf', next };
    }
    case 'popf': {
      const sp = x[SP] >>> 0;
      if (sp & 3 || !m.inRam(sp, 4))
        return { name: 'r32.popf', next: m.inject(sp & 3 ? Ring32Cause.LoadMisaligned : Ring32Cause.LoadFault, sp, false, pc) };
      const val = m.readU32(sp);
      x[SP] = (sp + 4) | 0;
      // Ring 0's POPF: IF, PRING, PIF and the user flags from the stack, never the ring.
      m.setVirtualPsw((m.v.psw & PSW_RING) | (val & PSW_WRITABLE & ~PSW_RING));
      return { name: 'r32.popf', next };
    }
    case 'smsw':
      if (rd !== 0) x[rd] = m.virtualPsw() | 0;
      return { name: 'r32.smsw', next };
    default:
      return m.fault(`no routine for ${d.name} at pc 0x${pc.toString(16)} (instruction 0x${(w >>> 0).toString(16).padStart(8, '0')})`);
  }
}

function mtcr(m: Ring32Context, w: number, pc: number): Ring32Step {
  const cr = (w >>> 16) & 15;
  const val = m.x[(w >>> 12) & 15];
  const next = (pc + 4) >>> 0;
  switch (cr) {
    case CR.PSW:
      m.setVirtualPsw(val);
      break;
    case CR.TVEC:
      m.v.tvec = (val & ~3) >>> 0;
      m.scan(m.v.tvec); // code patching: a new entry point
      break;
    case CR.EPC:
      m.v.epc = (val & ~3) >>> 0;
      break;
    case CR.CAUSE:
      m.v.cause = val >>> 0;
      break;
    case CR.TVAL:
      m.v.tval = val >>> 0;
      break;
    case CR.TIMECMP:
      m.setTimer(val >>> 0 === 0xffffffff ? Number.POSITIVE_INFINITY : val >>> 0);
      break;
    case CR.SCRATCH:
      m.v.scratch = val | 0;
      break;
    default:
      return { name: 'r32.mtcr', next: m.inject(Ring32Cause.IllegalInstruction, w, false, pc) };
  }
  return { name: `r32.mtcr.${CR_NAMES[cr]}`, next: cr === CR.PSW ? m.enterRing0(next) : next };
}

/** A patched computed jump: do the jalr, and have its target scanned if it is kernel code not seen yet. */
export function computedJump(m: Ring32Context, w: number, pc: number): number {
  const x = m.x;
  const rd = (w >>> 8) & 15;
  const t = (x[(w >>> 12) & 15] + (w >> 16)) >>> 0;
  if (t & 3) return m.inject(Ring32Cause.FetchMisaligned, t, false, pc);
  if (rd !== 0) x[rd] = (pc + 4) | 0;
  return m.enterRing0(t);
}

/** A critical instruction as the hardware runs it in ring 3 (where real and virtual ring agree). */
export function hardwareInRing3(m: Ring32Context, w: number, pc: number): number {
  const x = m.x;
  const name = R32.instructions[R32.decode(w)].name;
  if (name === 'pushf' || name === 'popf') {
    // The stack access faults as the hardware's would (checked first: no trap escapes the host).
    const a = name === 'pushf' ? (x[SP] - 4) >>> 0 : x[SP] >>> 0;
    if (a & 3) return m.inject(name === 'pushf' ? Ring32Cause.StoreMisaligned : Ring32Cause.LoadMisaligned, a, false, pc);
    if (!m.inRam(a, 4)) return m.inject(name === 'pushf' ? Ring32Cause.StoreFault : Ring32Cause.LoadFault, a, false, pc);
    if (name === 'pushf') {
      m.writeU32(a, m.psw);
      x[SP] = a | 0;
    } else {
      // The hardware's POPF outside ring 0: only the user flags change, IF silently stays.
      const v = m.readU32(a);
      const ring = m.psw & PSW_RING;
      const keep = ring ? ~PSW_UF : PSW_RING;
      const take = ring ? PSW_UF : PSW_WRITABLE & ~PSW_RING;
      m.psw = (m.psw & keep) | (v & take);
      m.kick = true;
      x[SP] = (a + 4) | 0;
    }
  } else if (((w >>> 8) & 15) !== 0) x[(w >>> 8) & 15] = m.psw;
  return (pc + 4) >>> 0;
}

/** The guest memory emulate() / hardwareInRing3() of instruction `w` will read: LPSW's 8 bytes, POPF's stack word. */
export function interpreterMemoryNeeded(
  w: number,
  x: ArrayLike<number>,
  mem: { inRam(a: number, len: number): boolean },
): { addr: number; len: number } | null {
  const name = R32.instructions[R32.decode(w)].name;
  if (name === 'lpsw') {
    const a = (x[(w >>> 12) & 15] + (w >> 16)) >>> 0;
    return a & 3 || !mem.inRam(a, 8) ? null : { addr: a, len: 8 };
  }
  if (name === 'popf') {
    const sp = x[SP] >>> 0;
    return sp & 3 || !mem.inRam(sp, 4) ? null : { addr: sp, len: 4 };
  }
  return null;
}
