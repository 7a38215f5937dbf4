// A minimal write-only console at QEMU virt's UART address: a byte stored to offset 0 (like the
// 16550's THR) is output; every other register reads as 0 and ignores writes. No interrupts, no
// input. Firmware (an M-mode SBI) uses it to implement the SBI console for the kernel above it.

import { Device } from './bus';

export const CONSOLE_BASE = 0x10000000;
export const CONSOLE_SIZE = 0x100;

export class Console implements Device {
  readonly name = 'console';
  readonly size = CONSOLE_SIZE;
  private readonly chunks: number[] = [];

  /** `onByte` is called with each byte written; bytes are also kept for `output()`. */
  constructor(
    private readonly onByte?: (byte: number) => void,
    readonly base = CONSOLE_BASE,
  ) {}

  load(): number {
    return 0;
  }

  store(offset: number, _width: 1 | 2 | 4, value: number): void {
    if (offset !== 0) return;
    const b = value & 0xff;
    this.chunks.push(b);
    this.onByte?.(b);
  }

  /** Every byte written so far. */
  bytes(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }

  /** Everything written so far, as UTF-8 text. */
  output(): string {
    return new TextDecoder().decode(this.bytes());
  }
}
