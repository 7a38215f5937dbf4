// The core-local interruptor, SiFive layout (as QEMU's virt machine and the riscv-tests use it):
// msip per hart at +0x0, mtimecmp per hart at +0x4000, mtime at +0xbff8. mtime is derived from the
// harts' virtual time, never from the host clock.

import { Device } from './bus';
import { Hart, toTicks } from '../rv32/hart';
import { MIP } from '../rv32/csr';

export const CLINT_BASE = 0x02000000;
export const CLINT_SIZE = 0x10000;
const MSIP = 0x0;
const MTIMECMP = 0x4000;
const MTIME = 0xbff8;

export class Clint implements Device {
  readonly name = 'clint';
  readonly size = CLINT_SIZE;
  constructor(
    private readonly harts: readonly Hart[],
    readonly base = CLINT_BASE,
  ) {
    this.cmpLo = harts.map(() => 0xffffffff);
    this.cmpHi = harts.map(() => 0xffffffff);
  }

  /** Time is the first hart's view; the driver keeps harts of one machine in step via timeSkew. */
  private now(): number {
    return this.harts[0].mtime();
  }

  /** Raw halves of each hart's mtimecmp, so writing one half never loses the other. */
  private readonly cmpLo: number[];
  private readonly cmpHi: number[];

  /** For snapshots (state.ts): the raw compare halves, copied. */
  saveState(): { cmpLo: number[]; cmpHi: number[] } {
    return { cmpLo: [...this.cmpLo], cmpHi: [...this.cmpHi] };
  }

  loadState(s: { cmpLo: readonly number[]; cmpHi: readonly number[] }): void {
    if (s.cmpLo.length !== this.harts.length || s.cmpHi.length !== this.harts.length)
      throw new RangeError(`CLINT state for ${s.cmpLo.length} harts, this machine has ${this.harts.length}`);
    this.cmpLo.splice(0, this.cmpLo.length, ...s.cmpLo);
    this.cmpHi.splice(0, this.cmpHi.length, ...s.cmpHi);
  }

  load(off: number, width: 1 | 2 | 4): number {
    if (width !== 4) return 0;
    if (off >= MSIP && off < MSIP + 4 * this.harts.length) return this.harts[off >>> 2].mip & MIP.MSIP ? 1 : 0;
    if (off >= MTIMECMP && off < MTIMECMP + 8 * this.harts.length) {
      const i = (off - MTIMECMP) >>> 3;
      return off & 4 ? this.cmpHi[i] : this.cmpLo[i];
    }
    if (off === MTIME) return this.now() % 2 ** 32;
    if (off === MTIME + 4) return Math.floor(this.now() / 2 ** 32) >>> 0;
    return 0;
  }

  store(off: number, width: 1 | 2 | 4, value: number): void {
    if (width !== 4) return;
    if (off >= MSIP && off < MSIP + 4 * this.harts.length) {
      const h = this.harts[off >>> 2];
      if (value & 1) h.mip |= MIP.MSIP;
      else h.mip &= ~MIP.MSIP;
      h.kick = true;
      return;
    }
    if (off >= MTIMECMP && off < MTIMECMP + 8 * this.harts.length) {
      const i = (off - MTIMECMP) >>> 3;
      if (off & 4) this.cmpHi[i] = value >>> 0;
      else this.cmpLo[i] = value >>> 0;
      this.harts[i].setMtimecmp(toTicks(this.cmpLo[i], this.cmpHi[i]));
    }
    // mtime is read-only here: virtual time only moves forward with execution.
  }
}
